package integration

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"radiusmfa/auth"
	"radiusmfa/ldapauth"
	"radiusmfa/ldapauth/ldaptest"
)

// replyPolicy grants attributes by group: vpn-admins get an ASA group
// policy (Class) and a Cisco-AVPair and stop there; other vpn-users get a
// FortiGate group and a Palo Alto user group. Only vpn-users may log in.
const replyPolicy = `policy:
  require_groups: [vpn-users]
  reply:
    - groups: [vpn-admins]
      attributes:
        - {name: Class, value: "OU=VPN-Admins;"}
        - {name: Cisco-AVPair, value: "ip:inacl#1=permit ip any any"}
      final: true
    - groups: [vpn-users]
      attributes:
        - {name: Fortinet-Group-Name, value: vpn-users}
        - {name: PaloAlto-User-Group, value: gp-users}
`

// directoryAccount enrolls an authenticator app for a directory user, who
// has no record in the store yet.
func (s *server) directoryAccount(t *testing.T, name, password string) *account {
	t.Helper()
	out := s.mustCLI(t, "", "totp", "enroll", name, "--json")
	var e enrollment
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.Secret == "" {
		s.fatalf(t, "totp enroll %s --json printed %q: %v", name, out, err)
	}
	return &account{Name: name, Password: password, Secret: e.Secret, oathFlags: []string{"--totp"}}
}

// attrLineRe matches one decoded attribute in radclient's output.
var attrLineRe = regexp.MustCompile(`(?m)^\s+([A-Za-z][A-Za-z0-9-]*) = (.*?)\s*$`)

// replyAttrs returns the attributes radclient decoded in the reply, by name;
// strings unquoted, octets (Class) decoded from hex.
func replyAttrs(r radReply) map[string][]string {
	out := map[string][]string{}
	_, reply, _ := strings.Cut(r.Output, "Received ")
	for _, m := range attrLineRe.FindAllStringSubmatch(reply, -1) {
		v := m[2]
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		} else if b, err := hex.DecodeString(strings.TrimPrefix(v, "0x")); err == nil && strings.HasPrefix(v, "0x") {
			v = string(b)
		}
		out[m[1]] = append(out[m[1]], v)
	}
	return out
}

func expectAttrs(t *testing.T, s *server, r radReply, want map[string][]string) {
	t.Helper()
	got := replyAttrs(r)
	for name, vals := range want {
		if !slices.Equal(got[name], vals) {
			s.fatalf(t, "reply attribute %s = %q, want %q\n%s", name, got[name], vals, r.Output)
		}
	}
	for _, name := range []string{"Class", "Cisco-AVPair", "Fortinet-Group-Name", "PaloAlto-User-Group"} {
		if _, expected := want[name]; !expected && len(got[name]) > 0 {
			s.fatalf(t, "unexpected reply attribute %s = %q\n%s", name, got[name], r.Output)
		}
	}
}

func slapdSection(servers []string, ca, bindDN, bindPW, base string) string {
	q := make([]string, len(servers))
	for i, u := range servers {
		q[i] = strconv.Quote(u)
	}
	return fmt.Sprintf(`ldap:
  type: openldap
  servers: [%s]
  timeout: 2s
  tls: {ca_file: %q}
  bind_dn: %q
  bind_password: %q
  base_dn: %q
`, strings.Join(q, ", "), ca, bindDN, bindPW, base)
}

// TestOpenLDAPEndToEnd logs OpenLDAP users in over RADIUS with password and
// TOTP, checks the group-based reply attributes, `ldap check` and `ldap
// test`, and keeps logging in after the first of two servers stops.
func TestOpenLDAPEndToEnd(t *testing.T) {
	t.Parallel()
	s1 := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	s2 := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	// Both test servers' CAs in one bundle, as an operator would list two.
	ca := t.TempDir() + "/ca.pem"
	writeBundle(t, ca, s1.CAFile, s2.CAFile)
	s := startServer(t, serverOpts{Directory: "ldap",
		Extra: slapdSection([]string{s1.LDAPSURL, s2.LDAPSURL}, ca, s1.BindDN, s1.BindPassword, s1.BaseDN) + replyPolicy})
	addr := s.authAddr(t)

	bob := s.directoryAccount(t, "bob", "bob-pass")
	c := bob.code(t)
	r := login(t, addr, "bob", "bob-pass,"+c.Code)
	s.expectCode(t, r, "Access-Accept")
	bob.accepted(c)
	// bob is in vpn-admins, which is nested in vpn-users: the first rule
	// matches and is final.
	expectAttrs(t, s, r, map[string][]string{"Class": {"OU=VPN-Admins;"}, "Cisco-AVPair": {"ip:inacl#1=permit ip any any"}})
	s.expectAudit(t, "bob", 1, "accept", "ok")
	// The login kept bob's contact details from the directory.
	if f := userListFields(t, s, "bob"); f[1] != "ldap" || f[6] != "bob@example.org" || f[7] != "+15551230002" {
		t.Errorf("user list row of bob: %q, want directory ldap, his mail and phone", f)
	}

	alice := s.directoryAccount(t, "alice", "alice-pass")
	c = alice.code(t)
	r = login(t, addr, `EXAMPLE\alice`, "alice-pass,"+c.Code)
	s.expectCode(t, r, "Access-Accept")
	alice.accepted(c)
	expectAttrs(t, s, r, map[string][]string{"Fortinet-Group-Name": {"vpn-users"}, "PaloAlto-User-Group": {"gp-users"}})

	// frank's password is right but he is in no vpn group.
	frank := s.directoryAccount(t, "frank", "frank-pass")
	r = login(t, addr, "frank", "frank-pass,"+frank.code(t).Code)
	s.expectCode(t, r, "Access-Reject")
	if r.ReplyMessage != auth.MsgNotAllowed {
		t.Errorf("frank's Reply-Message %q, want %q", r.ReplyMessage, auth.MsgNotAllowed)
	}
	s.expectAudit(t, "frank", 1, "reject", "not_in_required_group")
	s.expectCode(t, login(t, addr, "carol", "wrong-pass,123456"), "Access-Reject")
	s.expectAudit(t, "carol", 1, "reject", "bad_credentials")

	// An administrator's lock holds for a directory user with the right password.
	s.mustCLI(t, "", "user", "lock", `EXAMPLE\alice`)
	s.expectCode(t, login(t, addr, "alice", "alice-pass,123456"), "Access-Reject")
	s.expectAudit(t, "alice", 2, "reject", "account_disabled")
	s.mustCLI(t, "", "user", "unlock", "alice")

	// The CLI's view of the same chain.
	out := s.mustCLI(t, "", "ldap", "check")
	if strings.Count(out, ": ok (") != 2 || !strings.Contains(out, "TLS 1.3") || !strings.Contains(out, "bound as "+s1.BindDN) {
		t.Errorf("ldap check:\n%s", out)
	}
	out = s.mustCLI(t, "bob-pass\n", "ldap", "test", "bob")
	for _, want := range []string{s1.UserDN("bob"), "vpn-users", "vpn-admins", "allowed, second factor required",
		`Class = "OU=VPN-Admins;"`, `Cisco-AVPair = "ip:inacl#1=permit ip any any"`, "bob@example.org"} {
		if !strings.Contains(out, want) {
			t.Errorf("ldap test bob: no %q in\n%s", want, out)
		}
	}
	if res := s.cli(t, "wrong\n", "ldap", "test", "bob"); res.Code != 1 || !strings.Contains(res.Stdout, "refused (bad_credentials)") {
		t.Errorf("ldap test with a wrong password: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}

	// Failover: the first server stops; logins go on through the second.
	s1.Stop()
	carol := s.directoryAccount(t, "carol", "carol-pass")
	c = carol.code(t)
	r = login(t, addr, "carol", "carol-pass,"+c.Code)
	s.expectCode(t, r, "Access-Accept")
	carol.accepted(c)
	// carol is in vpn-level3 ⊂ vpn-admins ⊂ vpn-users.
	expectAttrs(t, s, r, map[string][]string{"Class": {"OU=VPN-Admins;"}, "Cisco-AVPair": {"ip:inacl#1=permit ip any any"}})

	// Both down: fail closed.
	s2.Stop()
	r = login(t, addr, "alice", "alice-pass,123456")
	s.expectCode(t, r, "Access-Reject")
	s.expectAudit(t, "alice", 3, "reject", "directory_unavailable")
	if res := s.cli(t, "", "ldap", "check"); res.Code != 1 || !strings.Contains(res.Stdout, "FAILED") {
		t.Errorf("ldap check with both servers down: exit %d\n%s", res.Code, res.Stdout)
	}
}

// TestPerClientPolicy: a RADIUS client with a policy of its own uses it
// instead of the global one: here MFA only for vpn-admins, and a FortiGate
// group for everyone.
func TestPerClientPolicy(t *testing.T) {
	t.Parallel()
	sl := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	s := startServer(t, serverOpts{Directory: "ldap", ClientPolicy: "fortigate",
		Extra: slapdSection([]string{sl.LDAPSURL}, sl.CAFile, sl.BindDN, sl.BindPassword, sl.BaseDN) + replyPolicy + `policies:
  - name: fortigate
    require_groups: [vpn-users]
    mfa: groups
    mfa_required_groups: ["cn=vpn-admins,ou=groups,dc=example,dc=org"]
    reply:
      - attributes: [{name: Fortinet-Group-Name, value: forti-vpn}]
`})
	addr := s.authAddr(t)
	// alice is in vpn-users only: the client's policy lets her in on the
	// password, with its attribute and not the global policy's.
	r := login(t, addr, "alice", "alice-pass")
	s.expectCode(t, r, "Access-Accept")
	expectAttrs(t, s, r, map[string][]string{"Fortinet-Group-Name": {"forti-vpn"}})
	s.expectAudit(t, "alice", 1, "accept", "mfa_not_required")
	// bob is in vpn-admins (named by DN): he needs his code.
	s.expectCode(t, login(t, addr, "bob", "bob-pass"), "Access-Reject")
	s.expectAudit(t, "bob", 1, "reject", "not_enrolled")
	// frank is in no vpn group.
	s.expectCode(t, login(t, addr, "frank", "frank-pass"), "Access-Reject")
	s.expectAudit(t, "frank", 1, "reject", "not_in_required_group")
	// ldap test shows the client's policy.
	out := s.mustCLI(t, "alice-pass\n", "ldap", "test", "alice", "--client", "localhost")
	for _, want := range []string{`"fortigate"`, "allowed on the password alone (mfa_not_required)", `Fortinet-Group-Name = "forti-vpn"`} {
		if !strings.Contains(out, want) {
			t.Errorf("ldap test --client: no %q in\n%s", want, out)
		}
	}
}

func writeBundle(t *testing.T, dst string, files ...string) {
	t.Helper()
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if err := os.WriteFile(dst, all, 0o600); err != nil {
		t.Fatal(err)
	}
}

// adConfig is search-then-bind over LDAPS against the test DC.
func adConfig(dc *ldaptest.Samba) ldapauth.Config {
	return ldapauth.Config{
		Kind:         ldapauth.KindAD,
		Servers:      []string{dc.LDAPSURL},
		TLS:          ldapauth.TLSConfig{CAFile: dc.CAFile},
		BindDN:       dc.BindDN,
		BindPassword: dc.BindPassword,
		BaseDN:       dc.BaseDN,
		NestedGroups: true,
		PrimaryGroup: true,
		StripDomain:  true,
		Domains:      []string{"EXAMPLE"},
		Timeout:      10 * time.Second,
	}
}

// TestActiveDirectory runs against a real Samba AD domain controller: UPN
// and sAMAccountName logins, nested and primary groups, AD's bind
// sub-codes, one bind per attempt, direct UPN binds, and password+TOTP
// over RADIUS with group-based reply attributes.
func TestActiveDirectory(t *testing.T) {
	dc := ldaptest.StartSamba(t)
	t.Logf("Samba AD: provisioned in %s, up in %s", dc.ProvisionTime.Round(100*time.Millisecond), dc.StartTime.Round(100*time.Millisecond))
	d, err := ldapauth.New(adConfig(dc), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	authn := func(user, pw string) (auth.Identity, bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		id, ok, err := d.Authenticate(ctx, d.NormalizeName(user), pw)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		return id, ok
	}

	t.Run("Logins", func(t *testing.T) {
		for _, c := range []struct {
			user, pw string
			groups   []string
		}{
			{"alice", "Alice-Passw0rd", []string{"Domain Users", "staff", "vpn-users"}},
			{"alice@example.test", "Alice-Passw0rd", []string{"Domain Users", "staff", "vpn-users"}}, // UPN
			{`EXAMPLE\alice`, "Alice-Passw0rd", []string{"Domain Users", "staff", "vpn-users"}},
			{"carol", "Carol-Passw0rd", []string{"Domain Users", "staff", "vpn-admins", "vpn-level3", "vpn-users"}},
			// contractors is henry's primary group; like AD, Samba then lists
			// him in Domain Users, itself in the builtin Users group.
			{"henry", "Henry-Passw0rd", []string{"Domain Users", "Users", "contractors"}},
		} {
			id, ok := authn(c.user, c.pw)
			got := slices.Sorted(slices.Values(id.Groups))
			if !ok || !slices.Equal(got, c.groups) {
				t.Errorf("%s: ok=%v groups %v, want %v", c.user, ok, got, c.groups)
			}
		}
		id, _ := authn("alice", "Alice-Passw0rd")
		if id.Name != "alice" || id.DN != dc.UserDN("alice") || id.Profile.Mail != "alice@example.test" ||
			id.Profile.DisplayName != "Alice Anders" || id.Profile.Phone == "" {
			t.Errorf("alice's identity: %+v", id)
		}
		if _, ok := authn(`OTHER\alice`, "Alice-Passw0rd"); ok {
			t.Error("a NetBIOS domain outside ldap.username.domains was stripped")
		}
	})

	t.Run("SubCodes", func(t *testing.T) {
		for _, c := range []struct {
			user, pw string
			reason   auth.Reason
			msg      string
		}{
			{"bob", "wrong", auth.ReasonBadCredentials, ""},
			{"nobody", "Bob-Passw0rd", auth.ReasonBadCredentials, ""},
			{"dave", "Dave-Passw0rd", auth.ReasonAccountDisabled, auth.MsgAccountDisabled},
			{"eve", "Eve-Passw0rd", auth.ReasonMustChangePassword, auth.MsgMustChangePassword},
			{"frank", "Frank-Passw0rd", auth.ReasonAccountExpired, auth.MsgAccountExpired},
			{"gina", "Gina-Passw0rd", auth.ReasonPasswordExpired, auth.MsgPasswordExpired},
			// A wrong password reveals nothing of the account's state.
			{"dave", "wrong", auth.ReasonBadCredentials, ""},
			{"eve", "wrong", auth.ReasonBadCredentials, ""},
			{"frank", "wrong", auth.ReasonBadCredentials, ""},
			{"gina", "wrong", auth.ReasonBadCredentials, ""},
		} {
			id, ok := authn(c.user, c.pw)
			if ok || id.Reason != c.reason || id.Message != c.msg {
				t.Errorf("%s/%s: ok=%v reason %q message %q, want %q %q", c.user, c.pw, ok, id.Reason, id.Message, c.reason, c.msg)
			}
		}
	})

	t.Run("DirectUPNBind", func(t *testing.T) {
		c := adConfig(dc)
		c.BindDN, c.BindPassword, c.BindTemplate = "", "", "{username}@example.test"
		direct, err := ldapauth.New(c, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer direct.Close()
		id, ok, err := direct.Authenticate(context.Background(), "carol", "Carol-Passw0rd")
		if err != nil || !ok || !slices.Contains(id.Groups, "vpn-users") || id.DN != dc.UserDN("carol") {
			t.Errorf("direct UPN bind: ok=%v err=%v %+v", ok, err, id)
		}
		if _, ok, err := direct.Authenticate(context.Background(), "carol", "wrong"); ok || err != nil {
			t.Errorf("direct bind with a wrong password: ok=%v err=%v", ok, err)
		}
	})

	t.Run("RADIUS", func(t *testing.T) {
		s := startServer(t, serverOpts{Directory: "ldap", Extra: fmt.Sprintf(`ldap:
  type: ad
  servers: [%q]
  tls: {ca_file: %q}
  bind_dn: %q
  bind_password: %q
  base_dn: %q
  username: {strip_realm: true, realms: [example.test]}
`, dc.LDAPSURL, dc.CAFile, dc.BindDN, dc.BindPassword, dc.BaseDN) + replyPolicy})
		addr := s.authAddr(t)

		// One bind per attempt: a wrong password costs AD exactly one
		// failed bind, also with a code appended.
		before := badPwdCount(t, dc, "bob")
		s.expectCode(t, login(t, addr, "bob", "Wrong-Passw0rd,123456"), "Access-Reject")
		s.expectAudit(t, "bob", 1, "reject", "bad_credentials")
		if after := badPwdCount(t, dc, "bob"); after != before+1 {
			t.Errorf("badPwdCount went from %d to %d after one wrong password, want +1", before, after)
		}

		bob := s.directoryAccount(t, "bob", "Bob-Passw0rd")
		c := bob.code(t)
		r := login(t, addr, "bob@example.test", "Bob-Passw0rd,"+c.Code) // UPN, normalised to bob
		s.expectCode(t, r, "Access-Accept")
		bob.accepted(c)
		expectAttrs(t, s, r, map[string][]string{"Class": {"OU=VPN-Admins;"}, "Cisco-AVPair": {"ip:inacl#1=permit ip any any"}})

		alice := s.directoryAccount(t, "alice", "Alice-Passw0rd")
		c = alice.code(t)
		r = login(t, addr, `EXAMPLE\alice`, "Alice-Passw0rd,"+c.Code)
		s.expectCode(t, r, "Access-Accept")
		alice.accepted(c)
		expectAttrs(t, s, r, map[string][]string{"Fortinet-Group-Name": {"vpn-users"}, "PaloAlto-User-Group": {"gp-users"}})

		r = login(t, addr, "eve", "Eve-Passw0rd,123456")
		s.expectCode(t, r, "Access-Reject")
		if r.ReplyMessage != auth.MsgMustChangePassword {
			t.Errorf("eve's Reply-Message %q, want %q", r.ReplyMessage, auth.MsgMustChangePassword)
		}
		s.expectAudit(t, "eve", 1, "reject", "must_change_password")
	})
}

// badPwdCount reads AD's failed-bind counter of a user as Administrator.
func badPwdCount(t *testing.T, dc *ldaptest.Samba, sam string) int {
	t.Helper()
	conn, err := ldap.DialURL(dc.LDAPSURL, ldap.DialWithTLSConfig(dc.TLSConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(dc.AdminUPN, dc.AdminPassword); err != nil {
		t.Fatal(err)
	}
	res, err := conn.Search(ldap.NewSearchRequest(dc.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(sAMAccountName="+ldap.EscapeFilter(sam)+")", []string{"badPwdCount"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("reading badPwdCount of %s: %v (%d entries)", sam, err, len(res.Entries))
	}
	n, err := strconv.Atoi(res.Entries[0].GetAttributeValue("badPwdCount"))
	if err != nil {
		t.Fatalf("badPwdCount of %s: %v", sam, err)
	}
	return n
}
