package radiusd

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"layeh.com/radius"

	"radiusmfa/auth"
	"radiusmfa/radiusd/radiustest"
)

// setHandlerIdle sets handlerIdle for one test. Call it before the server
// starts: the restore runs after the server's own cleanup has stopped it.
func setHandlerIdle(t *testing.T, d time.Duration) {
	t.Helper()
	old := handlerIdle
	handlerIdle = d
	t.Cleanup(func() { handlerIdle = old })
}

// serveBare serves cfg without startServer's cleanup, so that a test can
// shut the server down itself and see Serve return.
func serveBare(t *testing.T, dec Decider) (*Server, string, <-chan error) {
	t.Helper()
	s, err := NewServer(testConfig(), dec, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background()) }()
	t.Cleanup(func() { // in case the test failed before its own Shutdown
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s, s.AuthAddrs()[0].String(), served
}

// accepted sends one Access-Request on c and waits for its Access-Accept.
func accepted(t *testing.T, c *radiustest.Conn, user string) {
	t.Helper()
	c.Send(encode(t, newRequest(user), true))
	if raw := receive(t, c); radius.Code(raw[0]) != radius.CodeAccessAccept {
		t.Fatalf("code %v, want Access-Accept", radius.Code(raw[0]))
	}
}

// goroutinesAtMost polls runtime.NumGoroutine until it is at most n.
func goroutinesAtMost(t *testing.T, what string, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%s: %d goroutines, want at most %d\n%s", what, runtime.NumGoroutine(), n, buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// answered waits until s has released every admitted request, so that the
// handler that served the last one is (all but) back waiting for the next.
func answered(t *testing.T, s *Server) {
	t.Helper()
	eventually(t, "no request in flight", func() bool { return s.inFlight.Load() == 0 })
}

// Requests one after another are served by a reused handler goroutine, not
// a new goroutine per request left waiting behind.
func TestSequentialRequestsReuseHandler(t *testing.T) {
	setHandlerIdle(t, time.Minute) // none may exit during the test
	ts := startServer(t, nil, nil)
	c := dial(t, ts.authAddr)
	accepted(t, c, "warm-up") // the server's goroutines are all running
	answered(t, ts.Server)
	before := runtime.NumGoroutine()
	const n = 50
	for range n {
		accepted(t, c, "alice")
		// Without this wait the next request may be read before the
		// handler is back at its select (it records the decision after
		// writing the reply) and start another one; under -race with
		// GOMAXPROCS=1 that happens for up to half the requests.
		answered(t, ts.Server)
	}
	if got := ts.running.Load(); got > 2 {
		t.Errorf("%d sequential requests left %d handler goroutines, want 1 (2 at most)", n+1, got)
	}
	if after := runtime.NumGoroutine(); after-before > 2 {
		t.Errorf("goroutines: %d before %d requests, %d after", before, n, after)
	}
	if calls := ts.dec.calls.Load(); calls != n+1 {
		t.Errorf("Decide called %d times, want %d", calls, n+1)
	}
}

// An idle handler exits after handlerIdle, and only then: the next request
// starts a new one.
func TestIdleHandlerExits(t *testing.T) {
	setHandlerIdle(t, 100*time.Millisecond)
	ts := startServer(t, nil, nil)
	c := dial(t, ts.authAddr)
	for i := range 2 {
		start := time.Now()
		accepted(t, c, "alice")
		if got := ts.running.Load(); got != 1 {
			t.Fatalf("round %d: %d handler goroutines, want 1", i, got)
		}
		eventually(t, "idle handler exit", func() bool { return ts.running.Load() == 0 })
		if d := time.Since(start); d < handlerIdle {
			t.Errorf("round %d: handler exited after %v, before handlerIdle (%v)", i, d, handlerIdle)
		}
	}
}

// Shutdown does not wait out handlerIdle: idle handlers leave when the server
// stops, Serve returns, and no goroutine of the server remains.
func TestShutdownStopsIdleHandlers(t *testing.T) {
	setHandlerIdle(t, time.Minute)
	baseline := runtime.NumGoroutine()
	const n = 4
	var entered sync.WaitGroup
	entered.Add(n)
	release := make(chan struct{})
	dec := &fakeDecider{fn: func(context.Context, auth.Request) auth.Decision {
		entered.Done()
		<-release // all n at once: n handlers
		return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK}
	}}
	s, addr, served := serveBare(t, dec)
	conns := make([]*radiustest.Conn, n)
	for i := range conns {
		conns[i] = dial(t, addr)
		conns[i].Send(encode(t, newRequest("alice"), true))
	}
	entered.Wait()
	close(release)
	for _, c := range conns {
		receive(t, c)
	}
	answered(t, s)
	if got := s.running.Load(); got != n {
		t.Fatalf("%d handler goroutines, want %d", got, n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
	for _, c := range conns {
		c.Close()
	}
	if got := s.running.Load(); got != 0 {
		t.Errorf("%d handler goroutines after Serve returned", got)
	}
	goroutinesAtMost(t, "after Shutdown", baseline)
}

// A request admitted as Shutdown begins is still answered, by a reused
// handler, and Shutdown waits for its reply.
func TestShutdownWaitsForAdmittedRequest(t *testing.T) {
	setHandlerIdle(t, time.Minute)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	dec := &fakeDecider{fn: func(_ context.Context, r auth.Request) auth.Decision {
		if r.UserName == "slow" {
			entered <- struct{}{}
			<-release
		}
		return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK}
	}}
	s, addr, served := serveBare(t, dec)
	c := dial(t, addr)
	accepted(t, c, "warm-up") // leaves one idle handler
	answered(t, s)
	c.Send(encode(t, newRequest("slow"), true))
	<-entered
	if got := s.running.Load(); got != 1 {
		t.Errorf("%d handler goroutines, want the idle one reused", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	eventually(t, "Shutdown begins", s.stopping.Load)
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v before the admitted request was answered", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if raw := receive(t, c); radius.Code(raw[0]) != radius.CodeAccessAccept {
		t.Errorf("code %v, want Access-Accept", radius.Code(raw[0]))
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	c.Send(encode(t, newRequest("late"), true))
	expectNoReply(t, c)
}
