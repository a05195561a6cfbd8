package ldapauth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Kinds of directory. The kind sets the defaults of every filter and
// attribute below; an explicit setting always wins.
const (
	KindOpenLDAP = "openldap"
	KindAD       = "ad"
)

// Defaults applied to zero-valued Config fields.
const (
	DefaultTimeout  = 5 * time.Second
	DefaultBackoff  = 30 * time.Second
	DefaultPoolSize = 16
	// maxNesting bounds client-side nested group resolution (OpenLDAP has no
	// LDAP_MATCHING_RULE_IN_CHAIN): a cycle or a very deep tree stops here.
	maxNesting = 16
)

// Placeholders in filter and bind templates. {username} is the user name
// after normalisation, escaped for the place it goes; {dn} is the user's DN.
const (
	phUsername = "{username}"
	phDN       = "{dn}"
)

// Config is the typed configuration of the LDAP authenticator.
type Config struct {
	Kind    string   // KindOpenLDAP (default) or KindAD
	Servers []string // ldap:// or ldaps:// URLs, tried in order
	// RoundRobin spreads logins over the healthy servers instead of always
	// starting with the first.
	RoundRobin bool
	// Timeout bounds each network step (dial, TLS handshake, one LDAP
	// operation); the request's own deadline bounds the whole login.
	Timeout time.Duration
	// Backoff is how long a failed server is skipped while another is up.
	Backoff time.Duration
	// StartTLS upgrades ldap:// connections; AllowPlaintext must be set to
	// use ldap:// without it.
	StartTLS       bool
	AllowPlaintext bool
	TLS            TLSConfig

	// BindDN and BindPassword are the service account used to find users
	// (search-then-bind). Without one, users bind directly through
	// BindTemplate.
	BindDN       string
	BindPassword string
	// BindTemplate makes the DN or UPN a user binds as from the user name
	// when there is no service account: "{username}@example.com" or
	// "uid={username},ou=people,dc=example,dc=org".
	BindTemplate string

	BaseDN string
	Scope  string // "sub" (default), "one" or "base"
	// UserFilter finds the user's entry; default by Kind.
	UserFilter string
	// UsernameAttribute holds the login name in the entry (uid,
	// sAMAccountName); it fills {username} in group filters.
	UsernameAttribute string

	// StripDomain turns DOMAIN\user into user; Domains, when set, lists the
	// only NetBIOS domains accepted (others stay unchanged and so match no
	// one). StripRealm and Realms do the same for user@realm.
	StripDomain bool
	Domains     []string
	StripRealm  bool
	Realms      []string

	// GroupAttribute lists group DNs on the user entry (memberOf).
	GroupAttribute string
	// GroupBaseDN and GroupFilter find the groups that name the user
	// ({dn}, {username}); with NestedGroups, OpenLDAP groups that contain
	// those groups are found too, level by level. For AD the default filter
	// uses LDAP_MATCHING_RULE_IN_CHAIN, which resolves nesting on the server.
	GroupBaseDN        string
	GroupFilter        string
	GroupNameAttribute string
	NestedGroups       bool
	// PrimaryGroup (AD) adds the group named by primaryGroupID, which AD
	// never lists in member or memberOf.
	PrimaryGroup bool

	MailAttribute        string
	PhoneAttributes      []string // the first one present wins
	DisplayNameAttribute string

	// PoolSize bounds the open connections per server and per use (service
	// searches, user binds).
	PoolSize int
}

// TLSConfig is how radiusmfa checks the directory's certificate and, when
// the directory asks for one, presents its own.
type TLSConfig struct {
	CAFile     string // PEM bundle; default: the system roots
	ServerName string // name to verify; default: the URL's host
	CertFile   string // client certificate (optional)
	KeyFile    string
}

// ADUserFilter is the default Active Directory filter: a person found by
// sAMAccountName or by userPrincipalName, so both spellings log in.
const ADUserFilter = "(&(objectCategory=person)(objectClass=user)(|(sAMAccountName={username})(userPrincipalName={username})))"

// ADGroupFilter finds every group the user is in, nested membership
// included, in one search (LDAP_MATCHING_RULE_IN_CHAIN).
const ADGroupFilter = "(&(objectClass=group)(member:1.2.840.113556.1.4.1941:={dn}))"

// ADDirectGroupFilter is the AD default without nested groups.
const ADDirectGroupFilter = "(&(objectClass=group)(member={dn}))"

// OpenLDAPUserFilter and OpenLDAPGroupFilter are the OpenLDAP defaults:
// groupOfNames, groupOfUniqueNames and posixGroup membership.
const (
	OpenLDAPUserFilter  = "(&(objectClass=inetOrgPerson)(uid={username}))"
	OpenLDAPGroupFilter = "(|(&(objectClass=groupOfNames)(member={dn}))(&(objectClass=groupOfUniqueNames)(uniqueMember={dn}))(&(objectClass=posixGroup)(memberUid={username})))"
)

// withDefaults fills zero fields from the kind's defaults and checks the
// result, joining every problem.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("ldap: "+format, a...)) }
	if c.Kind == "" {
		c.Kind = KindOpenLDAP
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	switch c.Kind {
	case KindAD:
		def(&c.UserFilter, ADUserFilter)
		def(&c.UsernameAttribute, "sAMAccountName")
		if c.NestedGroups {
			def(&c.GroupFilter, ADGroupFilter)
		} else {
			def(&c.GroupFilter, ADDirectGroupFilter)
		}
		def(&c.DisplayNameAttribute, "displayName")
	case KindOpenLDAP:
		def(&c.UserFilter, OpenLDAPUserFilter)
		def(&c.UsernameAttribute, "uid")
		def(&c.GroupFilter, OpenLDAPGroupFilter)
		def(&c.DisplayNameAttribute, "displayName")
	default:
		bad("type %q: want %q or %q", c.Kind, KindOpenLDAP, KindAD)
	}
	def(&c.GroupNameAttribute, "cn")
	def(&c.MailAttribute, "mail")
	if c.PhoneAttributes == nil {
		c.PhoneAttributes = []string{"mobile", "telephoneNumber"}
	}
	def(&c.Scope, "sub")
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.Timeout < 0 || c.Backoff < 0 || c.PoolSize < 0 {
		bad("timeout, backoff and pool_size must not be negative")
	}
	if len(c.Servers) == 0 {
		bad("no server configured")
	}
	for _, s := range c.Servers {
		u, err := url.Parse(s)
		switch {
		case err != nil:
			bad("server %q: %v", s, err)
		case u.Scheme != "ldap" && u.Scheme != "ldaps":
			bad("server %q: want an ldap:// or ldaps:// URL", s)
		case u.Host == "":
			bad("server %q: no host", s)
		case u.Scheme == "ldap" && !c.StartTLS && !c.AllowPlaintext:
			bad("server %q: passwords would cross the network in clear: use ldaps://, set start_tls, or set allow_plaintext to accept that", s)
		case u.Scheme == "ldaps" && c.StartTLS:
			bad("server %q: start_tls is for ldap:// URLs; an ldaps:// connection is already TLS", s)
		}
	}
	if c.BaseDN == "" {
		bad("base_dn is required")
	} else if _, err := ldap.ParseDN(c.BaseDN); err != nil {
		bad("base_dn %q: %v", c.BaseDN, err)
	}
	if _, ok := scopes[c.Scope]; !ok {
		bad("scope %q: want sub, one or base", c.Scope)
	}
	switch {
	case c.BindDN == "" && c.BindTemplate == "":
		bad("set bind_dn and bind_password (search-then-bind) or bind_template (direct bind)")
	case c.BindDN != "" && c.BindPassword == "":
		bad("bind_dn is set but bind_password is empty: an empty password is an unauthenticated bind")
	case c.BindDN == "" && !strings.Contains(c.BindTemplate, phUsername):
		bad("bind_template %q has no %s", c.BindTemplate, phUsername)
	}
	if !strings.Contains(c.UserFilter, phUsername) {
		bad("user_filter %q has no %s", c.UserFilter, phUsername)
	}
	if c.GroupFilter != "" && !strings.Contains(c.GroupFilter, phDN) && !strings.Contains(c.GroupFilter, phUsername) {
		bad("group_filter %q names neither {dn} nor {username}: every user would be in every group it finds", c.GroupFilter)
	}
	for name, f := range map[string]string{"user_filter": c.UserFilter, "group_filter": c.GroupFilter} {
		if f == "" {
			continue
		}
		probe := strings.NewReplacer(phUsername, "x", phDN, "cn=x").Replace(f)
		if _, err := ldap.CompileFilter(probe); err != nil {
			bad("%s %q: %v", name, f, err)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls.cert_file and tls.key_file go together")
	}
	return c, errors.Join(errs...)
}

var scopes = map[string]int{"sub": ldap.ScopeWholeSubtree, "one": ldap.ScopeSingleLevel, "base": ldap.ScopeBaseObject}

// tlsConfig builds the client TLS configuration for host.
func (t TLSConfig) tlsConfig(host string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	if t.ServerName != "" {
		tc.ServerName = t.ServerName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ldap: tls.ca_file %s: no PEM certificate in it", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
