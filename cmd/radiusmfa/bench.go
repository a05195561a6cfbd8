package main

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"layeh.com/radius"

	"radiusmfa/config"
)

// benchOptions are the load generator's settings.
type benchOptions struct {
	Addr        string
	Secret      string
	Spawn       bool
	Users       int
	Concurrency int
	Duration    time.Duration
	Argon2      string // cheap or production (spawn only)
	Timeout     time.Duration
	UsersFile   string // JSON list of {name,password,secret} (target mode)
	JSON        bool
	Ops         string // with --spawn: the server's ops listener, with pprof
	Rounds      int
	LDAP        benchLDAP
	Push        benchPush
}

func (c *cli) bench(args []string) error {
	fs, _ := c.flags("bench")
	var o benchOptions
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:1812", "server to load (ignored with --spawn)")
	fs.StringVar(&o.Secret, "secret", "testing123", "RADIUS shared secret (ignored with --spawn)")
	fs.BoolVar(&o.Spawn, "spawn", false, "start a server in a temporary directory, enroll --users, load it, stop it")
	fs.IntVar(&o.Users, "users", 2000, "users to enroll with --spawn (each takes at most 3 logins per 30 s step)")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "requests outstanding at once")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to send")
	fs.StringVar(&o.Argon2, "argon2", "cheap", "with --spawn: cheap (exposes the server's own overhead) or production (config defaults); unused with --ldap-url")
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Second, "per-request timeout")
	fs.StringVar(&o.UsersFile, "users-file", "", "without --spawn: JSON [{\"name\",\"password\",\"secret\"}] of enrolled users")
	fs.BoolVar(&o.JSON, "json", false, "print the result as JSON")
	fs.StringVar(&o.Ops, "ops", "", "with --spawn: serve the spawned server's metrics and /debug/pprof on this address")
	fs.IntVar(&o.Rounds, "rounds", 1, "load the server this many times (with --ldap-url, each followed by the ceilings) and summarise")
	o.LDAP.register(fs)
	o.Push.register(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if o.Concurrency < 1 || o.Duration <= 0 || o.Users < 1 || o.Rounds < 1 {
		return fmt.Errorf("--concurrency, --users, --duration and --rounds must be positive")
	}
	if o.LDAP.enabled() {
		if err := o.LDAP.check(o); err != nil {
			return err
		}
	}
	if o.Push.enabled() {
		return c.benchPush(o)
	}
	var users []benchUser
	var serverPID int
	var srv *benchServer
	if o.Spawn {
		var err error
		if srv, err = c.spawnBenchServer(o); err != nil {
			return err
		}
		defer srv.stop()
		o.Addr, o.Secret, users, serverPID = srv.addr, "testing123", srv.users, srv.pid
		if err := checkCodesMatter(o.Addr, o.Secret, users[0], o.Timeout); err != nil {
			return err
		}
	} else {
		if o.UsersFile == "" {
			return errors.New("--users-file is required without --spawn")
		}
		b, err := os.ReadFile(o.UsersFile)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &users); err != nil {
			return fmt.Errorf("%s: %w", o.UsersFile, err)
		}
	}
	if o.LDAP.enabled() {
		// The ceilings open their connections before their clocks start;
		// so does the server, through logins that are not counted.
		warm := o
		warm.Duration = min(2*time.Second, o.Duration)
		fmt.Fprintf(c.stderr, "bench: warming up for %s (the server opens its LDAP connections)...\n", warm.Duration)
		if _, err := runLoad(context.Background(), warm, users); err != nil {
			return err
		}
	}
	var rounds []benchResult
	for r := 1; r <= o.Rounds; r++ {
		if o.Rounds > 1 {
			fmt.Fprintf(c.stderr, "bench: round %d of %d...\n", r, o.Rounds)
		}
		res, err := c.benchRound(o, srv, users, serverPID)
		if err != nil {
			return err
		}
		rounds = append(rounds, res)
		if o.Rounds > 1 && !o.JSON {
			fmt.Fprintf(c.stdout, "--- round %d of %d\n", r, o.Rounds)
			res.print(c.stdout, o)
		}
	}
	switch {
	case o.JSON && o.Rounds == 1:
		return json.NewEncoder(c.stdout).Encode(rounds[0])
	case o.JSON:
		return json.NewEncoder(c.stdout).Encode(rounds)
	case o.Rounds == 1:
		rounds[0].print(c.stdout, o)
	default:
		printRounds(c.stdout, rounds)
	}
	return nil
}

// benchRound loads the server for --duration and, in an LDAP-backed run,
// then measures the direct ceilings, so that a run of several rounds
// interleaves the two and a host that speeds up or slows down between
// them shows in every round alike.
func (c *cli) benchRound(o benchOptions, srv *benchServer, users []benchUser, serverPID int) (benchResult, error) {
	cpuServer, cpuDir, cpuSelf := processCPU(serverPID), processCPU(o.LDAP.SlapdPID), processCPU(os.Getpid())
	res, err := runLoad(context.Background(), o, users)
	if err != nil {
		return res, err
	}
	perLogin := func(d time.Duration) time.Duration { return d / time.Duration(max(res.Accepted, 1)) }
	if serverPID != 0 {
		res.ServerCPUPerLogin = perLogin(processCPU(serverPID) - cpuServer)
	}
	if !o.LDAP.enabled() {
		return res, nil
	}
	res.LDAP = &benchLDAPResult{URL: o.LDAP.URL, Groups: o.LDAP.Groups, PoolSize: srv.cfg.LDAP.PoolSize,
		GeneratorCPUPerLogin: perLogin(processCPU(os.Getpid()) - cpuSelf)}
	if o.LDAP.SlapdPID != 0 {
		res.LDAP.DirectoryCPUPerLogin = perLogin(processCPU(o.LDAP.SlapdPID) - cpuDir)
	}
	if o.LDAP.Ceiling {
		err = c.benchCeilings(o, srv.cfg, users, &res)
	}
	return res, err
}

// benchServer is a server started by bench --spawn.
type benchServer struct {
	stop  func()
	addr  string
	dir   string // data directory: server.log, web.crt
	pid   int
	users []benchUser
	cfg   *config.Config // as the server loaded it
}

// spawnBenchServer prepares a data directory with enrolled users, starts
// this binary's serve on a free loopback port and waits until it is ready.
func (c *cli) spawnBenchServer(o benchOptions) (*benchServer, error) {
	dir, err := os.MkdirTemp("", "radiusmfa-bench-")
	if err != nil {
		return nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	cfg, err := benchConfig(dir, o)
	if err != nil {
		cleanup()
		return nil, err
	}
	cfgPath := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		cleanup()
		return nil, err
	}
	loaded, err := c.loadConfig(cfgPath)
	if err != nil {
		cleanup()
		return nil, err
	}
	var users []benchUser
	if o.LDAP.enabled() {
		fmt.Fprintf(c.stderr, "bench: enrolling %d users of %s (one directory login each)...\n", o.Users, o.LDAP.URL)
		users, err = c.enrollLDAPBenchUsers(loaded, o.LDAP, o.Users)
	} else if o.Push.enabled() {
		users, err = c.enrollPushBenchUsers(loaded, o)
	} else {
		fmt.Fprintf(c.stderr, "bench: enrolling %d users (%s argon2id)...\n", o.Users, o.Argon2)
		users, err = c.enrollBenchUsers(loaded, o.Users)
	}
	if err != nil {
		cleanup()
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		cleanup()
		return nil, err
	}
	logPath := filepath.Join(dir, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		cleanup()
		return nil, err
	}
	// Decisions are logged at info, as in production, to a file.
	cmd := exec.Command(exe, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "RADIUSMFA_LOG_LEVEL=info")
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		cleanup()
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		<-exited
		logf.Close()
		cleanup()
	}
	addr, err := waitReady(logPath, exited, 60*time.Second)
	if err != nil {
		stop()
		return nil, err
	}
	return &benchServer{stop: stop, addr: addr, dir: dir, pid: cmd.Process.Pid, users: users, cfg: loaded}, nil
}

// benchConfig is the spawned server's configuration: decisions logged,
// audit on, MFA required (every accepted login checked and used up its
// code), lockout off (the generator never fails), and the built-in
// directory with the chosen hash or, with --ldap-url, the directory.
func benchConfig(dir string, o benchOptions) (string, error) {
	if o.Push.enabled() {
		return o.Push.configYAML(dir, o)
	}
	directory, section := "builtin", ""
	switch {
	case o.LDAP.enabled():
		directory, section = directoryLDAP, o.LDAP.configYAML(o.Concurrency)
	case o.Argon2 == "cheap":
		section = "localdir:\n  argon2: {time: 1, memory_kib: 8, threads: 1}\n"
	case o.Argon2 != "production":
		return "", fmt.Errorf("--argon2 must be cheap or production")
	}
	return fmt.Sprintf(`data_dir: %s
log: {level: warn}
radius:
  listen: ["127.0.0.1:0"]
  accounting_listen: []
  max_in_flight: 4096
  clients:
    - {name: bench, networks: ["127.0.0.1/32"], secret: testing123}
auth:
  directory: %s
  enforcement: required
  lockout: {threshold: 0}
ops: {listen: "%s", pprof: %t}
web: {listen: ""}
%s`, dir, directory, o.Ops, o.Ops != "", section), nil
}

// waitReady polls the server's log file for its ready line and returns the
// first RADIUS authentication address from it.
func waitReady(logPath string, exited <-chan struct{}, limit time.Duration) (string, error) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(logPath)
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.Contains(line, "radiusmfa ready") {
				continue
			}
			for _, f := range strings.Fields(line) {
				if v, ok := strings.CutPrefix(f, "auth="); ok {
					return strings.Split(strings.Trim(v, `"`), ",")[0], nil
				}
			}
		}
		select {
		case <-exited:
			return "", fmt.Errorf("bench: server exited before it was ready:\n%s", b)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return "", errors.New("bench: server not ready in time")
}

// processCPU is the user+system CPU time a process has used so far, read
// from /proc (Linux); 0 when unknown.
func processCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// checkCodesMatter sends one login with a wrong code and fails unless it
// is rejected: a server that let the password alone in (MFA off) would
// make every figure a measure of something else.
func checkCodesMatter(addr, secret string, u benchUser, timeout time.Duration) error {
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.Secret)
	if err != nil {
		return fmt.Errorf("user %s: %w", u.Name, err)
	}
	right, _ := strconv.Atoi(hotpCode(seed, uint64(time.Now().Unix()/30)))
	wrong := fmt.Sprintf("%06d", (right+500000)%1000000)
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write(newRequestEncoder([]byte(secret)).encode(1, u.Name, u.Password, wrong)); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, radius.MaxPacketLength)
	n, err := conn.Read(buf)
	switch {
	case err != nil:
		return fmt.Errorf("bench: no answer to the wrong-code check: %w", err)
	case n < 20:
		return fmt.Errorf("bench: a short reply to the wrong-code check")
	case radius.Code(buf[0]) != radius.CodeAccessReject:
		return fmt.Errorf("bench: the server answered a login with a wrong code with %v, not Access-Reject: is MFA enforced?", radius.Code(buf[0]))
	}
	return nil
}
