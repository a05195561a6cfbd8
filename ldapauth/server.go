package ldapauth

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// server is one directory server with its two connection pools.
type server struct {
	url      string
	scheme   string
	addr     string // host:port
	tls      *tls.Config
	startTLS bool
	timeout  time.Duration

	svc  pool // bound as the service account
	user pool // used for user binds only

	mu        sync.Mutex
	downUntil time.Time // skipped until then while another server is up
	down      bool      // for logging transitions and the up gauge
}

func newServer(raw string, c Config) (*server, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "389"
		if u.Scheme == "ldaps" {
			port = "636"
		}
	}
	s := &server{url: raw, scheme: u.Scheme, addr: net.JoinHostPort(host, port),
		startTLS: c.StartTLS, timeout: c.Timeout}
	if u.Scheme == "ldaps" || c.StartTLS {
		if s.tls, err = c.TLS.tlsConfig(host); err != nil {
			return nil, err
		}
	}
	s.svc.init(c.PoolSize)
	s.user.init(c.PoolSize)
	return s, nil
}

// available reports whether s is outside its back-off period.
func (s *server) available(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !now.Before(s.downUntil)
}

// markDown starts a back-off period; it reports whether s was up before.
func (s *server) markDown(now time.Time, backoff time.Duration) (wasUp bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wasUp = !s.down
	s.down, s.downUntil = true, now.Add(backoff)
	return wasUp
}

// markUp ends a back-off period; it reports whether s was down before.
func (s *server) markUp() (wasDown bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wasDown = s.down
	s.down, s.downUntil = false, time.Time{}
	return wasDown
}

// stepTimeout is the deadline of one network step: the configured timeout,
// or less when the request has less left. ok is false when none is left.
func stepTimeout(ctx context.Context, limit time.Duration) (time.Duration, bool) {
	if err := ctx.Err(); err != nil {
		return 0, false
	}
	if dl, has := ctx.Deadline(); has {
		left := time.Until(dl)
		if left <= 0 {
			return 0, false
		}
		limit = min(limit, left)
	}
	return limit, true
}

// dial opens a connection, with TLS as configured, under ctx.
func (s *server) dial(ctx context.Context) (*conn, error) {
	d, ok := stepTimeout(ctx, s.timeout)
	if !ok {
		return nil, ctx.Err()
	}
	dctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var nd net.Dialer
	raw, err := nd.DialContext(dctx, "tcp", s.addr)
	if err != nil {
		return nil, &netError{op: "connect", err: err}
	}
	if s.scheme == "ldaps" {
		tc := tls.Client(raw, s.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, &netError{op: "TLS handshake", err: err}
		}
		raw = tc
	}
	c := &conn{Conn: ldap.NewConn(raw, s.scheme == "ldaps"), raw: raw}
	c.Start()
	if s.startTLS {
		d, ok := stepTimeout(ctx, s.timeout)
		if !ok {
			c.Close()
			return nil, ctx.Err()
		}
		// The socket's deadline bounds the request and the TLS handshake
		// (which go-ldap runs without one); it applies to the TLS
		// connection's socket too, as raw stays under it.
		c.within(d)
		if err := c.StartTLS(s.tls); err != nil {
			c.Close()
			return nil, &netError{op: "StartTLS", err: err}
		}
		if !c.idle() {
			c.Close()
			return nil, &netError{op: "StartTLS", err: os.ErrDeadlineExceeded}
		}
	}
	return c, nil
}

// conn is a directory connection: go-ldap's client and the socket under
// it. Each operation is bounded by the socket's deadline (within), not by
// go-ldap's request timeout, which starts a goroutine, a timer and a
// context for every request. When the deadline passes, the socket's read
// fails, go-ldap closes the connection and the request fails with a
// network error, so the connection is discarded rather than reused.
type conn struct {
	*ldap.Conn
	raw      net.Conn
	deadline time.Time // of the last step; zero when lifted
}

// within bounds what is sent and read on c from now until d has passed.
func (c *conn) within(d time.Duration) {
	c.deadline = time.Now().Add(d)
	_ = c.raw.SetDeadline(c.deadline)
}

// idle lifts the deadline, so a connection waiting in a pool is not
// closed by a deadline meant for the request it has finished. It reports
// whether c may be used again: not when that deadline had passed already
// (go-ldap's reader may then have seen the timeout and be closing the
// connection), nor when it is closing.
func (c *conn) idle() (reusable bool) {
	late := !c.deadline.IsZero() && !time.Now().Before(c.deadline)
	c.deadline = time.Time{}
	_ = c.raw.SetDeadline(time.Time{})
	return !late && !c.IsClosing()
}

// netError is a failure of the server or the path to it (as opposed to an
// LDAP answer such as invalid credentials): the server is skipped for a
// while and the next one is tried.
type netError struct {
	op  string
	err error
}

func (e *netError) Error() string { return e.op + ": " + e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// isNetError reports whether err means the server or connection failed
// rather than answered: a dial or TLS failure, a timeout, a closed
// connection, a failed write (which go-ldap reports as a plain error), or
// an LDAP "busy"/"unavailable" answer. Decisions of this package (no such
// entry, no free connection, stop) are not failures of a server.
func isNetError(err error) bool {
	if err == nil {
		return false // before the targets below, which escape: no allocation on success
	}
	var le *ldap.Error
	var stop *stopError
	var ne *netError
	switch {
	case errors.Is(err, errNoEntry), errors.Is(err, errAmbiguous),
		errors.Is(err, errPoolWait), errors.As(err, &stop):
		return false
	case errors.As(err, &ne):
		return true // ours, whatever it wraps (a refused service bind)
	case errors.As(err, &le):
		switch le.ResultCode {
		case ldap.ErrorNetwork, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable,
			ldap.LDAPResultServerDown, ldap.LDAPResultTimeout, ldap.LDAPResultConnectError:
			return true
		}
		return false
	}
	return true
}

// maxIdle is how long a pooled connection may sit unused before it is
// closed rather than reused. A server may drop idle connections (AD after
// 15 minutes by default, a firewall sooner); a bind sent on such a
// connection might or might not have arrived, and a bind is never sent
// twice, so connections are retired well before that can happen.
const maxIdle = 30 * time.Second

// pool keeps idle connections of one kind and bounds how many are open.
type pool struct {
	idle  chan idleConn
	slots chan struct{}
}

type idleConn struct {
	c     *conn
	since time.Time
}

func (p *pool) init(n int) {
	p.idle = make(chan idleConn, n)
	p.slots = make(chan struct{}, n)
}

// errPoolWait is returned when no connection slot freed up before the
// request's deadline: overload, not a server failure.
var errPoolWait = errors.New("ldap: no free connection before the deadline")

// get returns an idle connection (reused=true) or a slot to open a new one
// (conn=nil). The caller must call put or discard exactly once.
func (p *pool) get(ctx context.Context) (c *conn, reused bool, err error) {
	for {
		// An idle connection first; only when none is idle, wait for
		// either one to come back or a slot to open a new one.
		var ic idleConn
		select {
		case ic = <-p.idle:
		default:
			select {
			case ic = <-p.idle:
			case p.slots <- struct{}{}:
				return nil, false, nil
			case <-ctx.Done():
				return nil, false, errPoolWait
			}
		}
		if !ic.c.IsClosing() && time.Since(ic.since) < maxIdle {
			return ic.c, true, nil
		}
		p.discard(ic.c) // closed by the server, or idle too long to trust
	}
}

// put returns a healthy connection for reuse; one whose step ran into its
// deadline, or that is closing, is discarded instead.
func (p *pool) put(c *conn) {
	if !c.idle() {
		p.discard(c)
		return
	}
	select {
	case p.idle <- idleConn{c: c, since: time.Now()}:
	default: // cannot happen: idle has room for every slot
		c.Close()
		<-p.slots
	}
}

// discard closes a connection that failed (or was never opened: c nil) and
// frees its slot.
func (p *pool) discard(c *conn) {
	if c != nil {
		c.Close()
	}
	<-p.slots
}

// closeIdle closes the idle connections (on Close).
func (p *pool) closeIdle() {
	for {
		select {
		case ic := <-p.idle:
			ic.c.Close()
			<-p.slots
		default:
			return
		}
	}
}
