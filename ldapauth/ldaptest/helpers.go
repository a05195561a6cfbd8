package ldaptest

import (
	"crypto/tls"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// Dial connects to url (TLS with tc for ldaps://) and closes the connection
// when tb ends.
func Dial(tb testing.TB, url string, tc *tls.Config) *ldap.Conn {
	tb.Helper()
	conn, err := ldap.DialURL(url, ldap.DialWithTLSConfig(tc))
	if err != nil {
		tb.Fatalf("dial %s: %v", url, err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// StartTLS dials url and upgrades the connection with tc.
func StartTLS(tb testing.TB, url string, tc *tls.Config) *ldap.Conn {
	tb.Helper()
	conn := Dial(tb, url, nil)
	if err := conn.StartTLS(tc); err != nil {
		tb.Fatalf("StartTLS %s: %v", url, err)
	}
	return conn
}

// Search runs a subtree search and fails tb on an error.
func Search(tb testing.TB, conn *ldap.Conn, base, filter string, attrs ...string) []*ldap.Entry {
	tb.Helper()
	res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, filter, attrs, nil))
	if err != nil {
		tb.Fatalf("search %s under %s: %v", filter, base, err)
	}
	return res.Entries
}

// WantResultCode fails tb unless err is an LDAP error with code.
func WantResultCode(tb testing.TB, err error, code uint16) {
	tb.Helper()
	if !ldap.IsErrorWithCode(err, code) {
		tb.Fatalf("got %v, want LDAP result %d (%s)", err, code, ldap.LDAPResultCodeMap[code])
	}
}
