package ldaptest

import (
	"crypto/tls"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestSlapd(t *testing.T) {
	s := StartSlapd(t, SlapdOptions{LoadUsers: 3})
	t.Logf("slapd up in %v at %s and %s", s.StartTime, s.URL, s.LDAPSURL)

	t.Run("alice binds over StartTLS and LDAPS", func(t *testing.T) {
		for _, conn := range []*ldap.Conn{StartTLS(t, s.URL, s.TLSConfig()), Dial(t, s.LDAPSURL, s.TLSConfig())} {
			if err := conn.Bind(s.UserDN("alice"), "alice-pass"); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("client certificate accepted", func(t *testing.T) {
		tc, err := s.ClientTLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		if err := Dial(t, s.LDAPSURL, tc).Bind(s.UserDN("alice"), "alice-pass"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("untrusted CA refused", func(t *testing.T) {
		if conn, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{ServerName: s.Host})); err == nil {
			conn.Close()
			t.Fatal("LDAPS with the system roots succeeded")
		}
	})
	t.Run("plain bind on URL and URL6", func(t *testing.T) {
		for _, url := range []string{s.URL, s.URL6} {
			if url == "" {
				continue // no ::1 here
			}
			if err := Dial(t, url, nil).Bind(s.UserDN("bob"), "bob-pass"); err != nil {
				t.Errorf("%s: %v", url, err)
			}
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		WantResultCode(t, Dial(t, s.URL, nil).Bind(s.UserDN("alice"), "nope"), ldap.LDAPResultInvalidCredentials)
	})
	t.Run("anonymous search refused", func(t *testing.T) {
		_, err := Dial(t, s.URL, nil).Search(ldap.NewSearchRequest(s.BaseDN, ldap.ScopeWholeSubtree,
			ldap.NeverDerefAliases, 0, 0, false, "(uid=alice)", nil, nil))
		WantResultCode(t, err, ldap.LDAPResultUnwillingToPerform)
	})
	t.Run("service account reads memberOf, not passwords", func(t *testing.T) {
		conn := Dial(t, s.URL, nil)
		if err := conn.Bind(s.BindDN, s.BindPassword); err != nil {
			t.Fatal(err)
		}
		es := Search(t, conn, s.BaseDN, "(uid=bob)", "memberOf", "userPassword", "telephoneNumber", "mobile")
		if len(es) != 1 {
			t.Fatalf("bob: %d entries", len(es))
		}
		bob := es[0]
		if got := bob.GetAttributeValues("memberOf"); !slices.Equal(got, []string{s.GroupDN("vpn-admins")}) {
			t.Errorf("bob memberOf = %q, want only vpn-admins (direct)", got)
		}
		if pw := bob.GetAttributeValue("userPassword"); pw != "" {
			t.Errorf("service account read userPassword %q", pw)
		}
		if bob.GetAttributeValue("telephoneNumber") != "+15551230002" || bob.GetAttributeValue("mobile") != "" {
			t.Errorf("bob phone/mobile = %q/%q", bob.GetAttributeValue("telephoneNumber"), bob.GetAttributeValue("mobile"))
		}
		alice := Search(t, conn, s.BaseDN, "(mail=alice@example.org)", "displayName", "mobile")
		if len(alice) != 1 || alice[0].GetAttributeValue("displayName") != "Alice Anders" ||
			alice[0].GetAttributeValue("mobile") != "+15551230001" {
			t.Errorf("alice by mail: %v", alice)
		}
		if es := Search(t, conn, s.BaseDN, "(memberOf="+s.GroupDN("vpn-users")+")", "uid"); len(es) != 5 {
			t.Errorf("direct members of vpn-users: %d entries, want alice, vpn-admins and 3 load users", len(es))
		}
		if es := Search(t, conn, s.BaseDN, "(member:1.2.840.113556.1.4.1941:="+s.UserDN("carol")+")", "cn"); len(es) != 0 {
			t.Errorf("OpenLDAP learnt LDAP_MATCHING_RULE_IN_CHAIN: %d entries; update the package doc", len(es))
		}
		if es := Search(t, conn, s.BaseDN, "(&(objectClass=groupOfUniqueNames)(uniqueMember="+s.UserDN("carol")+"))", "cn"); len(es) != 1 {
			t.Errorf("carol's groupOfUniqueNames: %d, want staff", len(es))
		}
		if es := Search(t, conn, s.BaseDN, "(&(objectClass=posixGroup)(memberUid=frank))", "cn"); len(es) != 1 {
			t.Errorf("frank's posixGroups: %d, want developers", len(es))
		}
	})
	t.Run("dave is locked", func(t *testing.T) {
		pp, err := ppolicyBind(Dial(t, s.URL, nil), s.UserDN("dave"), "dave-pass")
		WantResultCode(t, err, ldap.LDAPResultInvalidCredentials)
		if pp == nil || pp.Error != ldap.BeheraAccountLocked {
			t.Errorf("ppolicy control = %v, want accountLocked", pp)
		}
	})
	t.Run("eve must change her password", func(t *testing.T) {
		conn := Dial(t, s.URL, nil)
		pp, err := ppolicyBind(conn, s.UserDN("eve"), "eve-pass")
		if err != nil {
			t.Fatalf("bind: %v", err)
		}
		if pp == nil || pp.Error != ldap.BeheraChangeAfterReset {
			t.Errorf("ppolicy control = %v, want changeAfterReset", pp)
		}
		_, err = conn.Search(ldap.NewSearchRequest(s.BaseDN, ldap.ScopeWholeSubtree,
			ldap.NeverDerefAliases, 0, 0, false, "(uid=eve)", nil, nil))
		WantResultCode(t, err, ldap.LDAPResultInsufficientAccessRights)
	})
	t.Run("gina's password has expired", func(t *testing.T) {
		pp, err := ppolicyBind(Dial(t, s.URL, nil), s.UserDN("gina"), "gina-pass")
		WantResultCode(t, err, ldap.LDAPResultInvalidCredentials)
		if pp == nil || pp.Error != ldap.BeheraPasswordExpired {
			t.Errorf("ppolicy control = %v, want passwordExpired", pp)
		}
	})
	t.Run("overlays hash passwords and keep memberOf on LDAP writes", func(t *testing.T) {
		admin := Dial(t, s.URL, nil)
		if err := admin.Bind(s.AdminDN, s.AdminPassword); err != nil {
			t.Fatal(err)
		}
		add := ldap.NewAddRequest(s.UserDN("tmp1"), nil)
		add.Attribute("objectClass", []string{"inetOrgPerson"})
		add.Attribute("cn", []string{"Tmp One"})
		add.Attribute("sn", []string{"One"})
		add.Attribute("userPassword", []string{"tmp-pass"})
		grp := ldap.NewAddRequest(s.GroupDN("tmp-group"), nil)
		grp.Attribute("objectClass", []string{"groupOfNames"})
		grp.Attribute("member", []string{s.UserDN("tmp1")})
		for _, req := range []*ldap.AddRequest{add, grp} {
			if err := admin.Add(req); err != nil {
				t.Fatal(err)
			}
		}
		es := Search(t, admin, s.BaseDN, "(uid=tmp1)", "userPassword", "memberOf")
		if len(es) != 1 {
			t.Fatalf("tmp1: %d entries", len(es))
		}
		if pw := es[0].GetAttributeValue("userPassword"); len(pw) < 6 || pw[:6] != "{SSHA}" {
			t.Errorf("stored password %q, want {SSHA}", pw)
		}
		if got := es[0].GetAttributeValue("memberOf"); got != s.GroupDN("tmp-group") {
			t.Errorf("memberOf = %q", got)
		}
		if err := Dial(t, s.URL, nil).Bind(s.UserDN("tmp1"), "tmp-pass"); err != nil {
			t.Error(err)
		}
		for _, dn := range []string{s.GroupDN("tmp-group"), s.UserDN("tmp1")} {
			if err := admin.Del(ldap.NewDelRequest(dn, nil)); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("load user", func(t *testing.T) {
		if err := Dial(t, s.URL, nil).Bind(s.UserDN("load0003"), "pw-load0003"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Stop is idempotent and final", func(t *testing.T) {
		s.Stop()
		s.Stop()
		if conn, err := ldap.DialURL(s.URL); err == nil {
			conn.Close()
			t.Fatal("dial after Stop succeeded")
		}
	})
}
