package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"layeh.com/radius"
)

// TestGracefulShutdown: SIGTERM while requests wait for the (slow, one at a
// time) password hash; every request still gets its reply and the process
// exits 0 within the shutdown grace.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{SlowHash: true, MaxConcurrentHashes: 1})
	a := s.newAccount(t, "inflight-user")
	addr := s.authAddr(t)

	const n = 10
	reqs := make([][]byte, n)
	reqs[0] = accessRequest(t, radius.CodeAccessRequest, a.Name, a.Password+","+a.code(t).Code)
	for i := 1; i < n; i++ {
		reqs[i] = accessRequest(t, radius.CodeAccessRequest, fmt.Sprintf("inflight-nobody-%d", i), "wrong-password,123456")
	}
	conns := make([]udpConn, n)
	for i := range conns {
		conns[i] = dialUDP(t, addr)
	}

	type result struct {
		reply []byte
		at    time.Time
		err   error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		conns[i].send(t, reqs[i])
		wg.Go(func() {
			b, err := conns[i].tryRecv(15 * time.Second)
			results[i] = result{b, time.Now(), err}
		})
	}
	// Let the server read the datagrams: what it has read is in flight and
	// must be answered; with one hash at a time most still wait.
	time.Sleep(100 * time.Millisecond)
	termAt := time.Now()
	s.signal(t, syscall.SIGTERM)
	code := s.wait(t, 15*time.Second)
	exitAfter := time.Since(termAt)
	wg.Wait()

	afterTerm := 0
	for i, r := range results {
		if r.err != nil || r.reply == nil {
			s.fatalf(t, "request %d of %d: no reply after SIGTERM (err %v)", i+1, n, r.err)
		}
		p := s.mustReply(t, reqs[i], r.reply)
		want := radius.CodeAccessReject
		if i == 0 {
			want = radius.CodeAccessAccept
		}
		if p.Code != want {
			s.fatalf(t, "request %d: got %v, want %v", i+1, p.Code, want)
		}
		if r.at.After(termAt) {
			afterTerm++
		}
	}
	t.Logf("%d of %d replies came after SIGTERM; exit %d after %s", afterTerm, n, code, exitAfter.Round(time.Millisecond))
	if afterTerm == 0 {
		s.fatalf(t, "every reply came before SIGTERM: the hash is too fast for this test to have requests in flight")
	}
	if code != 0 {
		s.fatalf(t, "exit status %d after SIGTERM, want 0", code)
	}
}

// TestCrashKeepsAcknowledgedUsers: users are added one by one over the admin
// socket while the server is killed with SIGKILL; after a restart every user
// whose `user add` exited 0 is there.
func TestCrashKeepsAcknowledgedUsers(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})

	var (
		mu    sync.Mutex
		acked []string
		errs  []error
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("crash-%04d", i)
			r, err := execBinary("pw-"+name+"-Secret9\n", "user", "add", name, "--config", s.cfgPath)
			mu.Lock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case r.Code == 0:
				acked = append(acked, name)
			}
			mu.Unlock()
		}
	})
	poll(t, s, "8 users added", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 8
	})
	s.kill(t)
	close(stop)
	wg.Wait()
	if len(errs) > 0 {
		s.fatalf(t, "user add: %v", errs)
	}

	s.start(t)
	out := s.mustCLI(t, "", "user", "list")
	var listed []string
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 0 {
			listed = append(listed, f[0])
		}
	}
	for _, name := range acked {
		if !slices.Contains(listed, name) {
			s.fatalf(t, "user %s was acknowledged before the crash but is missing after restart; user list:\n%s", name, out)
		}
	}
	t.Logf("%d acknowledged users all present after SIGKILL and restart", len(acked))
}

// TestCheckConfig: check-config names every bad key of a broken file at
// once and exits non-zero, and accepts the shipped development example
// with a warning about its short secret.
func TestCheckConfig(t *testing.T) {
	t.Parallel()

	t.Run("BadConfigNamesEachKey", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := filepath.Join(dir, "bad.yaml")
		bad := `data_dir: ` + dir + `
radius:
  listen: ["127.0.0.1:70000"]
  no_such_key: 1
  clients:
    - name: vpn
      networks: ["10.0.0.0/33"]
      secret: "a-secret-long-enough-1234"
ops:
  listen: ""
`
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runBinary(t, "", "check-config", "--config", path)
		if r.Code == 0 {
			t.Fatalf("check-config exited 0 on a bad file\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
		}
		for _, key := range []string{"radius.no_such_key", "radius.listen[0]", "radius.clients[0].networks[0]"} {
			if !strings.Contains(r.Stderr, key) {
				t.Errorf("check-config output does not name %q:\n%s", key, r.Stderr)
			}
		}
	})

	t.Run("DevExample", func(t *testing.T) {
		t.Parallel()
		root, err := moduleRoot()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(root, "examples", "dev.yaml")
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the development example is missing: %v", err)
		}
		r := runBinary(t, "", "check-config", "--config", path)
		if r.Code != 0 {
			t.Fatalf("check-config %s: exit %d\nstdout:\n%s\nstderr:\n%s", path, r.Code, r.Stdout, r.Stderr)
		}
		if !strings.Contains(r.Stderr, "warning:") || !strings.Contains(r.Stderr, "secret is shorter than") {
			t.Fatalf("check-config %s: no short-secret warning on stderr:\n%s", path, r.Stderr)
		}
	})
}
