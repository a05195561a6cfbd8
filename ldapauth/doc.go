// Package ldapauth will implement auth.Authenticator against LDAP and Active
// Directory (search-then-bind, failover, TLS, nested groups). It is empty until
// the LDAP/AD issue lands; the built-in directory (auth/localdir) is the default.
package ldapauth
