package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"radiusmfa/admin"
	"radiusmfa/store"
)

// cliEnv is a configuration in a temporary data directory; commands run
// in process against it, on the database directly or, once serveSocket
// ran, through the admin socket as with a running server.
type cliEnv struct {
	cfgPath string
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`data_dir: %q
log: {level: error}
radius:
  listen: ["127.0.0.1:0"]
  clients:
    - name: vpn
      networks: ["127.0.0.1/32"]
      secret: "a-long-enough-test-secret"
localdir:
  argon2: {time: 1, memory_kib: 1024, threads: 1}
`, dir)
	path := filepath.Join(dir, "radiusmfa.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cliEnv{cfgPath: path}
}

// run runs one command with stdin and returns its exit code and output.
func (e *cliEnv) run(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, env: []string{}}
	code := c.run(append(args, "--config", e.cfgPath))
	return code, out.String(), errb.String()
}

// must runs a command that must succeed and returns its standard output.
func (e *cliEnv) must(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := e.run(stdin, args...)
	if code != 0 {
		t.Fatalf("radiusmfa %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// fails runs a command that must exit with code and mention want on stderr.
func (e *cliEnv) fails(t *testing.T, code int, want string, args ...string) {
	t.Helper()
	got, out, errOut := e.run("", args...)
	if got != code || !strings.Contains(errOut, want) {
		t.Errorf("radiusmfa %s: exit %d, stderr %q; want exit %d mentioning %q (stdout %q)",
			strings.Join(args, " "), got, errOut, code, want, out)
	}
}

// serveSocket serves the admin socket of the configuration, as serve
// does, until the test ends.
func (e *cliEnv) serveSocket(t *testing.T) {
	t.Helper()
	c := &cli{stderr: &bytes.Buffer{}, env: []string{}}
	cfg, err := c.loadConfig(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.openStore(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	o := serviceOptions(cfg, "admin-socket")
	o.Factors = serviceFactors(cfg, st)
	sock, err := admin.ListenSocket(cfg.Admin.Socket, admin.NewService(st, o), slog.New(slog.DiscardHandler))
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	go sock.Serve()
	t.Cleanup(func() {
		sock.Close()
		st.Close()
	})
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
	return v
}

// auditLines decodes `audit tail --json` output.
func auditLines(t *testing.T, s string) []store.AuditRecord {
	t.Helper()
	var out []store.AuditRecord
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, decode[store.AuditRecord](t, sc.Text()))
	}
	return out
}

func TestOperatorCommandsInProcess(t *testing.T) {
	operatorCommands(t, newCLIEnv(t), "cli uid=")
}

func TestOperatorCommandsThroughSocket(t *testing.T) {
	e := newCLIEnv(t)
	e.serveSocket(t)
	operatorCommands(t, e, "admin-socket uid=")
}

// operatorCommands runs the help-desk and admin commands; actor is how
// their audit records must name the operator (which says whether the
// socket was used).
func operatorCommands(t *testing.T, e *cliEnv, actor string) {
	e.must(t, "correct-horse\n", "user", "add", "alice")
	enr := decode[struct{ ID string }](t, e.must(t, "", "totp", "enroll", "alice", "--json"))

	deviceCommands(t, e, enr.ID)
	bypassCommand(t, e)

	out := e.must(t, "", "user", "show", "Alice")
	for _, want := range []string{"Name:", "alice", "builtin", "Devices (3):", "bypass", "authenticator app", "Recent activity:", "device.disable"} {
		if !strings.Contains(out, want) {
			t.Errorf("user show: no %q in\n%s", want, out)
		}
	}
	if d := decode[admin.UserDetail](t, e.must(t, "", "user", "show", "alice", "--json")); d.Name != "alice" || len(d.DeviceList) != 3 {
		t.Errorf("user show --json: %+v", d)
	}
	e.fails(t, 1, "not found", "user", "show", "ghost")

	roleCommands(t, e)
	mfaCommands(t, e)
	auditCommands(t, e, actor)

	_, _, errOut := e.run("", "user", "reset", "alice")
	if !strings.Contains(errOut, "--yes") || !strings.Contains(errOut, "all 3 device(s)") {
		t.Errorf("reset without --yes: %q", errOut)
	}
	if devs := decode[[]admin.Device](t, e.must(t, "", "device", "list", "alice", "--json")); len(devs) != 3 {
		t.Fatalf("reset without --yes removed devices: %+v", devs)
	}
	if out := e.must(t, "", "user", "reset", "alice", "--yes"); !strings.Contains(out, "removed 3 device(s)") {
		t.Errorf("reset: %q", out)
	}
	if devs := decode[[]admin.Device](t, e.must(t, "", "device", "list", "alice", "--json")); len(devs) != 0 {
		t.Fatalf("devices after reset: %+v", devs)
	}
	e.fails(t, 1, "not found", "user", "reset", "ghost", "--yes")
	e.fails(t, 2, "usage", "user", "reset")
	e.fails(t, 2, "unknown subcommand", "user", "frobnicate", "alice")
}

func deviceCommands(t *testing.T, e *cliEnv, id string) {
	if out := e.must(t, "", "device", "disable", "alice", id); out != "device "+id+" of alice: disabled\n" {
		t.Errorf("disable: %q", out)
	}
	if devs := decode[[]admin.Device](t, e.must(t, "", "device", "list", "alice", "--json")); len(devs) != 1 || !devs[0].Disabled {
		t.Fatalf("after disable: %+v", devs)
	}
	if out := e.must(t, "", "device", "list", "alice"); !strings.Contains(out, "disabled") || !strings.Contains(out, id) {
		t.Errorf("device list: %q", out)
	}
	e.must(t, "", "device", "enable", "alice", id)
	if devs := decode[[]admin.Device](t, e.must(t, "", "device", "list", "alice", "--json")); devs[0].Disabled {
		t.Fatalf("after enable: %+v", devs)
	}
	e.fails(t, 1, "not found", "device", "disable", "alice", "nope")
	e.fails(t, 2, "usage", "device", "disable", "alice")
	e.fails(t, 2, "unknown subcommand", "device", "frobnicate", "alice", id)
	e.fails(t, 2, "usage", "device")
}

var bypassLine = regexp.MustCompile(`Bypass code for alice: ([0-9]{8})\n`)

func bypassCommand(t *testing.T, e *cliEnv) {
	out := e.must(t, "", "bypass", "Alice")
	m := bypassLine.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "Uses:    1\n") || !strings.Contains(out, "Expires: ") ||
		!strings.Contains(out, "password,"+m[1]) {
		t.Fatalf("bypass output:\n%s", out)
	}
	start := time.Now()
	res := decode[admin.BypassResult](t, e.must(t, "", "bypass", "alice", "--uses", "3", "--ttl", "2h", "--json"))
	if len(res.Code) != 8 || res.Uses != 3 || res.ExpiresAt.Before(start.Add(2*time.Hour-time.Minute)) ||
		res.ExpiresAt.After(time.Now().Add(2*time.Hour)) {
		t.Errorf("bypass --json: %+v", res)
	}
	e.fails(t, 1, "invalid request", "bypass", "alice", "--uses", "101")
	e.fails(t, 1, "invalid request", "bypass", "alice", "--ttl", "10s")
	e.fails(t, 2, "invalid value", "bypass", "alice", "--ttl", "soon")
	e.fails(t, 2, "usage", "bypass")
	e.fails(t, 1, "not found", "bypass", "ghost")
}

func roleCommands(t *testing.T, e *cliEnv) {
	for _, tc := range []struct{ args, want string }{
		{"alice helpdesk", "user alice: roles helpdesk\n"},
		{"alice", "user alice: roles helpdesk\n"},
		{"alice admin helpdesk admin", "user alice: roles admin,helpdesk\n"},
		{"alice none", "user alice: roles none\n"},
	} {
		if out := e.must(t, "", append([]string{"user", "roles"}, strings.Fields(tc.args)...)...); out != tc.want {
			t.Errorf("user roles %s: %q, want %q", tc.args, out, tc.want)
		}
	}
	e.fails(t, 1, "unknown role", "user", "roles", "alice", "root")
	e.fails(t, 2, "usage", "user", "roles", "alice", "none", "admin")
	e.fails(t, 2, "usage", "user", "roles")
	e.fails(t, 1, "not found", "user", "roles", "ghost", "admin")
}

func mfaCommands(t *testing.T, e *cliEnv) {
	if out := e.must(t, "", "mfa", "show"); !strings.Contains(out, "Mode:     default (auth.enforcement: off)") ||
		!strings.Contains(out, "Methods:  all") {
		t.Errorf("mfa show, nothing set:\n%s", out)
	}
	show := func() store.Settings { return decode[store.Settings](t, e.must(t, "", "mfa", "show", "--json")) }
	e.must(t, "", "mfa", "set", "--mode", "required", "--group", "vpn-admins=required", "--group", "contractors=off",
		"--client", "vpn=optional", "--deadline", "2030-01-02T03:04:05+01:00", "--methods", "totp, backup")
	want := store.Enforcement{Mode: "required", Groups: map[string]string{"vpn-admins": "required", "contractors": "off"},
		Clients: map[string]string{"vpn": "optional"}, Deadline: time.Date(2030, 1, 2, 2, 4, 5, 0, time.UTC),
		Methods: []string{"backup", "totp"}}
	if s := show(); !reflect.DeepEqual(s.Enforcement, want) || s.UpdatedBy == "" || s.UpdatedAt.IsZero() {
		t.Fatalf("after mfa set:\n%+v\nwant\n%+v", s, want)
	}
	out := e.must(t, "", "mfa", "show")
	for _, w := range []string{"Mode:     required", "Groups:   contractors=off, vpn-admins=required", "Clients:  vpn=optional",
		"Methods:  backup,totp", "Changed:  "} {
		if !strings.Contains(out, w) {
			t.Errorf("mfa show: no %q in\n%s", w, out)
		}
	}
	// What no flag names is kept; NAME=none removes one entry.
	e.must(t, "", "mfa", "set", "--group", "contractors=none", "--deadline", "none", "--methods", "all")
	want = store.Enforcement{Mode: "required", Groups: map[string]string{"vpn-admins": "required"},
		Clients: map[string]string{"vpn": "optional"}}
	if s := show(); !reflect.DeepEqual(s.Enforcement, want) {
		t.Fatalf("after merging:\n%+v\nwant\n%+v", s.Enforcement, want)
	}
	e.must(t, "", "mfa", "set", "--mode", "default", "--client", "vpn=none")
	if s := show(); s.Enforcement.Mode != "" || s.Enforcement.Clients != nil || len(s.Enforcement.Groups) != 1 {
		t.Fatalf("after --mode default: %+v", s.Enforcement)
	}
	before := show()
	e.fails(t, 1, "invalid request", "mfa", "set", "--mode", "strict")
	e.fails(t, 1, "unknown method", "mfa", "set", "--methods", "sms")
	e.fails(t, 1, "invalid request", "mfa", "set", "--group", "vpn=sometimes")
	e.fails(t, 2, "NAME=MODE", "mfa", "set", "--group", "novalue")
	e.fails(t, 2, "deadline", "mfa", "set", "--deadline", "tomorrow")
	e.fails(t, 2, "usage", "mfa", "set")
	e.fails(t, 2, "usage", "mfa")
	if after := show(); !reflect.DeepEqual(after, before) {
		t.Fatalf("refused changes were stored: %+v", after)
	}
}

func auditCommands(t *testing.T, e *cliEnv, actor string) {
	recs := auditLines(t, e.must(t, "", "audit", "tail", "--user", "ALICE", "--kind", "admin", "-n", "3", "--json"))
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	for i, r := range recs {
		if r.User != "alice" || r.Kind != "admin" || !strings.HasPrefix(r.Client, actor) || (i > 0 && r.Seq <= recs[i-1].Seq) {
			t.Errorf("record %d: %+v; want alice's admin records by %q..., oldest first", i, r, actor)
		}
	}
	if recs[2].Detail != "user.roles " {
		t.Errorf("newest of alice's admin records: %q, want the roles cleared", recs[2].Detail)
	}
	if recs := auditLines(t, e.must(t, "", "audit", "tail", "--outcome", "ok", "--since", "1h", "-n", "1000", "--json")); len(recs) < 10 {
		t.Errorf("--outcome ok --since 1h: %d records", len(recs))
	} else {
		for _, r := range recs {
			if r.Outcome != "ok" {
				t.Errorf("--outcome ok: %+v", r)
			}
		}
	}
	if out := e.must(t, "", "audit", "tail", "--since", "2999-01-01T00:00:00Z"); out != "" {
		t.Errorf("records from the future: %q", out)
	}
	if out := e.must(t, "", "audit", "tail", "-n", "2"); strings.Count(out, "\n") != 2 {
		t.Errorf("audit tail -n 2: %q", out)
	}
	if out := e.must(t, "", "audit", "tail", "--kind", "admin", "-n", "1"); !strings.Contains(out, `detail="`) {
		t.Errorf("audit tail --kind admin: %q", out)
	}
	e.fails(t, 2, "--since", "audit", "tail", "--since", "yesterday")
	e.fails(t, 2, "usage", "audit")
}
