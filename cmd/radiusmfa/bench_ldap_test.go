package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"radiusmfa/config"
	"radiusmfa/ldapauth"
	"radiusmfa/ldapauth/ldaptest"
)

func validBenchLDAP() benchLDAP {
	return benchLDAP{URL: "ldaps://127.0.0.1:636", BindDN: "cn=svc,dc=example,dc=org", BindPassword: "pw",
		BaseDN: "dc=example,dc=org", UserFormat: "load%04d", PasswordFormat: "pw-load%04d", Groups: "default"}
}

func TestBenchLDAPCheck(t *testing.T) {
	o := benchOptions{Spawn: true, LDAP: validBenchLDAP()}
	if err := o.LDAP.check(o); err != nil {
		t.Fatalf("valid settings refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*benchOptions)
		want string
	}{
		{"no spawn", func(o *benchOptions) { o.Spawn = false }, "needs --spawn"},
		{"scheme", func(o *benchOptions) { o.LDAP.URL = "http://x:389" }, "--ldap-url"},
		{"no host", func(o *benchOptions) { o.LDAP.URL = "ldaps://" }, "--ldap-url"},
		{"no service account", func(o *benchOptions) { o.LDAP.BindPassword = "" }, "--ldap-bind-password"},
		{"no verb", func(o *benchOptions) { o.LDAP.UserFormat = "load" }, "--ldap-user-format"},
		{"string verb", func(o *benchOptions) { o.LDAP.PasswordFormat = "pw-%s" }, "--ldap-password-format"},
		{"two verbs", func(o *benchOptions) { o.LDAP.UserFormat = "%d-%d" }, "--ldap-user-format"},
		{"groups", func(o *benchOptions) { o.LDAP.Groups = "memberof" }, "--ldap-groups"},
		{"pool", func(o *benchOptions) { o.LDAP.PoolSize = -1 }, "--ldap-pool-size"},
	} {
		o := benchOptions{Spawn: true, LDAP: validBenchLDAP()}
		tc.edit(&o)
		if err := o.LDAP.check(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %s", tc.name, err, tc.want)
		}
	}
	name, pw := validBenchLDAP().user(7)
	if name != "load0007" || pw != "pw-load0007" {
		t.Fatalf("user 7: %q %q", name, pw)
	}
}

// loadBenchConfig writes the spawned server's configuration for o and
// loads it as serve would.
func loadBenchConfig(t *testing.T, o benchOptions) *config.Config {
	t.Helper()
	dir := t.TempDir()
	text, err := benchConfig(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := (&cli{}).loadConfig(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return cfg
}

func TestBenchConfigLDAP(t *testing.T) {
	l := validBenchLDAP()
	l.CAFile = "/tmp/ca dir/ca.crt"
	l.BindPassword = `p"w: #x`
	cfg := loadBenchConfig(t, benchOptions{Concurrency: 48, LDAP: l})
	got := cfg.LDAP
	if cfg.Auth.Directory != directoryLDAP || !slices.Equal(got.Servers, []string{l.URL}) || got.AllowPlaintext ||
		got.TLS.CAFile != l.CAFile || got.BindDN != l.BindDN || got.BindPassword != l.BindPassword ||
		got.BaseDN != l.BaseDN || got.PoolSize != 48 || !got.Groups.Nested || cfg.Auth.Lockout.Threshold != 0 {
		t.Fatalf("directory %q, ldap %+v", cfg.Auth.Directory, got)
	}
	l.Groups, l.PoolSize, l.URL = "flat", 16, "ldap://127.0.0.1:389"
	cfg = loadBenchConfig(t, benchOptions{Concurrency: 48, LDAP: l})
	if cfg.LDAP.Groups.Nested || cfg.LDAP.PoolSize != 16 || !cfg.LDAP.AllowPlaintext {
		t.Fatalf("flat, pool 16, plaintext: %+v", cfg.LDAP)
	}
	cfg = loadBenchConfig(t, benchOptions{Concurrency: 8, Argon2: "cheap"})
	if cfg.Auth.Directory != "builtin" || cfg.LocalDir.Argon2.MemoryKiB != 8 {
		t.Fatalf("builtin cheap: %q %+v", cfg.Auth.Directory, cfg.LocalDir.Argon2)
	}
	if _, err := benchConfig(t.TempDir(), benchOptions{Argon2: "fast"}); err == nil {
		t.Fatal("--argon2 fast accepted")
	}
}

func TestLDAPPlanFromConfig(t *testing.T) {
	cfg := loadBenchConfig(t, benchOptions{Concurrency: 4, LDAP: validBenchLDAP()})
	p, err := newLDAPPlan(cfg.LDAP)
	if err != nil {
		t.Fatal(err)
	}
	if p.userFilter != ldapauth.OpenLDAPUserFilter || p.groupFilter != ldapauth.OpenLDAPGroupFilter || !p.nested ||
		p.groupBaseDN != cfg.LDAP.BaseDN || p.timeLimit != 6 ||
		!slices.Equal(p.userAttrs, []string{"uid", "mail", "displayName", "mobile", "telephoneNumber"}) {
		t.Fatalf("plan %+v", p)
	}
	l := cfg.LDAP
	l.Groups.Attribute, l.Profile.Mail = "memberOf", "UID"
	if p, _ = newLDAPPlan(l); !slices.Equal(p.userAttrs, []string{"uid", "memberOf", "displayName", "mobile", "telephoneNumber"}) {
		t.Fatalf("memberOf, mail in uid: %q", p.userAttrs)
	}
	l.Type = ldapauth.KindAD
	if _, err := newLDAPPlan(l); err == nil {
		t.Fatal("an AD plan was made")
	}
}

// statsOps are the searches and binds of a slapd "stats" log, without
// their connection and operation numbers.
var statsOp = regexp.MustCompile(`conn=\d+ op=\d+ ((?:SRCH|BIND) .*)`)

func statsOps(log []byte) []string {
	var out []string
	for _, m := range statsOp.FindAllSubmatch(log, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// The ceiling must send what a login through ldapauth sends, operation by
// operation, as slapd logs them; the plain-bind ceiling one bind.
func TestLDAPCeilingIssuesTheLoginsOperations(t *testing.T) {
	s := ldaptest.StartSlapd(t, ldaptest.SlapdOptions{LoadUsers: 4, Debug: "stats"})
	l := validBenchLDAP()
	l.URL, l.CAFile, l.BindDN, l.BindPassword, l.BaseDN = s.LDAPSURL, s.CAFile, s.BindDN, s.BindPassword, s.BaseDN
	tc, err := l.tlsConfig()
	if err != nil {
		t.Fatal(err)
	}
	logSize := func() int {
		b, err := os.ReadFile(s.LogFile)
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	for _, g := range []struct {
		groups  string
		wantOps int
	}{{"default", 4}, {"flat", 3}} {
		groups, wantOps := g.groups, g.wantOps
		l.Groups = groups
		cfg := loadBenchConfig(t, benchOptions{Concurrency: 2, LDAP: l})
		plan, err := newLDAPPlan(cfg.LDAP)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ldapauth.New(ldapConfig(cfg.LDAP), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		svc, err := dialLDAP(l.URL, tc)
		if err != nil {
			t.Fatal(err)
		}
		defer svc.Close()
		if err := svc.Bind(l.BindDN, l.BindPassword); err != nil {
			t.Fatal(err)
		}
		usr, err := dialLDAP(l.URL, tc)
		if err != nil {
			t.Fatal(err)
		}
		defer usr.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// The first login of each opens (and binds) its connections.
		for _, user := range []string{"load0001", "load0002"} {
			mark := logSize()
			if _, ok, err := d.Authenticate(ctx, user, "pw-"+user); !ok || err != nil {
				t.Fatalf("%s via ldapauth: ok %v, err %v", user, ok, err)
			}
			mid := logSize()
			n, err := plan.login(svc, usr, user, "pw-"+user)
			if err != nil || n != wantOps {
				t.Fatalf("%s direct: %d operations, err %v; want %d", user, n, err, wantOps)
			}
			if user == "load0001" {
				continue
			}
			b, _ := os.ReadFile(s.LogFile)
			viaServer, direct := statsOps(b[mark:mid]), statsOps(b[mid:])
			if len(direct) == 0 || !slices.Equal(viaServer, direct) {
				t.Fatalf("groups %s: ldapauth sent\n  %s\nthe ceiling sent\n  %s", groups,
					strings.Join(viaServer, "\n  "), strings.Join(direct, "\n  "))
			}
		}
	}
	// The runs themselves, briefly: every operation succeeds.
	users := []benchUser{{Name: "load0003", Password: "pw-load0003", dn: s.UserDN("load0003")},
		{Name: "load0004", Password: "pw-load0004", dn: s.UserDN("load0004")}}
	l.Groups = "flat"
	cfg := loadBenchConfig(t, benchOptions{Concurrency: 2, LDAP: l})
	plan, _ := newLDAPPlan(cfg.LDAP)
	for _, p := range []*ldapPlan{&plan, nil} {
		r, err := runLDAPCeiling(l, p, users, 2, 200*time.Millisecond)
		if err != nil || r.Ops == 0 || r.P99 <= 0 {
			t.Fatalf("%s: %+v, err %v", r.Name, r, err)
		}
		if want := map[bool]float64{true: 3, false: 1}[p != nil]; r.LDAPOpsPerOp != want {
			t.Fatalf("%s: %.1f operations each, want %.0f", r.Name, r.LDAPOpsPerOp, want)
		}
	}
}

func TestPrintRounds(t *testing.T) {
	round := func(logins int64, ceiling int64) benchResult {
		return benchResult{Accepted: logins, Elapsed: time.Second, AcceptedPerSec: float64(logins),
			P99: 30 * time.Millisecond, ServerCPUPerLogin: 500 * time.Microsecond,
			LDAP: &benchLDAPResult{OfCeiling: float64(logins) / float64(ceiling), Ceilings: []ceilingResult{
				{Name: "search-then-bind as configured", Ops: ceiling, Elapsed: time.Second, OpsPerSec: float64(ceiling)},
				{Name: "plain bind", Ops: 8000, Elapsed: time.Second, OpsPerSec: 8000},
			}}}
	}
	var b bytes.Buffer
	printRounds(&b, []benchResult{round(1600, 2000), round(1800, 2000)})
	out := b.String()
	for _, want := range []string{"accepted logins/s: 1600, 1800 (pooled 1700)", "80%, 90%; pooled 85% (target ≥ 85%: met)",
		"direct plain bind/s: 8000, 8000 (pooled 8000)"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}
