package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	testSecret   = "testing123"
	readyTimeout = 15 * time.Second
	stopTimeout  = 20 * time.Second // above the server's 15 s shutdown grace
	cliTimeout   = 30 * time.Second
)

// serverOpts shape the configuration startServer writes. The zero value is a
// fast IPv4 server whose one client requires Message-Authenticator.
type serverOpts struct {
	// Listen and AcctListen default to 127.0.0.1:0; the bound ports are read
	// from the ready line.
	Listen, AcctListen string
	// RequireMA is the client's require_message_authenticator, default "true".
	RequireMA string
	// SlowHash uses argon2id with 64 MiB (50–150 ms per hash on two shared
	// cores) instead of the cheapest allowed parameters, so that requests
	// are still being decided when a test acts.
	SlowHash bool
	// MaxConcurrentHashes is localdir.max_concurrent_hashes (0: server default).
	MaxConcurrentHashes int
	// Directory is auth.directory ("": builtin); Extra is YAML appended to
	// the file (the ldap, policy and policies sections).
	Directory string
	Extra     string
	// ClientPolicy names the entry of policies (in Extra) the client uses.
	ClientPolicy string
	// Web is YAML lines added to the web section (indented two spaces).
	Web string
	// Challenge is the client's challenge mode ("": the default, auto);
	// MoreClients are YAML items added to radius.clients (indented four
	// spaces); Auth is lines added to the auth section (two spaces).
	Challenge   string
	MoreClients string
	Auth        string
	// Enforcement is auth.enforcement (default "required", what most tests assume).
	Enforcement string
}

// server is one radiusmfa serve process and its data directory, which
// survives restarts.
type server struct {
	opts    serverOpts
	cfgPath string
	dataDir string
	logs    *logBuffer
	dumped  atomic.Bool // the log was attached to a failure already

	mu   sync.Mutex // guards the fields below, replaced on each start
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has exited
	err  error         // cmd.Wait's result, valid after done
	addr readyAddrs
}

// readyAddrs are the addresses from the "radiusmfa ready" log line.
type readyAddrs struct {
	Auth       []string
	Accounting []string
	Ops        string
	Web        string // the enrollment site's URL
}

// startServer writes a configuration and starts a server, stopped when t ends.
// If t fails, the server's log is attached.
func startServer(t *testing.T, opts serverOpts) *server {
	t.Helper()
	// Unix socket paths are limited to 108 bytes, which t.TempDir's names
	// (built from the test name) can exceed, so the data directory is short.
	dataDir, err := os.MkdirTemp("", "rmfa-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dataDir) })
	s := &server{opts: opts, dataDir: dataDir, logs: &logBuffer{},
		cfgPath: filepath.Join(t.TempDir(), "radiusmfa.yaml")}
	if err := os.WriteFile(s.cfgPath, []byte(s.configYAML()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.running() {
			if code := s.stop(t); code != 0 {
				t.Errorf("server exited with status %d at the end of the test", code)
			}
		}
		if t.Failed() && !s.dumped.Load() {
			t.Logf("--- server log (%s) ---\n%s", s.cfgPath, s.logs.String())
		}
	})
	s.start(t)
	return s
}

// configYAML renders the server configuration.
func (s *server) configYAML() string {
	o := s.opts
	listen := or(o.Listen, "127.0.0.1:0")
	acct := or(o.AcctListen, "127.0.0.1:0")
	argon := "{time: 1, memory_kib: 1024, threads: 1}"
	if o.SlowHash {
		argon = "{time: 1, memory_kib: 65536, threads: 1}"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\n", s.dataDir)
	b.WriteString("log:\n  level: info\n  format: json\n")
	b.WriteString("radius:\n")
	fmt.Fprintf(&b, "  listen: [%q]\n  accounting_listen: [%q]\n", listen, acct)
	b.WriteString("  clients:\n    - name: localhost\n")
	b.WriteString("      networks: [\"127.0.0.1/32\", \"::1/128\"]\n")
	fmt.Fprintf(&b, "      secret: %q\n", testSecret)
	fmt.Fprintf(&b, "      require_message_authenticator: %q\n", or(o.RequireMA, "true"))
	if o.ClientPolicy != "" {
		fmt.Fprintf(&b, "      policy: %q\n", o.ClientPolicy)
	}
	if o.Challenge != "" {
		fmt.Fprintf(&b, "      challenge: %q\n", o.Challenge)
	}
	b.WriteString(o.MoreClients)
	b.WriteString("auth:\n  lockout:\n    threshold: 3\n    duration: 0s\n")
	fmt.Fprintf(&b, "  enforcement: %q\n", or(o.Enforcement, "required"))
	b.WriteString(o.Auth)
	if o.Directory != "" {
		fmt.Fprintf(&b, "  directory: %q\n", o.Directory)
	}
	fmt.Fprintf(&b, "localdir:\n  argon2: %s\n", argon)
	if o.MaxConcurrentHashes > 0 {
		fmt.Fprintf(&b, "  max_concurrent_hashes: %d\n", o.MaxConcurrentHashes)
	}
	b.WriteString("ops:\n  listen: \"127.0.0.1:0\"\n")
	b.WriteString("web:\n  listen: \"127.0.0.1:0\"\n")
	b.WriteString(o.Web)
	b.WriteString(o.Extra)
	return b.String()
}

// start runs `radiusmfa serve` and waits for its ready line.
func (s *server) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(binPath, "serve", "--config", s.cfgPath)
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = s.logs
	ready := make(chan readyAddrs, 1)
	s.logs.mark(fmt.Sprintf("=== start %s", time.Now().Format(time.TimeOnly)))
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", binPath, err)
	}
	done := make(chan struct{})
	scanned := make(chan struct{})
	go s.scanLogs(stderr, ready, scanned)
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	go func() {
		<-scanned // Wait closes the pipe: read it to the end first
		err := cmd.Wait()
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(done)
	}()
	select {
	case a := <-ready:
		s.mu.Lock()
		s.addr = a
		s.mu.Unlock()
	case <-done:
		s.fatalf(t, "server exited before it was ready: %v", s.exitErr())
	case <-time.After(readyTimeout):
		_ = cmd.Process.Kill()
		<-done
		s.fatalf(t, "server not ready after %s", readyTimeout)
	}
}

// scanLogs copies the server's stderr into the log buffer and reports the
// addresses of the first ready line.
func (s *server) scanLogs(r io.Reader, ready chan<- readyAddrs, scanned chan<- struct{}) {
	defer close(scanned)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		s.logs.mark(line)
		if sent {
			continue
		}
		var l struct {
			Msg        string `json:"msg"`
			Auth       string `json:"auth"`
			Accounting string `json:"accounting"`
			Ops        string `json:"ops"`
			Web        string `json:"web"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "radiusmfa ready" {
			ready <- readyAddrs{Auth: splitList(l.Auth), Accounting: splitList(l.Accounting), Ops: l.Ops, Web: l.Web}
			sent = true
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// restart stops the server gracefully and starts it again on the same data
// directory (new ports when the configuration asks for port 0).
func (s *server) restart(t *testing.T) {
	t.Helper()
	if code := s.stop(t); code != 0 {
		s.fatalf(t, "server exited with status %d on SIGTERM", code)
	}
	s.start(t)
}

// stop sends SIGTERM and returns the exit status.
func (s *server) stop(t *testing.T) int {
	t.Helper()
	s.signal(t, syscall.SIGTERM)
	return s.wait(t, stopTimeout)
}

// kill sends SIGKILL and waits for the process to go.
func (s *server) kill(t *testing.T) {
	t.Helper()
	s.signal(t, syscall.SIGKILL)
	s.wait(t, stopTimeout)
}

func (s *server) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.fatalf(t, "signal %v: %v", sig, err)
	}
}

// wait waits up to d for the process to exit and returns its status; on a
// timeout it kills the process and fails t.
func (s *server) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	select {
	case <-done:
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		s.fatalf(t, "server still running %s after the signal; killed", d)
	}
	return cmd.ProcessState.ExitCode()
}

func (s *server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

func (s *server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// authAddr and acctAddr are the first bound RADIUS addresses.
func (s *server) authAddr(t *testing.T) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.addr.Auth) == 0 {
		s.fatalf(t, "the ready line named no authentication address")
	}
	return s.addr.Auth[0]
}

func (s *server) acctAddr(t *testing.T) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.addr.Accounting) == 0 {
		s.fatalf(t, "the ready line named no accounting address")
	}
	return s.addr.Accounting[0]
}

// fatalf fails t with the message and the whole server log.
func (s *server) fatalf(t *testing.T, format string, args ...any) {
	t.Helper()
	s.dumped.Store(true)
	t.Fatalf("%s\n--- server log (%s) ---\n%s", fmt.Sprintf(format, args...), s.cfgPath, s.logs.String())
}

// cliResult is the outcome of one radiusmfa subcommand.
type cliResult struct {
	Stdout, Stderr string
	Code           int
}

// cli runs `radiusmfa ARGS --config F` with stdin; while the server runs,
// the command reaches it over the admin socket.
func (s *server) cli(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	return runBinary(t, stdin, append(args, "--config", s.cfgPath)...)
}

// mustCLI is cli that fails t, with the server log, unless the command exits 0.
func (s *server) mustCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := s.cli(t, stdin, args...)
	if r.Code != 0 {
		s.fatalf(t, "radiusmfa %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// logBuffer collects a server's output across restarts; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) mark(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.WriteString(line)
	l.buf.WriteByte('\n')
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// poll checks cond every 50 ms for up to 5 s and fails t, with the server
// log, if it never holds.
func poll(t *testing.T, s *server, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.fatalf(t, "timed out after 5 s waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// firstClientKeys returns YAML for serverOpts.MoreClients that sets keys of
// the first client (localhost), e.g. firstClientKeys("push_timeout: 5s"):
// MoreClients is written right after that client's own keys, so lines
// indented as they are (six spaces) extend it. More clients may follow.
func firstClientKeys(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("      " + l + "\n")
	}
	return b.String()
}
