package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"

	"radiusmfa/config"
)

// asMainEnv makes this test binary run as radiusmfa itself: bench --spawn
// starts os.Executable() serve, which in a test is the test binary. (Not
// RADIUSMFA_*: the configuration refuses unknown variables of its own.)
const asMainEnv = "TEST_BINARY_RUNS_RADIUSMFA"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
	}
	os.Setenv(asMainEnv, "1") // for the servers the tests spawn
	os.Exit(m.Run())
}

// runBench runs bench with args in process and decodes its JSON result.
func runBench(t *testing.T, res any, args ...string) {
	t.Helper()
	var out, errs bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errs, env: os.Environ()}
	if code := c.run(append([]string{"bench", "--spawn", "--json"}, args...)); code != 0 {
		t.Fatalf("bench %s: exit %d\n%s%s", strings.Join(args, " "), code, errs.String(), out.String())
	}
	if err := json.Unmarshal(out.Bytes(), res); err != nil {
		t.Fatalf("bench output %q: %v\n%s", out.String(), err, errs.String())
	}
}

// A tiny pending run: 20 pushes held on 7 phones while TOTP logins run
// beside them; each ends by push timeout, none accepted.
func TestPushBenchPending(t *testing.T) {
	t.Parallel()
	var r pushPendingResult
	runBench(t, &r, "--push", "pending", "--push-pending", "20", "--push-timeout", "5s",
		"--users", "3000", "--concurrency", "2", "--duration", "300ms")
	if r.Approvers != 7 || r.PushesDelivered != 20 || r.Held != 20 {
		t.Errorf("%d phones, %d pushes delivered, %.0f held; want 7, 20, 20", r.Approvers, r.PushesDelivered, r.Held)
	}
	if r.HeldRejected != 20 || r.HeldAccepted != 0 || r.HeldUnanswered != 0 || r.HeldFirstEnd < 5*time.Second {
		t.Errorf("held requests: %d rejected, %d accepted, %d unanswered, first ended after %s; want 20 rejected at 5s",
			r.HeldRejected, r.HeldAccepted, r.HeldUnanswered, r.HeldFirstEnd)
	}
	for _, l := range []benchResult{r.Idle, r.Loaded, r.After} {
		// A code may rarely be refused as the server's clock crosses a step.
		if l.Accepted == 0 || l.Timeouts != 0 || l.Rejected > l.Sent/100 || l.P99 <= 0 {
			t.Errorf("TOTP load: %+v", l)
		}
	}
	if r.MemIdle.RSS <= 0 || r.MemPending.RSS <= 0 || r.RSSPeak < r.MemPending.RSS || r.P99Ratio <= 0 ||
		r.MemPending.Anon <= 0 || r.MemPending.Anon+r.MemPending.File > r.MemPending.RSS {
		t.Errorf("memory %v, %v, peak %d; p99 ratio %.2f", r.MemIdle, r.MemPending, r.RSSPeak, r.P99Ratio)
	}
}

// A tiny logins run: 6 phones approve every push until each had the 5 the
// hub allows in its window.
func TestPushBenchLogins(t *testing.T) {
	t.Parallel()
	var r pushLoginsResult
	runBench(t, &r, "--push", "logins", "--push-users", "6", "--concurrency", "3", "--duration", "10s")
	if r.Sent != 30 || r.Accepted != 30 || r.Rejected != 0 || r.Timeouts != 0 || !r.UsersSpent {
		t.Errorf("sent %d: accepted %d, rejected %d, timeouts %d, spent %v; want 30 accepted, spent", r.Sent, r.Accepted,
			r.Rejected, r.Timeouts, r.UsersSpent)
	}
	if r.PushesDelivered != 30 || r.Answered != 30 || r.P99 <= 0 || r.ServerCPUPerLogin <= 0 {
		t.Errorf("%d pushes, %d answers, p99 %s, server CPU %s", r.PushesDelivered, r.Answered, r.P99, r.ServerCPUPerLogin)
	}
	if r.Elapsed > 5*time.Second {
		t.Errorf("the run went on for %s after the approvers were spent", r.Elapsed)
	}
}

func TestPushBenchConfig(t *testing.T) {
	o := benchOptions{Spawn: true, Rounds: 1, Concurrency: 8, Duration: 10 * time.Second, Argon2: "cheap",
		Push: benchPush{Mode: pushModePending, Pending: 10000}}
	if err := o.Push.check(o); err != nil {
		t.Fatal(err)
	}
	cfg := loadBenchConfig(t, o)
	cl := cfg.Radius.Clients[0]
	if cfg.Auth.Mode() != "required" || !cfg.Push.Enabled || !cfg.Push.AllowLoopbackHTTPEndpoints ||
		cfg.Web.Listen != "127.0.0.1:0" || cfg.Ops.Listen != "127.0.0.1:0" || cfg.Radius.MaxInFlight != 4096 ||
		cl.PushTimeout != 80*time.Second || cl.RequestTimeout <= cl.PushTimeout || cfg.LocalDir.Argon2.MemoryKiB != 8 {
		t.Fatalf("config: mode %s, push %+v, web %q, ops %q, max_in_flight %d, client %+v, argon2 %+v", cfg.Auth.Mode(),
			cfg.Push, cfg.Web.Listen, cfg.Ops.Listen, cfg.Radius.MaxInFlight, cl, cfg.LocalDir.Argon2)
	}
	if n := o.Push.approvers(o); n != 3334 {
		t.Errorf("%d approvers for 10000 pending, want 3334", n)
	}
	o.Push.Mode = pushModeLogins
	if cfg = loadBenchConfig(t, o); cfg.Radius.Clients[0].PushTimeout != config.DefaultPushTimeout {
		t.Errorf("logins: push_timeout %s", cfg.Radius.Clients[0].PushTimeout)
	}
	if n := o.Push.approvers(o); n != 10000 {
		t.Errorf("%d approvers for 10 s of logins, want 10000", n)
	}
	for _, tc := range []struct {
		edit func(*benchOptions)
		want string
	}{
		{func(o *benchOptions) { o.Push.Mode = "held" }, "--push"},
		{func(o *benchOptions) { o.Spawn = false }, "--spawn"},
		{func(o *benchOptions) { o.Push.Timeout = time.Second }, "--push-timeout"},
		{func(o *benchOptions) { o.Push.Pending = 20001 }, "--push-pending"},
		{func(o *benchOptions) { o.Push.Users = 10 }, "--push-users"},
		{func(o *benchOptions) { o.LDAP.URL = "ldaps://127.0.0.1" }, "built-in directory"},
	} {
		o := benchOptions{Spawn: true, Rounds: 1, Concurrency: 8, Duration: time.Second,
			Push: benchPush{Mode: pushModePending, Pending: 100}}
		tc.edit(&o)
		if err := o.Push.check(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one naming %s", err, tc.want)
		}
	}
}

// The plain TOTP run measures logins whose codes are checked: its server
// requires MFA, and the bench refuses to run against one that accepts a
// wrong code.
func TestBenchRequiresCodes(t *testing.T) {
	t.Parallel()
	cfg := loadBenchConfig(t, benchOptions{Spawn: true, Rounds: 1, Concurrency: 2, Duration: time.Second, Argon2: "cheap"})
	if cfg.Auth.Mode() != "required" {
		t.Fatalf("bench server MFA mode %s, want required", cfg.Auth.Mode())
	}
	var r benchResult
	runBench(t, &r, "--users", "20", "--concurrency", "2", "--duration", "500ms")
	if r.Accepted == 0 || r.Rejected > r.Sent/100 {
		t.Errorf("TOTP run: %+v", r)
	}

	// A server that lets the password alone in is refused.
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		buf := make([]byte, 4096)
		n, from, err := ln.ReadFrom(buf)
		if err != nil || n < 20 {
			return
		}
		buf[0] = byte(radius.CodeAccessAccept)
		_, _ = ln.WriteTo(buf[:20], from)
	}()
	err = checkCodesMatter(ln.LocalAddr().String(), "testing123", benchUser{Name: "u", Password: "p", Secret: "GEZDGNBVGY3TQOJQ"}, 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "not Access-Reject") {
		t.Errorf("a server accepting a wrong code: %v", err)
	}
}
