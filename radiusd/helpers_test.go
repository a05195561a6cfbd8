package radiusd

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"

	"radiusmfa/auth"
	"radiusmfa/radiusd/radiustest"
	"radiusmfa/store"
)

const (
	testSecret   = "testing-secret-123"
	testPassword = "correct-horse-battery,otpXYZ"
	noReplyWait  = 300 * time.Millisecond
)

// fakeDecider records requests and answers with fn (accept by default).
type fakeDecider struct {
	calls atomic.Int64
	fn    func(ctx context.Context, r auth.Request) auth.Decision
	mu    sync.Mutex
	reqs  []auth.Request
}

func (f *fakeDecider) Decide(ctx context.Context, r auth.Request) auth.Decision {
	f.calls.Add(1)
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()
	if f.fn != nil {
		return f.fn(ctx, r)
	}
	return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK, Message: "Welcome", User: r.UserName, Factor: "totp"}
}

func (f *fakeDecider) requests() []auth.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]auth.Request(nil), f.reqs...)
}

type auditRecorder struct {
	mu   sync.Mutex
	recs []store.AuditRecord
}

func (a *auditRecorder) Record(rec store.AuditRecord) {
	a.mu.Lock()
	a.recs = append(a.recs, rec)
	a.mu.Unlock()
}

func (a *auditRecorder) records() []store.AuditRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]store.AuditRecord(nil), a.recs...)
}

// syncBuffer is a log destination safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testServer struct {
	*Server
	authAddr, acctAddr string
	dec                *fakeDecider
	audit              *auditRecorder
	reg                *prometheus.Registry
	logs               *syncBuffer
}

func testConfig() Config {
	return Config{
		AuthAddrs: []string{"127.0.0.1:0"},
		AcctAddrs: []string{"127.0.0.1:0"},
		Clients: []Client{{
			Name:     "loopback",
			Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			Secret:   []byte(testSecret),
		}},
		RequestTimeout: 2 * time.Second,
		ReplyCacheTTL:  10 * time.Second,
		MaxInFlight:    64,
	}
}

// startServer serves cfg (testConfig when nil) on loopback until the test ends.
func startServer(t testing.TB, cfg *Config, dec *fakeDecider) *testServer {
	t.Helper()
	if cfg == nil {
		c := testConfig()
		cfg = &c
	}
	if dec == nil {
		dec = &fakeDecider{}
	}
	ts := &testServer{dec: dec, audit: &auditRecorder{}, reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := NewServer(*cfg, dec, ts.audit, log, ts.reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ts.Server = s
	if a := s.AuthAddrs(); len(a) > 0 {
		ts.authAddr = a[0].String()
	}
	if a := s.AcctAddrs(); len(a) > 0 {
		ts.acctAddr = a[0].String()
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

// exchange sends p to the authentication port and verifies the reply.
func (ts *testServer) exchange(t testing.TB, addr string, p *radius.Packet, withMA bool) (*radius.Packet, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	reply, raw, err := radiustest.Exchange(ctx, addr, []byte(testSecret), p, withMA)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return reply, raw
}

// dial opens a client socket to addr, closed when the test ends.
func dial(t testing.TB, addr string) *radiustest.Conn {
	t.Helper()
	c, err := radiustest.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func encode(t testing.TB, p *radius.Packet, withMA bool) []byte {
	t.Helper()
	b, err := radiustest.Encode(p, withMA)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expectNoReply fails when c receives anything within noReplyWait.
func expectNoReply(t testing.TB, c *radiustest.Conn) {
	t.Helper()
	b, err := c.Receive(noReplyWait)
	var ne net.Error
	if err == nil {
		t.Fatalf("unexpected reply: code %d", b[0])
	}
	// A closed server port answers with ICMP unreachable: no reply either.
	if (!errors.As(err, &ne) || !ne.Timeout()) && !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("receive: %v", err)
	}
}

func receive(t testing.TB, c *radiustest.Conn) []byte {
	t.Helper()
	b, err := c.Receive(3 * time.Second)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return b
}

// metric returns the value of the counter or gauge name with the given
// labels (name=value pairs), or 0 when absent.
func metric(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func dropped(t testing.TB, ts *testServer, cause string) float64 {
	t.Helper()
	return metric(t, ts.reg, "radiusmfa_dropped_packets_total", "cause", cause)
}

// eventually polls cond for up to 3s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
