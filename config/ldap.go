package config

import (
	"fmt"
	"net/url"
)

// Allowed values of the directory and policy keys.
var (
	directories = []string{"builtin", "ldap"}
	ldapTypes   = []string{"openldap", "ad"}
	ldapScopes  = []string{"sub", "one", "base"}
	mfaModes    = []string{"all", "groups"}
)

// validateLDAP checks the ldap section when it is in use and reads
// bind_password_file. The directory package checks the filters and TLS
// files again when it starts, where it can also reach the servers.
func (c *Config) validateLDAP(p *problems) {
	p.oneOf("auth.directory", c.Auth.Directory, directories)
	l := &c.LDAP
	if c.Auth.Directory != "ldap" {
		return
	}
	p.oneOf("ldap.type", l.Type, ldapTypes)
	p.oneOf("ldap.scope", l.Scope, ldapScopes)
	if len(l.Servers) == 0 {
		p.addf("ldap.servers", "auth.directory is ldap: list at least one ldap:// or ldaps:// URL")
	}
	for i, s := range l.Servers {
		key := fmt.Sprintf("ldap.servers[%d]", i)
		u, err := url.Parse(s)
		switch {
		case err != nil:
			p.addf(key, "%v", err)
		case u.Scheme != "ldap" && u.Scheme != "ldaps":
			p.addf(key, "want an ldap:// or ldaps:// URL, got %q", s)
		case u.Scheme == "ldap" && !l.StartTLS && !l.AllowPlaintext:
			p.addf(key, "%s sends passwords in clear: use ldaps://, set ldap.start_tls, or set ldap.allow_plaintext to accept that", s)
		}
	}
	if l.BaseDN == "" {
		p.addf("ldap.base_dn", "must be set when auth.directory is ldap")
	}
	if l.BindPassword != "" && l.BindPasswordFile != "" {
		p.addf("ldap.bind_password", "set bind_password or bind_password_file, not both")
	}
	if l.BindPasswordFile != "" {
		pw, err := readSecretFile(l.BindPasswordFile)
		if err != nil {
			p.addf("ldap.bind_password_file", "%v", err)
		}
		l.BindPassword = pw
	}
	switch {
	case l.BindDN == "" && l.BindTemplate == "":
		p.addf("ldap.bind_dn", "set bind_dn and bind_password (search-then-bind) or bind_template (direct bind)")
	case l.BindDN != "" && l.BindPassword == "":
		p.addf("ldap.bind_password", "bind_dn is set but the password is empty (an empty password is an unauthenticated bind)")
	}
	if l.Timeout <= 0 {
		p.positiveDuration("ldap.timeout", l.Timeout)
	}
	if l.Backoff < 0 {
		p.addf("ldap.backoff", "must not be negative, got %s", l.Backoff)
	}
	p.nonNegative("ldap.pool_size", l.PoolSize)
	if (l.TLS.CertFile == "") != (l.TLS.KeyFile == "") {
		p.addf("ldap.tls.cert_file", "cert_file and key_file go together")
	}
}

// validatePolicies checks the global and named policies and the clients'
// references to them. Attribute names and values are checked against the
// RADIUS dictionary when the server starts (check-config does it too).
func (c *Config) validatePolicies(p *problems) {
	if c.Policy.Name != "" {
		p.addf("policy.name", "only entries of policies have a name")
	}
	c.Policy.check(p, "policy")
	names := map[string]bool{}
	for i := range c.Policies {
		pol := &c.Policies[i]
		key := fmt.Sprintf("policies[%d]", i)
		switch {
		case pol.Name == "":
			p.addf(key+".name", "must be set: clients pick a policy by name")
		case names[pol.Name]:
			p.addf(key+".name", "%q is used twice", pol.Name)
		}
		names[pol.Name] = true
		pol.check(p, key)
	}
	for i, cl := range c.Radius.Clients {
		if cl.Policy != "" && !names[cl.Policy] {
			p.addf(clientKey(i, cl.Name, "policy"), "no entry of policies is named %q", cl.Policy)
		}
	}
}

func (pol *PolicyConfig) check(p *problems, key string) {
	p.oneOf(key+".mfa", pol.MFA, mfaModes)
	if pol.MFA == "groups" && len(pol.MFARequiredGroups) == 0 {
		p.addf(key+".mfa_required_groups", `mfa is "groups" but no group is listed, so nobody would need a second factor`)
	}
	for list, groups := range map[string][]string{"require_groups": pol.RequireGroups, "deny_groups": pol.DenyGroups,
		"mfa_required_groups": pol.MFARequiredGroups, "mfa_exempt_groups": pol.MFAExemptGroups} {
		for j, g := range groups {
			if g == "" {
				p.addf(fmt.Sprintf("%s.%s[%d]", key, list, j), "empty group name")
			}
		}
	}
	for j, r := range pol.Reply {
		rk := fmt.Sprintf("%s.reply[%d]", key, j)
		if len(r.Attributes) == 0 {
			p.addf(rk+".attributes", "a rule needs at least one attribute")
		}
		for k, a := range r.Attributes {
			ak := fmt.Sprintf("%s.attributes[%d]", rk, k)
			if a.Name == "" {
				p.addf(ak+".name", "must be set (e.g. Class, Filter-Id, Cisco-AVPair)")
			}
			if a.Value == "" {
				p.addf(ak+".value", "must not be empty")
			}
		}
	}
}
