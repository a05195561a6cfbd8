package ldapauth

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"radiusmfa/auth"
	"radiusmfa/ldapauth/ldaptest"
	"radiusmfa/store"
)

// slapdConfig is search-then-bind over LDAPS against s, as an operator
// would configure it for OpenLDAP.
func slapdConfig(s *ldaptest.Slapd) Config {
	return Config{
		Kind:         KindOpenLDAP,
		Servers:      []string{s.LDAPSURL},
		TLS:          TLSConfig{CAFile: s.CAFile},
		BindDN:       s.BindDN,
		BindPassword: s.BindPassword,
		BaseDN:       s.BaseDN,
		NestedGroups: true,
		StripDomain:  true,
		StripRealm:   true,
		Realms:       []string{"example.org"},
		Timeout:      5 * time.Second,
	}
}

func newDirectory(t *testing.T, c Config, reg prometheus.Registerer) *Directory {
	t.Helper()
	d, err := New(c, nil, reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(d.Close)
	return d
}

func login(t *testing.T, d *Directory, user, pw string) (auth.Identity, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, ok, err := d.Authenticate(ctx, d.NormalizeName(user), pw)
	if err != nil {
		t.Fatalf("Authenticate(%s): %v", user, err)
	}
	return id, ok
}

func TestSlapdSearchThenBind(t *testing.T) {
	s := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	d := newDirectory(t, slapdConfig(s), nil)

	cases := []struct {
		user, pw string
		groups   []string
		profile  store.Profile
	}{
		// groupOfNames and groupOfUniqueNames.
		{"alice", "alice-pass", []string{"staff", "vpn-users"},
			store.Profile{DisplayName: "Alice Anders", Mail: "alice@example.org", Phone: "+15551230001"}},
		// Nested one level; the phone comes from telephoneNumber when there is no mobile.
		{"bob", "bob-pass", []string{"vpn-admins", "vpn-users"},
			store.Profile{DisplayName: "Bob Brown", Mail: "bob@example.org", Phone: "+15551230002"}},
		// Nested two levels, a groupOfUniqueNames and a posixGroup (memberUid).
		{"carol", "carol-pass", []string{"developers", "staff", "vpn-admins", "vpn-level3", "vpn-users"},
			store.Profile{DisplayName: "Carol Clark", Mail: "carol@example.org", Phone: "+15551230003"}},
		{"frank", "frank-pass", []string{"developers"}, store.Profile{DisplayName: "Frank Plain"}},
	}
	for _, c := range cases {
		id, ok := login(t, d, c.user, c.pw)
		if !ok {
			t.Errorf("%s: refused with the right password (%+v)", c.user, id)
			continue
		}
		got := slices.Sorted(slices.Values(id.Groups))
		if !slices.Equal(got, c.groups) {
			t.Errorf("%s: groups %v, want %v", c.user, got, c.groups)
		}
		if id.Name != c.user || id.DN != s.UserDN(c.user) || id.Profile != c.profile {
			t.Errorf("%s: identity %+v, want DN %s and profile %+v", c.user, id, s.UserDN(c.user), c.profile)
		}
		for i, g := range id.Groups {
			if i >= len(id.GroupDNs) || !auth.IsMember(auth.Identity{GroupDNs: id.GroupDNs}, s.GroupDN(g)) {
				t.Errorf("%s: group %s has no DN beside it (%v)", c.user, g, id.GroupDNs)
			}
		}
	}

	for _, c := range []struct{ user, pw string }{
		{"alice", "wrong"},
		{"nosuchuser", "alice-pass"},
		{"alice", "alice-pass "},
		{"*", "alice-pass"},            // escaped: no wildcard search
		{"alice)(uid=*", "alice-pass"}, // escaped: no filter injection
	} {
		if id, ok := login(t, d, c.user, c.pw); ok || id.Reason != "" && id.Reason != auth.ReasonBadCredentials {
			t.Errorf("%q/%q: ok=%v %+v, want a plain refusal", c.user, c.pw, ok, id)
		}
	}

	// Other spellings of one user.
	for _, spelled := range []string{`EXAMPLE\alice`, "alice@example.org"} {
		if id, ok := login(t, d, spelled, "alice-pass"); !ok || id.Name != "alice" {
			t.Errorf("%s: ok=%v name %q, want alice", spelled, ok, id.Name)
		}
	}
	if _, ok := login(t, d, "alice@elsewhere.example", "alice-pass"); ok {
		t.Error("a realm outside the configured list was stripped")
	}
}

func TestSlapdPasswordPolicy(t *testing.T) {
	s := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	d := newDirectory(t, slapdConfig(s), nil)
	for _, c := range []struct {
		user   string
		reason auth.Reason
		msg    string
	}{
		{"dave", auth.ReasonDirectoryLocked, ""},
		{"eve", auth.ReasonMustChangePassword, auth.MsgMustChangePassword},
		{"gina", auth.ReasonPasswordExpired, auth.MsgPasswordExpired},
	} {
		id, ok := login(t, d, c.user, c.user+"-pass")
		if ok || id.Reason != c.reason || id.Message != c.msg {
			t.Errorf("%s: ok=%v reason %q message %q, want %q %q", c.user, ok, id.Reason, id.Message, c.reason, c.msg)
		}
	}
	// With a wrong password the policy state is not revealed.
	if id, ok := login(t, d, "eve", "wrong"); ok || id.Message != "" || id.Reason != auth.ReasonBadCredentials {
		t.Errorf("eve with a wrong password: %+v", id)
	}
}

func TestSlapdStartTLSAndDirectBind(t *testing.T) {
	s := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	c := slapdConfig(s)
	c.Servers, c.StartTLS = []string{s.URL}, true
	c.TLS.CertFile, c.TLS.KeyFile = s.ClientCertFile, s.ClientKeyFile
	d := newDirectory(t, c, nil)
	if id, ok := login(t, d, "bob", "bob-pass"); !ok || !slices.Contains(id.Groups, "vpn-users") {
		t.Errorf("StartTLS login: ok=%v %+v", ok, id)
	}
	checks := d.Check(context.Background())
	if len(checks) != 1 || checks[0].Err != nil || checks[0].TLS == "" || checks[0].BaseDN == "" {
		t.Errorf("Check over StartTLS: %+v", checks)
	}

	// Direct bind: no service account; the user reads their own entry.
	c = slapdConfig(s)
	c.BindDN, c.BindPassword = "", ""
	c.BindTemplate = "uid={username},ou=people," + s.BaseDN
	d = newDirectory(t, c, nil)
	id, ok := login(t, d, "carol", "carol-pass")
	if !ok || id.DN != s.UserDN("carol") || !slices.Contains(id.Groups, "vpn-users") || id.Profile.Mail != "carol@example.org" {
		t.Errorf("direct bind: ok=%v %+v", ok, id)
	}
	if _, ok := login(t, d, "carol", "wrong"); ok {
		t.Error("direct bind accepted a wrong password")
	}
	if _, ok := login(t, d, "carol,ou=people", "carol-pass"); ok {
		t.Error("a name with DN syntax changed the bind DN")
	}
}

func TestSlapdTLSVerification(t *testing.T) {
	s := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	other := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{}) // its CA signed nothing of s
	for name, mutate := range map[string]func(*Config){
		"unknown CA": func(c *Config) { c.TLS.CAFile = other.CAFile },
		"wrong name": func(c *Config) { c.TLS.ServerName = "dc9.example.org" },
		"plain to ldaps": func(c *Config) {
			c.Servers = []string{"ldap://" + s.Host + ":" + strconv.Itoa(s.TLSPort)}
			c.AllowPlaintext = true
		},
		"wrong svc passwd": func(c *Config) { c.BindPassword = "nope" },
	} {
		c := slapdConfig(s)
		mutate(&c)
		d := newDirectory(t, c, nil)
		if r := d.Check(context.Background()); r[0].Err == nil {
			t.Errorf("%s: Check passed: %+v", name, r[0])
		}
		_, ok, err := d.Authenticate(context.Background(), "alice", "alice-pass")
		var unavailable *UnavailableError
		if ok || !errors.As(err, &unavailable) {
			t.Errorf("%s: login ok=%v err=%v, want directory unavailable", name, ok, err)
		}
	}
}

func TestEmptyPasswordNeverBinds(t *testing.T) {
	// No server listens here: an attempt to reach one would fail the
	// login with an error instead of a plain refusal.
	d := newDirectory(t, Config{Servers: []string{"ldaps://127.0.0.1:1"}, BaseDN: "dc=x", BindDN: "cn=svc", BindPassword: "x"}, nil)
	id, ok, err := d.Authenticate(context.Background(), "alice", "")
	if ok || err != nil || id.Reason != "" {
		t.Fatalf("empty password: ok=%v err=%v %+v, want a refusal without any network step", ok, err, id)
	}
}

func TestSlapdFailover(t *testing.T) {
	s1 := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	s2 := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	c := slapdConfig(s1)
	c.Servers = []string{s1.LDAPSURL, s2.LDAPSURL}
	c.TLS.CAFile = "" // two CAs: verify each by pinning below
	c.Backoff = time.Hour
	reg := prometheus.NewRegistry()
	d := newDirectory(t, withCAs(t, c, s1, s2), reg)

	if _, ok := login(t, d, "alice", "alice-pass"); !ok {
		t.Fatal("login with both servers up failed")
	}
	s1.Stop()
	for i := range 5 {
		if _, ok := login(t, d, "bob", "bob-pass"); !ok {
			t.Fatalf("login %d after the first server stopped failed", i)
		}
		if _, ok := login(t, d, "bob", "wrong"); ok {
			t.Fatalf("login %d: wrong password accepted on the second server", i)
		}
	}
	errs := testutil.ToFloat64(d.m.serverErrors.WithLabelValues(s1.LDAPSURL))
	if errs != 1 {
		t.Errorf("first server failures counted %v times, want 1 (skipped during its back-off)", errs)
	}
	if up := testutil.ToFloat64(d.m.serverUp.WithLabelValues(s1.LDAPSURL)); up != 0 {
		t.Errorf("radiusmfa_ldap_server_up for the stopped server = %v, want 0", up)
	}
	s2.Stop()
	_, ok, err := d.Authenticate(context.Background(), "alice", "alice-pass")
	var unavailable *UnavailableError
	// The first server is still backing off, so only the second is tried.
	if ok || !errors.As(err, &unavailable) || len(unavailable.Errs) != 1 {
		t.Fatalf("every server down: ok=%v err=%v, want UnavailableError naming the second server", ok, err)
	}
	if n := testutil.ToFloat64(d.m.unavailable); n != 1 {
		t.Errorf("radiusmfa_ldap_unavailable_total = %v, want 1", n)
	}
}

// withCAs trusts the CAs of several test servers at once.
func withCAs(t *testing.T, c Config, ss ...*ldaptest.Slapd) Config {
	t.Helper()
	bundle := t.TempDir() + "/cas.pem"
	var pem []byte
	for _, s := range ss {
		b, err := os.ReadFile(s.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		pem = append(pem, b...)
	}
	if err := os.WriteFile(bundle, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	c.TLS.CAFile = bundle
	return c
}

func TestSlapdDeadlineAndSilentServer(t *testing.T) {
	s := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	// A server that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c := slapdConfig(s)
	c.Servers = []string{"ldaps://" + ln.Addr().String(), s.LDAPSURL}
	c.TLS.ServerName = "127.0.0.1"
	c.Timeout = 300 * time.Millisecond
	d := newDirectory(t, c, nil)
	if _, ok := login(t, d, "alice", "alice-pass"); !ok {
		t.Fatal("the silent first server was not left for the second after its timeout")
	}

	c.Servers = c.Servers[:1]
	c.Timeout = time.Minute
	d = newDirectory(t, c, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, ok, err := d.Authenticate(ctx, "alice", "alice-pass")
	if ok || err == nil || ctx.Err() == nil {
		t.Fatalf("silent server under a request deadline: ok=%v err=%v; want an error once the deadline passed", ok, err)
	}
}

// TestPooledConnectionsKeepTheirIdentity checks that service connections
// are bound as the service account after many user logins, and that user
// binds happen only on connections of the user pool.
func TestPooledConnectionsKeepTheirIdentity(t *testing.T) {
	s := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	c := slapdConfig(s)
	c.PoolSize = 2
	d := newDirectory(t, c, nil)
	for range 5 {
		for _, u := range []string{"alice", "bob", "carol"} {
			if _, ok := login(t, d, u, u+"-pass"); !ok {
				t.Fatalf("%s refused", u)
			}
		}
	}
	srv := d.servers[0]
	if n := len(srv.svc.slots); n == 0 || n > 2 {
		t.Fatalf("service pool holds %d connections, want 1..2 (reused, bounded)", n)
	}
	var idle []*conn
	for len(srv.svc.idle) > 0 {
		idle = append(idle, (<-srv.svc.idle).c)
	}
	for _, conn := range idle {
		who, err := conn.WhoAmI(nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := "dn:" + s.BindDN; who.AuthzID != want {
			t.Errorf("a pooled service connection is bound as %q, want %q", who.AuthzID, want)
		}
		srv.svc.put(conn)
	}
}

// TestPooledConnectionsOutliveTheirDeadline: each operation is bounded by
// the socket's deadline, which is lifted when the connection goes back to
// its pool, so a connection idle for longer than the timeout is reused,
// not found closed.
func TestPooledConnectionsOutliveTheirDeadline(t *testing.T) {
	s := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{})
	c := slapdConfig(s)
	c.PoolSize = 1
	c.Timeout = 300 * time.Millisecond
	d := newDirectory(t, c, nil)
	if _, ok := login(t, d, "alice", "alice-pass"); !ok {
		t.Fatal("alice refused")
	}
	srv := d.servers[0]
	held := func(p *pool) *conn {
		ic := <-p.idle
		p.idle <- ic
		return ic.c
	}
	svc, user := held(&srv.svc), held(&srv.user)
	time.Sleep(3 * c.Timeout)
	for name, cn := range map[string]*conn{"service": svc, "user": user} {
		if cn.IsClosing() {
			t.Fatalf("the idle %s connection was closed by the last request's deadline", name)
		}
	}
	if _, ok := login(t, d, "bob", "bob-pass"); !ok {
		t.Fatal("bob refused")
	}
	if held(&srv.svc) != svc || held(&srv.user) != user {
		t.Error("the second login opened new connections instead of reusing the idle ones")
	}
}
