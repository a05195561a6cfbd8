package ldapauth

import (
	"os"
	"testing"

	"radiusmfa/ldapauth/ldaptest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	ldaptest.StopSamba() // the one Samba AD DC of this process, if a test started it
	os.Exit(code)
}
