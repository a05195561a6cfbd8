package radiusd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"radiusmfa/auth"
	"radiusmfa/store"
)

// Decider decides one login attempt; auth.Engine implements it.
type Decider interface {
	Decide(ctx context.Context, r auth.Request) auth.Decision
}

// AuditSink receives one record per decision and accounting event. Record
// must not block the caller.
type AuditSink interface {
	Record(rec store.AuditRecord)
}

// ErrServerClosed is returned by Listen and Serve after Shutdown.
var ErrServerClosed = errors.New("radiusd: server closed")

// socketBuffer is the receive buffer asked of the kernel (capped by
// net.core.rmem_max) so that bursts queue instead of being lost.
const socketBuffer = 4 << 20

type portKind int

const (
	portAuth portKind = iota
	portAcct
)

// packetWriter is the reply side of a socket; tests and the fuzzer swap it.
type packetWriter interface {
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

type listener struct {
	conn *net.UDPConn
	w    packetWriter
	kind portKind
}

// Server serves RADIUS authentication and accounting over UDP.
type Server struct {
	cfg       Config
	clients   *clientTable
	decider   Decider
	audit     AuditSink
	log       *slog.Logger
	metrics   *metrics
	cache     *replyCache
	unknown   *logLimiter // unknown-client lines
	badSecret *logLimiter // authenticator-mismatch lines
	epoch     time.Time
	requests  sync.Pool // *request

	inFlight atomic.Int64
	held     atomic.Int64   // Access-Requests waiting on the user's answer (hold)
	handlers sync.WaitGroup // admitted requests not yet released
	idle     chan *request  // handler goroutines waiting for their next request
	workers  sync.WaitGroup // handler goroutines, busy or idle
	running  atomic.Int64   // handler goroutines, busy or idle (for tests)
	stopping atomic.Bool
	stopOnce sync.Once
	stopCh   chan struct{} // closed when reading must stop
	done     chan struct{} // closed when Serve has drained and closed the sockets
	base     context.Context
	cancel   context.CancelFunc // hurries in-flight Decide calls when Shutdown gives up

	mu        sync.Mutex
	listeners []*listener
	serving   bool
	closed    bool
}

// NewServer validates cfg and builds a server; it binds nothing (see
// Listen). audit may be nil; reg may be nil to skip metric registration.
func NewServer(cfg Config, d Decider, audit AuditSink, log *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	cfg, err := cfg.withDefaults()
	clients, cerr := newClientTable(cfg.Clients)
	if d == nil {
		cerr = errors.Join(cerr, errors.New("radiusd: nil Decider"))
	}
	if err = errors.Join(err, cerr); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg: cfg, clients: clients, decider: d, audit: audit, log: log,
		cache:     newReplyCache(int64(cfg.ReplyCacheTTL), cfg.ReplyCacheSize),
		unknown:   newLogLimiter(cfg.UnknownClientLogInterval, 4096),
		badSecret: newLogLimiter(cfg.UnknownClientLogInterval, 4096),
		epoch:     time.Now(),
		stopCh:    make(chan struct{}),
		done:      make(chan struct{}),
		idle:      make(chan *request),
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	s.requests.New = func() any { return new(request) }
	s.metrics = newMetrics(
		func() float64 { return float64(s.inFlight.Load()) },
		func() float64 { return float64(s.held.Load()) },
		func() float64 { return float64(s.cache.len()) })
	for _, c := range clients.all {
		c.metrics = s.metrics.forClient(c.name)
	}
	if err := s.metrics.register(reg); err != nil {
		return nil, fmt.Errorf("radiusd: register metrics: %w", err)
	}
	return s, nil
}

// Listen binds every configured address, so that callers learn the bound
// addresses (port 0) before Serve. Serve calls it when it was not called.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.stopping.Load() {
		return ErrServerClosed
	}
	if s.listeners != nil {
		return errors.New("radiusd: already listening")
	}
	var ls []*listener
	for _, p := range []struct {
		addrs []string
		kind  portKind
	}{{s.cfg.AuthAddrs, portAuth}, {s.cfg.AcctAddrs, portAcct}} {
		for _, a := range p.addrs {
			conn, err := listenUDP(a)
			if err != nil {
				for _, l := range ls {
					l.conn.Close()
				}
				return err
			}
			ls = append(ls, &listener{conn: conn, w: conn, kind: p.kind})
		}
	}
	s.listeners = ls
	return nil
}

func listenUDP(addr string) (*net.UDPConn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("radiusd: listen %s: %w", addr, err)
	}
	conn, err := net.ListenUDP(udpNetwork(ua), ua)
	if err != nil {
		return nil, fmt.Errorf("radiusd: listen %s: %w", addr, err)
	}
	_ = conn.SetReadBuffer(socketBuffer) // best effort: the kernel caps it
	return conn, nil
}

// udpNetwork binds an IPv4 address as udp4 and an IPv6 one as udp6 (IPv6
// only), so "0.0.0.0:1812" and "[::]:1812" can be listed together; an empty
// host (":1812") stays dual-stack.
func udpNetwork(ua *net.UDPAddr) string {
	switch {
	case ua.IP == nil:
		return "udp"
	case ua.IP.To4() != nil:
		return "udp4"
	default:
		return "udp6"
	}
}

// AuthAddrs returns the bound authentication addresses (after Listen).
func (s *Server) AuthAddrs() []net.Addr { return s.addrs(portAuth) }

// AcctAddrs returns the bound accounting addresses (after Listen).
func (s *Server) AcctAddrs() []net.Addr { return s.addrs(portAcct) }

func (s *Server) addrs(kind portKind) []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, l := range s.listeners {
		if l.kind == kind {
			out = append(out, l.conn.LocalAddr())
		}
	}
	return out
}

// Serve reads and answers requests until ctx is done or Shutdown is called;
// then it stops reading, waits for in-flight requests to be answered, closes
// the sockets and returns nil. A fatal socket error stops it the same way and
// is returned.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.startServing(); err != nil {
		return err
	}
	defer close(s.done)
	errc := make(chan error, len(s.listeners))
	var readers sync.WaitGroup
	for _, l := range s.listeners {
		readers.Go(func() {
			if err := s.readLoop(l); err != nil {
				errc <- err
				s.stop()
			}
		})
	}
	go s.sweepLoop()
	select {
	case <-ctx.Done():
		s.stop()
	case <-s.stopCh:
	}
	readers.Wait()    // no new request can start after this
	s.handlers.Wait() // every admitted request has been answered (or dropped)
	s.workers.Wait()  // idle handlers have seen stopCh
	s.closeListeners()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func (s *Server) startServing() error {
	s.mu.Lock()
	listening := s.listeners != nil
	s.mu.Unlock()
	if !listening {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed || s.stopping.Load():
		return ErrServerClosed
	case s.serving:
		return errors.New("radiusd: already serving")
	}
	s.serving = true
	return nil
}

// Shutdown stops reading and waits until every in-flight request has been
// answered and Serve has closed the sockets. When ctx ends first, the
// request contexts are canceled and ctx.Err() is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	s.mu.Lock()
	serving := s.serving
	s.mu.Unlock()
	if !serving {
		s.closeListeners()
		return nil
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		s.cancel()
		return ctx.Err()
	}
}

// stop makes every read return at once. The sockets stay open so that
// in-flight requests can still write their replies.
func (s *Server) stop() {
	s.stopOnce.Do(func() {
		s.stopping.Store(true)
		close(s.stopCh)
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, l := range s.listeners {
			_ = l.conn.SetReadDeadline(time.Unix(1, 0))
		}
	})
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, l := range s.listeners {
		l.conn.Close()
	}
	s.cancel()
}

// readLoop is the single reader of one socket. It does the admission stage
// inline and hands admitted requests to their own goroutine.
func (s *Server) readLoop(l *listener) error {
	r := s.requests.Get().(*request)
	defer func() { s.requests.Put(r) }()
	for {
		n, src, err := l.conn.ReadFromUDPAddrPort(r.buf[:])
		if err != nil {
			if s.stopping.Load() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("radiusd: read %v: %w", l.conn.LocalAddr(), err)
			}
			s.log.Warn("radius read failed", slog.String("addr", l.conn.LocalAddr().String()), slog.Any("err", err))
			time.Sleep(10 * time.Millisecond) // a persistent error must not spin
			continue
		}
		r.n, r.src, r.received = n, src, time.Now()
		if s.admit(l, r) {
			s.dispatch(r)
			r = s.requests.Get().(*request)
		}
	}
}

// handlerIdle is how long a handler goroutine waits for another request
// before it exits. A variable so that tests can shorten it.
var handlerIdle = time.Second

// dispatch hands an admitted request to an idle handler goroutine, or to a
// new one when none is waiting. Reusing handlers keeps their grown stacks:
// a fresh goroutine per request paid for growing its stack every time.
func (s *Server) dispatch(r *request) {
	select {
	case s.idle <- r:
	default:
		s.workers.Add(1)
		s.running.Add(1)
		go s.handle(r)
	}
}

// handle serves r, then further requests from dispatch until it has been
// idle for handlerIdle or the server stops.
func (s *Server) handle(r *request) {
	defer s.workers.Done()
	defer s.running.Add(-1)
	t := time.NewTimer(handlerIdle)
	defer t.Stop()
	for {
		s.serve(r)
		t.Reset(handlerIdle)
		select {
		case r = <-s.idle:
		case <-t.C:
			return
		case <-s.stopCh:
			return
		}
	}
}

// sweepLoop expires cached replies until the server stops.
func (s *Server) sweepLoop() {
	t := time.NewTicker(max(s.cfg.ReplyCacheTTL/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.stopCh:
			return
		case now := <-t.C:
			s.cache.sweep(s.mono(now))
		}
	}
}

// mono is t as monotonic nanoseconds since the server was built.
func (s *Server) mono(t time.Time) int64 { return int64(t.Sub(s.epoch)) }
