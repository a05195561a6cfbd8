package ldapauth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"radiusmfa/ldapauth/ldaptest"
)

func TestSearchFilter(t *testing.T) {
	openldap, err := Config{Servers: []string{"ldaps://x"}, BaseDN: "dc=x", BindDN: "cn=s", BindPassword: "p"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	ad := openldap
	ad.Kind, ad.UserFilter, ad.UsernameAttribute, ad.GroupFilter = KindAD, "", "", ""
	if ad, err = ad.withDefaults(); err != nil {
		t.Fatal(err)
	}
	custom := openldap
	custom.UserFilter = "(&(objectClass=person)(|(uid={username})(mail={username}@corp.example))(!(uid={username}-admin)))"
	custom.UsernameAttribute, custom.DisplayNameAttribute, custom.MailAttribute = "uid", "CN", "mail"

	for _, c := range []struct {
		name  string
		cfg   Config
		query string
		want  string
	}{
		{"openldap", openldap, "ali",
			"(&(&(objectClass=inetOrgPerson)(uid=*))(|(uid=ali*)(cn=ali*)(displayName=ali*)(mail=ali*)))"},
		{"ad", ad, "Bob",
			"(&(&(objectCategory=person)(objectClass=user)(|(sAMAccountName=*)(userPrincipalName=*)))" +
				"(|(sAMAccountName=Bob*)(cn=Bob*)(displayName=Bob*)(mail=Bob*)))"},
		// Every {username} becomes a wildcard; an attribute named twice
		// (cn, CN) is matched once.
		{"custom user filter", custom, "a",
			"(&(&(objectClass=person)(|(uid=*)(mail=*@corp.example))(!(uid=*-admin)))(|(uid=a*)(cn=a*)(mail=a*)))"},
		// The query never adds a filter, a wildcard or a NUL of its own.
		{"injection", openldap, "*)(uid=*",
			`(&(&(objectClass=inetOrgPerson)(uid=*))(|(uid=\2a\29\28uid=\2a*)(cn=\2a\29\28uid=\2a*)(displayName=\2a\29\28uid=\2a*)(mail=\2a\29\28uid=\2a*)))`},
		{"backslash and NUL", openldap, "a\\b\x00",
			`(&(&(objectClass=inetOrgPerson)(uid=*))(|(uid=a\5cb\00*)(cn=a\5cb\00*)(displayName=a\5cb\00*)(mail=a\5cb\00*)))`},
		{"non-ASCII", openldap, "Jö",
			`(&(&(objectClass=inetOrgPerson)(uid=*))(|(uid=J\c3\b6*)(cn=J\c3\b6*)(displayName=J\c3\b6*)(mail=J\c3\b6*)))`},
	} {
		got := searchFilter(c.cfg, c.query)
		if got != c.want {
			t.Errorf("%s: searchFilter(%q)\n got %s\nwant %s", c.name, c.query, got, c.want)
		}
		if _, err := ldap.CompileFilter(got); err != nil {
			t.Errorf("%s: %s does not compile: %v", c.name, got, err)
		}
	}
}

func TestSearchLimit(t *testing.T) {
	for in, want := range map[int]int{0: 25, 1: 1, 3: 3, 100: 100, 101: 100, 1 << 40: 100, -1: 1, -100: 1} {
		if got := searchLimit(in); got != want {
			t.Errorf("searchLimit(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestDirectoryUsersSortedAndFlagged(t *testing.T) {
	d := newDirectory(t, Config{Kind: KindAD, Servers: []string{"ldaps://127.0.0.1:1"}, BaseDN: "dc=x",
		BindDN: "cn=s", BindPassword: "p"}, nil)
	entry := func(dn string, attrs map[string][]string) *ldap.Entry { return ldap.NewEntry(dn, attrs) }
	got := d.directoryUsers([]*ldap.Entry{
		entry("CN=zed,DC=x", map[string][]string{"sAMAccountName": {"zed"}, "userAccountControl": {"514"}}),
		entry("CN=Bea Bauer,DC=x", map[string][]string{"sAMAccountName": {"bea"}, "displayName": {"Bea Bauer"},
			"mail": {"bea@x"}, "telephoneNumber": {"+1"}, "mobile": {"+2"}, "userAccountControl": {"512"}}),
		entry("CN=Adam,DC=x", map[string][]string{"samaccountname": {"Adam"}, "cn": {"Adam"}}),
		entry("CN=nameless,DC=x", map[string][]string{"cn": {"nameless"}}),
		entry("CN=odd,DC=x", map[string][]string{"sAMAccountName": {"odd"}, "userAccountControl": {"not a number"}}),
	})
	want := []DirectoryUser{
		{Name: "Adam", DN: "CN=Adam,DC=x", DisplayName: "Adam"},
		{Name: "bea", DN: "CN=Bea Bauer,DC=x", DisplayName: "Bea Bauer", Mail: "bea@x", Phone: "+2"},
		{Name: "odd", DN: "CN=odd,DC=x"},
		{Name: "zed", DN: "CN=zed,DC=x", Disabled: true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("directoryUsers:\n got %+v\nwant %+v", got, want)
	}
}

// TestSearchRefusals covers what Search refuses before any network step:
// no server listens at the configured address.
func TestSearchRefusals(t *testing.T) {
	base := Config{Servers: []string{"ldaps://127.0.0.1:1"}, BaseDN: "dc=x", BindDN: "cn=s", BindPassword: "p"}
	d := newDirectory(t, base, nil)
	for _, c := range []struct {
		query string
		want  error
	}{
		{"", ErrEmptyQuery},
		{" \t\n", ErrEmptyQuery},
		{strings.Repeat("a", MaxSearchQuery+1), ErrQueryTooLong},
	} {
		if us, err := d.Search(context.Background(), c.query, 0); !errors.Is(err, c.want) || us != nil {
			t.Errorf("Search(%q) = %v, %v; want %v", c.query, us, err, c.want)
		}
	}

	direct := base
	direct.BindDN, direct.BindPassword, direct.BindTemplate = "", "", "uid={username},dc=x"
	d = newDirectory(t, direct, nil)
	_, err := d.Search(context.Background(), "alice", 0)
	if !errors.Is(err, ErrSearchUnavailable) || !strings.Contains(err.Error(), "bind_dn") {
		t.Errorf("direct bind: %v, want ErrSearchUnavailable naming bind_dn", err)
	}
}

func search(t *testing.T, d *Directory, query string, limit int) []DirectoryUser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	us, err := d.Search(ctx, query, limit)
	if err != nil {
		t.Fatalf("Search(%q, %d): %v", query, limit, err)
	}
	if !slices.IsSortedFunc(us, func(a, b DirectoryUser) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	}) {
		t.Errorf("Search(%q): not sorted by name: %v", query, names(us))
	}
	return us
}

func names(us []DirectoryUser) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Name
	}
	return out
}

func TestSlapdSearch(t *testing.T) {
	const loadUsers = 120
	s := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{LoadUsers: loadUsers})
	d := newDirectory(t, slapdConfig(s), nil)

	t.Run("prefixes", func(t *testing.T) {
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"ali", []string{"alice"}},        // login name
			{"ALICE", []string{"alice"}},      // any case
			{"  alice ", []string{"alice"}},   // spaces around are not part of it
			{"alice@", []string{"alice"}},     // mail only
			{"Bob@Example.", []string{"bob"}}, // mail, any case
			{"frank p", []string{"frank"}},    // display name only
			{"b", []string{"bob"}},
			{"lice", nil}, // not a prefix
			{"nosuchuser", nil},
			{"svc-radius", nil}, // not a person the user filter admits
		} {
			if got := names(search(t, d, c.query, 0)); !slices.Equal(got, c.want) {
				t.Errorf("Search(%q) = %q, want %q", c.query, got, c.want)
			}
		}
		us := search(t, d, "alice", 0)
		want := DirectoryUser{Name: "alice", DN: s.UserDN("alice"), DisplayName: "Alice Anders",
			Mail: "alice@example.org", Phone: "+15551230001"}
		if len(us) != 1 || us[0] != want {
			t.Errorf("alice: %+v, want %+v", us, want)
		}
		// The locked account is found; OpenLDAP has no disabled flag.
		if us := search(t, d, "dave", 0); len(us) != 1 || us[0].Disabled {
			t.Errorf("dave: %+v", us)
		}
		// No displayName: cn stands in.
		if us := search(t, d, "load0001", 0); len(us) != 1 || us[0].DisplayName != "Load 0001" {
			t.Errorf("load0001: %+v", us)
		}
	})

	t.Run("escaping", func(t *testing.T) {
		for _, q := range []string{"*", "*)(uid=*", "alice)(|(uid=*", "*)(objectClass=*))(|(uid=*", `\2a`, "a*"} {
			if us := search(t, d, q, 100); len(us) != 0 {
				t.Errorf("Search(%q) found %q, want nothing", q, names(us))
			}
		}
	})

	t.Run("limit", func(t *testing.T) {
		for _, c := range []struct{ limit, want int }{{0, DefaultSearchLimit}, {3, 3}, {1, 1}, {-7, 1},
			{1000, MaxSearchLimit}} {
			if us := search(t, d, "load", c.limit); len(us) != c.want {
				t.Errorf("limit %d: %d results, want %d", c.limit, len(us), c.want)
			}
		}
		if us := search(t, d, "load01", 100); len(us) != 21 { // load0100..load0120
			t.Errorf("load01: %d results, want 21", len(us))
		}
	})

	t.Run("user_filter applies", func(t *testing.T) {
		c := slapdConfig(s)
		c.UserFilter = "(&(objectClass=inetOrgPerson)(uid={username})(memberOf=" + s.GroupDN("vpn-users") + "))"
		only := newDirectory(t, c, nil)
		if got := names(search(t, only, "alice", 0)); !slices.Equal(got, []string{"alice"}) {
			t.Errorf("alice, a direct member: %q", got)
		}
		// bob is in vpn-users only through vpn-admins: memberOf does not name it.
		if got := names(search(t, only, "b", 0)); len(got) != 0 {
			t.Errorf("b: %q, want nothing", got)
		}
	})

	t.Run("failover", func(t *testing.T) {
		c := slapdConfig(s)
		c.Servers = []string{"ldaps://127.0.0.1:1", s.LDAPSURL}
		if got := names(search(t, newDirectory(t, c, nil), "carol", 0)); !slices.Equal(got, []string{"carol"}) {
			t.Errorf("with the first server down: %q", got)
		}
		c.Servers = c.Servers[:1]
		_, err := newDirectory(t, c, nil).Search(context.Background(), "carol", 0)
		var unavailable *UnavailableError
		if !errors.As(err, &unavailable) {
			t.Errorf("with no server up: %v, want UnavailableError", err)
		}
	})

	t.Run("bad service password", func(t *testing.T) {
		c := slapdConfig(s)
		c.BindPassword = "wrong-svc-secret"
		_, err := newDirectory(t, c, nil).Search(context.Background(), "carol", 0)
		if err == nil || strings.Contains(err.Error(), c.BindPassword) {
			t.Errorf("a refused service bind: %v, want an error without the password", err)
		}
	})
}

// TestADSearch runs against the process's Samba AD DC (see TestMain).
func TestADSearch(t *testing.T) {
	dc := ldaptest.StartSamba(t)
	d := newDirectory(t, adConfig(dc), nil)

	for _, c := range []struct {
		query string
		want  []string
	}{
		{"alice", []string{"alice"}},
		{"Alice A", []string{"alice"}}, // cn and displayName: "Alice Anders"
		{"BOB@EXAMPLE.TEST", []string{"bob"}},
		{"a", []string{"Administrator", "alice"}},
		{"*)(sAMAccountName=*", nil},
		{"*", nil},
	} {
		if got := names(search(t, d, c.query, 0)); !slices.Equal(got, c.want) {
			t.Errorf("Search(%q) = %q, want %q", c.query, got, c.want)
		}
	}
	us := search(t, d, "alice", 0)
	want := DirectoryUser{Name: "alice", DN: dc.UserDN("alice"), DisplayName: "Alice Anders",
		Mail: "alice@example.test", Phone: "+15550000001"}
	if len(us) != 1 || us[0] != want {
		t.Errorf("alice: %+v, want %+v", us, want)
	}
	if us := search(t, d, "dave", 0); len(us) != 1 || !us[0].Disabled || us[0].Name != "dave" {
		t.Errorf("dave (disabled): %+v", us)
	}
	if us := search(t, d, "a", 1); len(us) != 1 {
		t.Errorf("limit 1: %q", names(us))
	}

	// Only members of vpn-users, nested membership included.
	c := adConfig(dc)
	c.UserFilter = "(&(objectCategory=person)(objectClass=user)(sAMAccountName={username})(memberOf:" +
		inChainOID + ":=" + ldap.EscapeFilter(dc.GroupDN("vpn-users")) + "))"
	members := newDirectory(t, c, nil)
	for q, want := range map[string][]string{"a": {"alice"}, "bob": {"bob"}, "henry": nil} {
		if got := names(search(t, members, q, 0)); !slices.Equal(got, want) {
			t.Errorf("vpn-users only: Search(%q) = %q, want %q", q, got, want)
		}
	}
}

// adConfig is search-then-bind over LDAPS against the test DC, as an
// operator would configure it for Active Directory.
func adConfig(dc *ldaptest.Samba) Config {
	return Config{
		Kind:         KindAD,
		Servers:      []string{dc.LDAPSURL},
		TLS:          TLSConfig{CAFile: dc.CAFile},
		BindDN:       dc.BindDN,
		BindPassword: dc.BindPassword,
		BaseDN:       dc.BaseDN,
		NestedGroups: true,
		Timeout:      10 * time.Second,
	}
}
