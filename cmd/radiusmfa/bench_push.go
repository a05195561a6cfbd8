package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"radiusmfa/auth/localdir"
	"radiusmfa/config"
	"radiusmfa/factors/push"
	"radiusmfa/store"
)

// The push modes of bench --spawn (--push).
const (
	pushModePending = "pending" // pushes held unanswered: RSS, TOTP p99 beside them
	pushModeLogins  = "logins"  // every push approved by an automated phone: logins/s
)

// The targets of the push benchmark (issue 5).
const (
	pushRSSTarget    = 256 << 20 // server RSS with the pushes pending, bytes
	pushP99Target    = 1.2       // TOTP p99 with pushes pending over the idle p99
	pushLoginsTarget = 1000      // accepted push logins per second
)

// benchPush are the settings of a push run (--push set).
type benchPush struct {
	Mode    string
	Pending int           // pushes held at once (pending)
	Users   int           // approvers to pair; 0: see approvers
	Timeout time.Duration // the client's push_timeout; 0: see timeout

	phones *benchPhones // set before the server is spawned
}

func (p *benchPush) register(fs *flag.FlagSet) {
	fs.StringVar(&p.Mode, "push", "", "with --spawn: benchmark push approval: pending (hold --push-pending unanswered pushes: server RSS, "+
		"and the p99 of TOTP logins of --users users at --concurrency for --duration, with and without them) or logins "+
		"(an automated phone approves every push: push logins/s at --concurrency for --duration)")
	fs.IntVar(&p.Pending, "push-pending", 10000, "with --push pending: pushes held at once")
	fs.IntVar(&p.Users, "push-users", 0, "approvers (phones) to pair, each one user's; 0: --push-pending/3 for pending, "+
		"1,000 per second of --duration for logins (a user may get 5 pushes in 10 minutes)")
	fs.DurationVar(&p.Timeout, "push-timeout", 0, "the client's push_timeout, 5s to 5m; 0: 60s + 2 × --duration for pending (the held "+
		"requests end by it), the server's default for logins")
}

func (p benchPush) enabled() bool { return p.Mode != "" }

// approvers is how many phones the run pairs.
func (p benchPush) approvers(o benchOptions) int {
	switch {
	case p.Users > 0:
		return p.Users
	case p.Mode == pushModePending:
		return (p.Pending + push.DefaultMaxPerUser - 1) / push.DefaultMaxPerUser
	}
	return max(o.Concurrency, int(1000*o.Duration.Seconds()))
}

// timeout is the client's push_timeout for the run.
func (p benchPush) timeout(o benchOptions) time.Duration {
	switch {
	case p.Timeout > 0:
		return p.Timeout
	case p.Mode == pushModePending:
		return min(60*time.Second+2*o.Duration, 5*time.Minute)
	}
	return config.DefaultPushTimeout
}

// check validates a push run's settings against the hub's limits, which
// the spawned server keeps at their defaults.
func (p benchPush) check(o benchOptions) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("bench: "+format, a...)) }
	if p.Mode != pushModePending && p.Mode != pushModeLogins {
		bad("--push %q: want pending or logins", p.Mode)
	}
	if !o.Spawn {
		bad("--push needs --spawn (the server is configured for push)")
	}
	if o.LDAP.enabled() || o.Rounds != 1 {
		bad("--push runs with the built-in directory and one round")
	}
	if p.Users < 0 || p.Timeout < 0 {
		bad("--push-users and --push-timeout must not be negative")
	}
	if t := p.timeout(o); t < 5*time.Second || t > 5*time.Minute {
		bad("--push-timeout %s: the server takes 5s to 5m", t)
	}
	if p.Mode == pushModePending {
		if p.Pending < 1 || p.Pending > push.DefaultMax {
			bad("--push-pending %d: from 1 to the hub's %d", p.Pending, push.DefaultMax)
		}
		if n := p.approvers(o); p.Pending > n*push.DefaultMaxPerUser {
			bad("--push-pending %d needs at least %d --push-users (%d pending per user at most)",
				p.Pending, (p.Pending+push.DefaultMaxPerUser-1)/push.DefaultMaxPerUser, push.DefaultMaxPerUser)
		}
	}
	return errors.Join(errs...)
}

// configYAML is the spawned server of a push run: the built-in directory,
// MFA required (so "password,push" must be approved and a code checked),
// the site on a free loopback port, push to the bench's plain-http push
// service on loopback, and room in flight for every held request.
func (p benchPush) configYAML(dir string, o benchOptions) (string, error) {
	argon := ""
	switch o.Argon2 {
	case "cheap":
		argon = "localdir:\n  argon2: {time: 1, memory_kib: 8, threads: 1}\n"
	case "production":
	default:
		return "", fmt.Errorf("--argon2 must be cheap or production")
	}
	ops := o.Ops
	if ops == "" {
		ops = "127.0.0.1:0" // the bench reads the held-requests gauge
	}
	// Held pushes take no in-flight slot: the usual bound serves.
	const maxInFlight = 4096
	return fmt.Sprintf(`data_dir: %s
log: {level: warn}
radius:
  listen: ["127.0.0.1:0"]
  accounting_listen: []
  max_in_flight: %d
  clients:
    - {name: bench, networks: ["127.0.0.1/32"], secret: testing123, push_timeout: %s}
auth:
  directory: builtin
  enforcement: required
  lockout: {threshold: 0}
push: {enabled: true, allow_loopback_http_endpoints: true}
ops: {listen: "%s", pprof: %t}
web: {listen: "127.0.0.1:0"}
%s`, dir, maxInFlight, p.timeout(o), ops, o.Ops != "", argon), nil
}

// pushUserName names approver i's user.
func pushUserName(i int) string { return fmt.Sprintf("push%06d", i) }

// enrollPushBenchUsers enrolls, straight into the store, the TOTP users of
// a pending run (returned) and one user per phone with the phone paired:
// its signing key and its subscription at the bench's push service.
func (c *cli) enrollPushBenchUsers(cfg *config.Config, o benchOptions) ([]benchUser, error) {
	var users []benchUser
	if o.Push.Mode == pushModePending {
		fmt.Fprintf(c.stderr, "bench: enrolling %d TOTP users (%s argon2id)...\n", o.Users, o.Argon2)
		var err error
		if users, err = c.enrollBenchUsers(cfg, o.Users); err != nil {
			return nil, err
		}
	}
	ps := o.Push.phones
	fmt.Fprintf(c.stderr, "bench: pairing %d approvers with the push service at %s...\n", len(ps.phones), ps.origin)
	st, err := c.openStoreBulk(cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	a := cfg.LocalDir.Argon2
	hash, err := localdir.HashPassword(benchPushPassword, localdir.Params{Time: a.Time, MemoryKiB: a.MemoryKiB, Threads: a.Threads}, nil)
	if err != nil {
		return nil, err
	}
	ctx, now := context.Background(), time.Now()
	var (
		wg   sync.WaitGroup
		once sync.Once
		fail error
	)
	sem := make(chan struct{}, 64)
	for i := range ps.phones {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ph := &ps.phones[i]
			err := st.CreateUser(ctx, store.User{Name: ph.user, PasswordHash: hash})
			if err == nil {
				var en store.Enrollment
				en, err = push.NewEnrollment(ph.user, "bench phone", &ph.sign.PublicKey, ps.subscription(i), now)
				if err == nil {
					err = st.AddEnrollment(ctx, en)
				}
			}
			if err != nil {
				once.Do(func() { fail = err })
			}
		}()
	}
	wg.Wait()
	if fail != nil {
		return nil, fail
	}
	return users, st.Sync()
}

// benchPushPassword is the password of every approver's user.
const benchPushPassword = "bench-password"

// benchPush runs a push benchmark: the phones and their push service
// first (the subscriptions name it), then the server, then the mode's run.
func (c *cli) benchPush(o benchOptions) error {
	if err := o.Push.check(o); err != nil {
		return err
	}
	ps, err := newBenchPhones(o.Push.approvers(o), pushUserName, o.Push.Mode == pushModeLogins)
	if err != nil {
		return err
	}
	defer ps.close()
	o.Push.phones = ps
	srv, err := c.spawnBenchServer(o)
	if err != nil {
		return err
	}
	defer srv.stop()
	o.Addr, o.Secret = srv.addr, "testing123"
	logPath := filepath.Join(srv.dir, "server.log")
	if err := ps.connectSite(readyValue(logPath, "web"), filepath.Join(srv.dir, "web.crt"), 2*o.Concurrency); err != nil {
		return err
	}
	var res pushReport
	if o.Push.Mode == pushModePending {
		r, err := c.benchPushPending(o, srv, readyValue(logPath, "ops"))
		if err != nil {
			return err
		}
		res = r
	} else {
		r, err := c.benchPushLogins(o, srv)
		if err != nil {
			return err
		}
		res = r
	}
	if o.JSON {
		return json.NewEncoder(c.stdout).Encode(res)
	}
	res.print(c.stdout)
	return nil
}

// pushReport is the result of a push run: printed, or encoded with --json.
type pushReport interface{ print(io.Writer) }

// readyValue is the value of key= in the server's ready line ("" if none).
func readyValue(logPath, key string) string {
	b, _ := os.ReadFile(logPath)
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, "radiusmfa ready") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, key+"="); ok {
				return strings.Trim(v, `"`)
			}
		}
	}
	return ""
}

// targetVerdict says whether a target is met.
func targetVerdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
