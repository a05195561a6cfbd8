package ldaptest

import (
	"crypto/tls"
	"os"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// TestMain stops the shared Samba DC, which outlives single tests.
func TestMain(m *testing.M) {
	code := m.Run()
	StopSamba()
	os.Exit(code)
}

func dial(t *testing.T, url string, tc *tls.Config) *ldap.Conn {
	t.Helper()
	conn, err := ldap.DialURL(url, ldap.DialWithTLSConfig(tc))
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// startTLS dials url and upgrades the connection with tc.
func startTLS(t *testing.T, url string, tc *tls.Config) *ldap.Conn {
	t.Helper()
	conn := dial(t, url, nil)
	if err := conn.StartTLS(tc); err != nil {
		t.Fatalf("StartTLS %s: %v", url, err)
	}
	return conn
}

// ppolicyBind binds with the password policy request control and returns
// the response control (nil when the server sent none) and the bind error.
func ppolicyBind(conn *ldap.Conn, dn, pw string) (*ldap.ControlBeheraPasswordPolicy, error) {
	res, err := conn.SimpleBind(&ldap.SimpleBindRequest{
		Username: dn, Password: pw,
		Controls: []ldap.Control{ldap.NewControlBeheraPasswordPolicy()},
	})
	if res == nil {
		return nil, err
	}
	c, _ := ldap.FindControl(res.Controls, ldap.ControlTypeBeheraPasswordPolicy).(*ldap.ControlBeheraPasswordPolicy)
	return c, err
}

func search(t *testing.T, conn *ldap.Conn, base, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, filter, attrs, nil))
	if err != nil {
		t.Fatalf("search %s under %s: %v", filter, base, err)
	}
	return res.Entries
}

func wantResultCode(t *testing.T, err error, code uint16) {
	t.Helper()
	if !ldap.IsErrorWithCode(err, code) {
		t.Fatalf("got %v, want LDAP result %d (%s)", err, code, ldap.LDAPResultCodeMap[code])
	}
}
