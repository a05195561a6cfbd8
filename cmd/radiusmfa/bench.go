package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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
	fs.StringVar(&o.Argon2, "argon2", "cheap", "with --spawn: cheap (exposes the server's own overhead) or production (config defaults)")
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Second, "per-request timeout")
	fs.StringVar(&o.UsersFile, "users-file", "", "without --spawn: JSON [{\"name\",\"password\",\"secret\"}] of enrolled users")
	fs.BoolVar(&o.JSON, "json", false, "print the result as JSON")
	fs.StringVar(&o.Ops, "ops", "", "with --spawn: serve the spawned server's metrics and /debug/pprof on this address")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if o.Concurrency < 1 || o.Duration <= 0 || o.Users < 1 {
		return fmt.Errorf("--concurrency, --users and --duration must be positive")
	}
	var users []benchUser
	var serverPID int
	if o.Spawn {
		srv, err := c.spawnBenchServer(o)
		if err != nil {
			return err
		}
		defer srv.stop()
		o.Addr, o.Secret, users, serverPID = srv.addr, "testing123", srv.users, srv.pid
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
	cpu0 := processCPU(serverPID)
	res, err := runLoad(context.Background(), o, users)
	if err != nil {
		return err
	}
	if serverPID != 0 && res.Accepted > 0 {
		res.ServerCPUPerLogin = (processCPU(serverPID) - cpu0) / time.Duration(res.Accepted)
	}
	if o.JSON {
		return json.NewEncoder(c.stdout).Encode(res)
	}
	res.print(c.stdout, o)
	return nil
}

// benchServer is a server started by bench --spawn.
type benchServer struct {
	stop  func()
	addr  string
	pid   int
	users []benchUser
}

// spawnBenchServer prepares a data directory with enrolled users, starts
// this binary's serve on a free loopback port and waits until it is ready.
func (c *cli) spawnBenchServer(o benchOptions) (*benchServer, error) {
	dir, err := os.MkdirTemp("", "radiusmfa-bench-")
	if err != nil {
		return nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	argon := ""
	if o.Argon2 == "cheap" {
		argon = "localdir:\n  argon2: {time: 1, memory_kib: 8, threads: 1}\n"
	} else if o.Argon2 != "production" {
		cleanup()
		return nil, fmt.Errorf("--argon2 must be cheap or production")
	}
	cfgPath := filepath.Join(dir, "bench.yaml")
	cfg := fmt.Sprintf(`data_dir: %s
log: {level: warn}
radius:
  listen: ["127.0.0.1:0"]
  accounting_listen: []
  max_in_flight: 4096
  clients:
    - {name: bench, networks: ["127.0.0.1/32"], secret: testing123}
auth:
  lockout: {threshold: 0}
ops: {listen: "%s", pprof: %t}
%s`, dir, o.Ops, o.Ops != "", argon)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		cleanup()
		return nil, err
	}
	loaded, err := c.loadConfig(cfgPath)
	if err != nil {
		cleanup()
		return nil, err
	}
	fmt.Fprintf(c.stderr, "bench: enrolling %d users (%s argon2id)...\n", o.Users, o.Argon2)
	users, err := c.enrollBenchUsers(loaded, o.Users)
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
	return &benchServer{stop: stop, addr: addr, pid: cmd.Process.Pid, users: users}, nil
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
