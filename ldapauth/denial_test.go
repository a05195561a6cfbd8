package ldapauth

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"radiusmfa/auth"
)

func adBindError(code string) error {
	return &ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials,
		Err: fmt.Errorf("80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data %s, v3839", code)}
}

// TestDenialFor covers every AD sub-code, including those the Samba test
// DC cannot produce (logon hours, workstation, locked out), and OpenLDAP's
// password policy states.
func TestDenialFor(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cases := []struct {
		name   string
		err    error
		policy *ldap.ControlBeheraPasswordPolicy
		reason auth.Reason
		msg    string
	}{
		{"52e wrong password", adBindError("52e"), nil, auth.ReasonBadCredentials, ""},
		{"525 no such user", adBindError("525"), nil, auth.ReasonBadCredentials, ""},
		{"530 logon hours", adBindError("530"), nil, auth.ReasonLogonRestricted, auth.MsgLogonRestricted},
		{"531 workstation", adBindError("531"), nil, auth.ReasonLogonRestricted, auth.MsgLogonRestricted},
		{"532 password expired", adBindError("532"), nil, auth.ReasonPasswordExpired, auth.MsgPasswordExpired},
		{"533 disabled", adBindError("533"), nil, auth.ReasonAccountDisabled, auth.MsgAccountDisabled},
		{"701 account expired", adBindError("701"), nil, auth.ReasonAccountExpired, auth.MsgAccountExpired},
		{"773 must change", adBindError("773"), nil, auth.ReasonMustChangePassword, auth.MsgMustChangePassword},
		{"775 locked: generic reply, whatever the password", adBindError("775"), nil, auth.ReasonDirectoryLocked, ""},
		{"upper-case code", adBindError("52E"), nil, auth.ReasonBadCredentials, ""},
		{"unknown code", adBindError("999"), nil, auth.ReasonBadCredentials, ""},
		{"no code", &ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials, Err: errors.New("invalid credentials")}, nil, auth.ReasonBadCredentials, ""},
		{"other result code with a sub-code in the text", &ldap.Error{ResultCode: ldap.LDAPResultStrongAuthRequired,
			Err: errors.New("BindSimple: Transport encryption required. data 533")}, nil, auth.ReasonBadCredentials, ""},
		{"not an LDAP error", errors.New("data 533"), nil, auth.ReasonBadCredentials, ""},
		{"ppolicy expired", &ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials, Err: errors.New("")},
			&ldap.ControlBeheraPasswordPolicy{Error: ppPasswordExpired}, auth.ReasonPasswordExpired, auth.MsgPasswordExpired},
		{"ppolicy locked", &ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials, Err: errors.New("")},
			&ldap.ControlBeheraPasswordPolicy{Error: ppAccountLocked}, auth.ReasonDirectoryLocked, ""},
		{"ppolicy without an error", &ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials, Err: errors.New("")},
			&ldap.ControlBeheraPasswordPolicy{Error: -1}, auth.ReasonBadCredentials, ""},
	}
	for _, c := range cases {
		id := denialFor(c.err, c.policy, "cn=x", log)
		if id.Reason != c.reason || id.Message != c.msg {
			t.Errorf("%s: reason %q message %q, want %q %q", c.name, id.Reason, id.Message, c.reason, c.msg)
		}
	}
	if id := policyDenial(&ldap.ControlBeheraPasswordPolicy{Error: ppChangeAfterReset}); id.Reason != auth.ReasonMustChangePassword {
		t.Errorf("changeAfterReset after a successful bind: %+v", id)
	}
	if id := policyDenial(&ldap.ControlBeheraPasswordPolicy{Error: -1, Expire: 3600}); id.Reason != "" {
		t.Errorf("an expiry warning denied the login: %+v", id)
	}
}

func TestNormalizeName(t *testing.T) {
	d := &Directory{cfg: Config{StripDomain: true, Domains: []string{"EXAMPLE"}, StripRealm: true, Realms: []string{"example.test"}}}
	anyDomain := &Directory{cfg: Config{StripDomain: true, StripRealm: true}}
	none := &Directory{}
	for _, c := range []struct {
		d        *Directory
		in, want string
	}{
		{d, `EXAMPLE\alice`, "alice"},
		{d, `example\alice`, "alice"},
		{d, `OTHER\alice`, `OTHER\alice`},
		{d, "alice@example.test", "alice"},
		{d, "alice@EXAMPLE.TEST", "alice"},
		{d, "alice@other.test", "alice@other.test"},
		{d, `EXAMPLE\alice@example.test`, "alice"},
		{d, `EXAMPLE\`, `EXAMPLE\`},
		{d, "@example.test", "@example.test"},
		{anyDomain, `ANY\bob`, "bob"},
		{anyDomain, "bob@any.where", "bob"},
		{none, `EXAMPLE\alice`, `EXAMPLE\alice`},
		{none, "alice@example.test", "alice@example.test"},
	} {
		if got := c.d.NormalizeName(c.in); got != c.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{`EXAMPLE\alice`, "alice@example.test", `a\b@c`, "@", `\`, ""} {
		f.Add(s)
	}
	d := &Directory{cfg: Config{StripDomain: true, StripRealm: true}}
	f.Fuzz(func(t *testing.T, name string) {
		got := d.NormalizeName(name)
		if len(got) > len(name) {
			t.Fatalf("NormalizeName(%q) = %q grew", name, got)
		}
		if name != "" && got == "" {
			t.Fatalf("NormalizeName(%q) is empty", name)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	base := Config{Servers: []string{"ldaps://dc1"}, BaseDN: "dc=example,dc=org", BindDN: "cn=svc", BindPassword: "pw"}
	for _, c := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"kind", func(c *Config) { c.Kind = "novell" }, `type "novell"`},
		{"no servers", func(c *Config) { c.Servers = nil }, "no server configured"},
		{"plaintext", func(c *Config) { c.Servers = []string{"ldap://dc1"} }, "in clear"},
		{"ldaps with StartTLS", func(c *Config) { c.StartTLS = true }, "already TLS"},
		{"base dn", func(c *Config) { c.BaseDN = "not a dn" }, "base_dn"},
		{"scope", func(c *Config) { c.Scope = "deep" }, `scope "deep"`},
		{"no way to bind", func(c *Config) { c.BindDN, c.BindPassword = "", "" }, "bind_template"},
		{"empty service password", func(c *Config) { c.BindPassword = "" }, "unauthenticated bind"},
		{"template without user", func(c *Config) { c.BindDN, c.BindPassword, c.BindTemplate = "", "", "cn=x" }, "has no {username}"},
		{"filter without user", func(c *Config) { c.UserFilter = "(uid=alice)" }, "has no {username}"},
		{"bad filter", func(c *Config) { c.UserFilter = "(uid={username}" }, "user_filter"},
		{"bad group filter", func(c *Config) { c.GroupFilter = "member={dn})" }, "group_filter"},
		{"half a client certificate", func(c *Config) { c.TLS.CertFile = "/x" }, "go together"},
	} {
		cfg := base
		c.mutate(&cfg)
		if _, err := New(cfg, nil, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := New(base, nil, nil); err != nil {
		t.Errorf("a valid configuration was refused: %v", err)
	}
}

func TestPrimaryGroupFilter(t *testing.T) {
	// S-1-5-21-1-2-3-1105 with primaryGroupID 513 → S-1-5-21-1-2-3-513.
	sid := []byte{1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0x51, 0x04, 0, 0}
	e := ldap.NewEntry("cn=u", map[string][]string{"primaryGroupID": {"513"}})
	e.Attributes = append(e.Attributes, &ldap.EntryAttribute{Name: "objectSid", ByteValues: [][]byte{sid}})
	f, ok := primaryGroupFilter(e)
	want := `(&(objectClass=group)(objectSid=\01\05\00\00\00\00\00\05\15\00\00\00\01\00\00\00\02\00\00\00\03\00\00\00\01\02\00\00))`
	if !ok || f != want {
		t.Errorf("primaryGroupFilter = %q, %v\nwant %q", f, ok, want)
	}
	for name, bad := range map[string][]byte{"short": sid[:10], "count mismatch": append(append([]byte{}, sid...), 0)} {
		e.Attributes[len(e.Attributes)-1].ByteValues = [][]byte{bad}
		if _, ok := primaryGroupFilter(e); ok {
			t.Errorf("%s SID accepted", name)
		}
	}
}

// FuzzDenialFor feeds arbitrary diagnostic messages (the part of a bind
// error a server controls) to the sub-code parser: a message is given only
// for the codes that follow a right password, never otherwise.
func FuzzDenialFor(f *testing.F) {
	for _, s := range []string{"80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 773, v3839",
		"data 52e", "data 775", "data", "data 5", "xdata 533", "data 533x", ""} {
		f.Add(s)
	}
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, diag string) {
		id := denialFor(&ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials, Err: errors.New(diag)}, nil, "cn=x", log)
		if id.Reason == "" {
			t.Fatalf("%q: no reason", diag)
		}
		if id.Message != "" {
			m := adSubCode.FindStringSubmatch(diag)
			if m == nil || adDenials[strings.ToLower(m[1])].msg != id.Message {
				t.Fatalf("%q: message %q without a matching sub-code", diag, id.Message)
			}
		}
	})
}
