package integration

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"radiusmfa/ldapauth/ldaptest"
)

// ruleInChain is LDAP_MATCHING_RULE_IN_CHAIN: AD's transitive membership.
const ruleInChain = "1.2.840.113556.1.4.1941"

// rid returns the last sub-authority of a binary objectSid.
func rid(t *testing.T, sid []byte) uint32 {
	t.Helper()
	if len(sid) < 12 || len(sid) != 8+4*int(sid[1]) {
		t.Fatalf("malformed objectSid %x", sid)
	}
	return binary.LittleEndian.Uint32(sid[len(sid)-4:])
}

// TestSambaHarness checks the facts of the test DC that the Active
// Directory tests rely on, on the wire, without radiusmfa in between.
func TestSambaHarness(t *testing.T) {
	s := ldaptest.StartSamba(t)
	t.Logf("samba: provision %v, ready after %v, dir %s", s.ProvisionTime, s.StartTime, s.Dir)
	if again := ldaptest.StartSamba(t); again != s {
		t.Fatal("second StartSamba returned another instance")
	}

	t.Run("alice binds as UPN, DN and DOMAIN\\user", func(t *testing.T) {
		for _, name := range []string{"alice@example.test", s.UserDN("alice"), `EXAMPLE\alice`} {
			if err := ldaptest.Dial(t, s.LDAPSURL, s.TLSConfig()).Bind(name, "Alice-Passw0rd"); err != nil {
				t.Errorf("bind %s: %v", name, err)
			}
		}
	})
	t.Run("StartTLS works, plain simple bind is refused", func(t *testing.T) {
		if err := ldaptest.StartTLS(t, s.LDAPURL, s.TLSConfig()).Bind("bob@example.test", "Bob-Passw0rd"); err != nil {
			t.Error(err)
		}
		err := ldaptest.Dial(t, s.LDAPURL, nil).Bind("bob@example.test", "Bob-Passw0rd")
		ldaptest.WantResultCode(t, err, ldap.LDAPResultStrongAuthRequired)
	})
	t.Run("AD sub-codes", func(t *testing.T) {
		for _, c := range []struct{ upn, pw, data string }{
			{"alice@example.test", "wrong", "data 52e"},
			{"nobody@example.test", "Nobody-Passw0rd", "data 52e"},
			{"dave@example.test", "Dave-Passw0rd", "data 533"},
			{"eve@example.test", "Eve-Passw0rd", "data 773"},
			{"frank@example.test", "Frank-Passw0rd", "data 701"},
			{"gina@example.test", "Gina-Passw0rd", "data 532"},
		} {
			err := ldaptest.Dial(t, s.LDAPSURL, s.TLSConfig()).Bind(c.upn, c.pw)
			if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) || !strings.Contains(err.Error(), c.data) {
				t.Errorf("bind %s: %v, want 49 with %q", c.upn, err, c.data)
			}
		}
	})

	t.Run("anonymous search refused", func(t *testing.T) {
		_, err := ldaptest.Dial(t, s.LDAPSURL, s.TLSConfig()).Search(ldap.NewSearchRequest(s.BaseDN, ldap.ScopeWholeSubtree,
			ldap.NeverDerefAliases, 0, 0, false, "(sAMAccountName=alice)", nil, nil))
		ldaptest.WantResultCode(t, err, ldap.LDAPResultOperationsError)
	})

	svc := ldaptest.Dial(t, s.LDAPSURL, s.TLSConfig())
	if err := svc.Bind(s.BindUPN, s.BindPassword); err != nil {
		t.Fatalf("service account: %v", err)
	}
	t.Run("nested groups through IN_CHAIN", func(t *testing.T) {
		var got []string
		for _, e := range ldaptest.Search(t, svc, s.BaseDN, "(member:"+ruleInChain+":="+s.UserDN("carol")+")", "cn") {
			got = append(got, e.GetAttributeValue("cn"))
		}
		slices.Sort(got)
		if want := []string{"staff", "vpn-admins", "vpn-level3", "vpn-users"}; !slices.Equal(got, want) {
			t.Errorf("carol's groups = %q, want %q", got, want)
		}
	})
	t.Run("alice's attributes", func(t *testing.T) {
		es := ldaptest.Search(t, svc, s.BaseDN, "(sAMAccountName=alice)", "displayName", "mail", "mobile", "userPrincipalName", "memberOf")
		if len(es) != 1 {
			t.Fatalf("%d entries", len(es))
		}
		a := es[0]
		if a.DN != s.UserDN("alice") || a.GetAttributeValue("displayName") != "Alice Anders" ||
			a.GetAttributeValue("mail") != "alice@example.test" || a.GetAttributeValue("mobile") != "+15550000001" ||
			a.GetAttributeValue("userPrincipalName") != "alice@example.test" {
			t.Errorf("alice = %s %v", a.DN, a.Attributes)
		}
		if got := a.GetAttributeValues("memberOf"); len(got) != 2 {
			t.Errorf("alice memberOf = %q, want vpn-users and staff", got)
		}
	})
	t.Run("henry's primary group is contractors", func(t *testing.T) {
		g := ldaptest.Search(t, svc, s.BaseDN, "(sAMAccountName=contractors)", "objectSid")
		h := ldaptest.Search(t, svc, s.BaseDN, "(sAMAccountName=henry)", "primaryGroupID")
		if len(g) != 1 || len(h) != 1 {
			t.Fatalf("contractors %d, henry %d entries", len(g), len(h))
		}
		want := strconv.FormatUint(uint64(rid(t, g[0].GetRawAttributeValue("objectSid"))), 10)
		if got := h[0].GetAttributeValue("primaryGroupID"); got != want {
			t.Errorf("henry primaryGroupID = %s, contractors RID = %s", got, want)
		}
		if !strings.HasPrefix(s.DomainSID, "S-1-5-21-") {
			t.Errorf("DomainSID = %q", s.DomainSID)
		}
	})
}
