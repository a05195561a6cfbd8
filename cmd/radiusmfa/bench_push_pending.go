package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"layeh.com/radius"
)

// pushPendingResult is what a pending run measured.
type pushPendingResult struct {
	Pending, Approvers     int
	PushTimeout            time.Duration
	TOTPUsers, Concurrency int
	Duration               time.Duration
	// Ramp is from the first held request to its last push delivered.
	Ramp            time.Duration
	PushesDelivered int64
	// The server's own gauges with the pushes pending (/metrics).
	Held, Goroutines, HeapInuse, StackInuse float64
	// Server memory (/proc/PID/status) before the pushes, with them
	// pending, after the TOTP load beside them; VmHWM at the end.
	MemIdle, MemPending, MemAfterLoad procMemory
	RSSPeak                           int64
	// TOTP logins at --concurrency for --duration: with no push pending
	// before the pushes (Idle) and after the held requests ended (After),
	// and with the pushes pending (Loaded). P99Ratio is Loaded's p99 over
	// the mean of Idle's and After's, so that a host that speeds up or
	// slows down during the run biases it less.
	Idle, Loaded, After benchResult
	P99Ratio            float64
	// How the held requests ended: Access-Reject at push timeout, Accept
	// (never expected), or no reply at all; FirstEnd is from the first held
	// request to the first reply to any.
	HeldRejected, HeldAccepted, HeldUnanswered int64
	HeldFirstEnd                               time.Duration
	RSSTarget                                  int64
	P99Target                                  float64
	RSSMet, P99Met                             bool
}

// benchPushPending measures TOTP logins with no push pending, then holds
// --push-pending pushes unanswered, reads the server's memory and measures
// the same TOTP load beside them, then waits for the held requests to end
// by push timeout and measures the TOTP load once more, with none pending.
// Each measured load follows 2 s of the same load, not counted, so that
// each starts from a server under load (not from the collector's debt of
// sending 10,000 pushes, nor from idle caches).
func (c *cli) benchPushPending(o benchOptions, srv *benchServer, opsAddr string) (pushPendingResult, error) {
	ps := o.Push.phones
	r := pushPendingResult{Pending: o.Push.Pending, Approvers: len(ps.phones), PushTimeout: o.Push.timeout(o),
		TOTPUsers: len(srv.users), Concurrency: o.Concurrency, Duration: o.Duration,
		RSSTarget: pushRSSTarget, P99Target: pushP99Target}
	warm := o
	warm.Duration = min(2*time.Second, o.Duration)
	warmUp := func() error {
		fmt.Fprintf(c.stderr, "bench: TOTP logins for %s to warm up, not counted...\n", warm.Duration)
		_, err := runLoad(context.Background(), warm, srv.users)
		return err
	}
	if err := warmUp(); err != nil {
		return r, err
	}
	fmt.Fprintf(c.stderr, "bench: TOTP logins, no push pending: %d workers, %s...\n", o.Concurrency, o.Duration)
	var err error
	if r.Idle, err = totpLoad(o, srv); err != nil {
		return r, err
	}
	r.MemIdle = processMemory(srv.pid)

	fmt.Fprintf(c.stderr, "bench: holding %d pushes (push_timeout %s)...\n", r.Pending, r.PushTimeout)
	h, err := holdPushes(o, ps)
	if err != nil {
		return r, err
	}
	defer h.close()
	r.Ramp, r.PushesDelivered = h.ramp, ps.received.Load()
	time.Sleep(min(time.Second, o.Duration)) // let the heap and RSS settle
	g := serverGauges(opsAddr, "radiusmfa_held", "go_goroutines", "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes")
	r.Held, r.Goroutines, r.HeapInuse, r.StackInuse = g[0], g[1], g[2], g[3]
	r.MemPending = processMemory(srv.pid)

	if err := warmUp(); err != nil {
		return r, err
	}
	fmt.Fprintf(c.stderr, "bench: TOTP logins beside %d pending pushes: %d workers, %s...\n", r.Pending, o.Concurrency, o.Duration)
	if r.Loaded, err = totpLoad(o, srv); err != nil {
		return r, err
	}
	loadedEnd := time.Now()
	r.MemAfterLoad = processMemory(srv.pid)
	if first := h.firstReply.Load(); first != 0 && first < loadedEnd.UnixNano() {
		return r, fmt.Errorf("bench: a held request ended %s after the first was sent, before the TOTP load beside them did: "+
			"raise --push-timeout (now %s)", time.Duration(first-h.start.UnixNano()).Round(time.Millisecond), r.PushTimeout)
	}

	fmt.Fprintf(c.stderr, "bench: waiting for the held requests to end by push timeout (%s after each was sent)...\n", r.PushTimeout)
	h.wait(r.PushTimeout + 15*time.Second)
	r.HeldAccepted, r.HeldRejected = h.accepted.Load(), h.rejected.Load()
	r.HeldUnanswered = int64(r.Pending) - r.HeldAccepted - r.HeldRejected
	if first := h.firstReply.Load(); first != 0 {
		r.HeldFirstEnd = time.Duration(first - h.start.UnixNano())
	}
	r.RSSPeak = max(processMemory(srv.pid).HWM, r.MemPending.RSS, r.MemAfterLoad.RSS) // the kernel's counters lag a little
	if r.HeldAccepted > 0 {
		return r, fmt.Errorf("bench: %d held requests were accepted, though no phone answered", r.HeldAccepted)
	}
	if err := ps.err(); err != nil {
		return r, err
	}

	if err := warmUp(); err != nil {
		return r, err
	}
	fmt.Fprintf(c.stderr, "bench: TOTP logins, no push pending again: %d workers, %s...\n", o.Concurrency, o.Duration)
	if r.After, err = totpLoad(o, srv); err != nil {
		return r, err
	}
	if idle := (r.Idle.P99 + r.After.P99) / 2; idle > 0 {
		r.P99Ratio = float64(r.Loaded.P99) / float64(idle)
	}
	r.RSSMet = max(r.MemPending.RSS, r.MemAfterLoad.RSS) < pushRSSTarget && r.MemPending.RSS > 0
	r.P99Met = r.P99Ratio > 0 && r.P99Ratio <= pushP99Target
	return r, nil
}

// totpLoad is one TOTP load of the pending run, with the server's CPU.
func totpLoad(o benchOptions, srv *benchServer) (benchResult, error) {
	cpu := processCPU(srv.pid)
	res, err := runLoad(context.Background(), o, srv.users)
	res.ServerCPUPerLogin = (processCPU(srv.pid) - cpu) / time.Duration(max(res.Accepted, 1))
	return res, err
}

// heldPushes are the Access-Requests of a pending run: "password,push" for
// users whose phones never answer, so each waits in the server until its
// push times out. heldPerConn requests share a socket, one RADIUS id each.
type heldPushes struct {
	conns              []*net.UDPConn
	start              time.Time
	ramp               time.Duration // to the last push delivered
	accepted, rejected atomic.Int64
	firstReply         atomic.Int64 // unix nanoseconds; 0: none yet
	readers            sync.WaitGroup
}

const (
	heldPerConn = 250
	// holdWindow bounds the requests sent whose push has not reached the
	// phone yet, so the server's socket buffer never overflows.
	holdWindow = 256
	// holdStall is how long the ramp may make no progress.
	holdStall = 30 * time.Second
)

// holdPushes sends o.Push.Pending requests, request k to phone k mod n
// (so at most push.DefaultMaxPerUser each), and returns once every push
// has reached its phone: the hub then holds them all.
func holdPushes(o benchOptions, ps *benchPhones) (*heldPushes, error) {
	raddr, err := net.ResolveUDPAddr("udp", o.Addr)
	if err != nil {
		return nil, err
	}
	n, before := o.Push.Pending, ps.received.Load()
	delivered := func() int { return int(ps.received.Load() - before) }
	h := &heldPushes{start: time.Now()}
	// The readers wait at most this long; wait shortens it.
	limit := h.start.Add(o.Push.timeout(o) + 10*time.Minute)
	enc := newRequestEncoder([]byte(o.Secret))
	for k := range n {
		if k%heldPerConn == 0 {
			conn, err := net.DialUDP("udp", nil, raddr)
			if err != nil {
				h.close()
				return nil, err
			}
			h.conns = append(h.conns, conn)
			expect := min(heldPerConn, n-k)
			h.readers.Go(func() { h.read(conn, expect, limit) })
		}
		if err := h.until(func() bool { return delivered() > k-holdWindow }); err != nil {
			h.close()
			return nil, fmt.Errorf("bench: %d of %d requests sent, %d pushes delivered: %w", k, n, delivered(), err)
		}
		pkt := enc.encode(byte(k%heldPerConn), ps.phones[k%len(ps.phones)].user, benchPushPassword, "push")
		if _, err := h.conns[len(h.conns)-1].Write(pkt); err != nil {
			h.close()
			return nil, err
		}
	}
	if err := h.until(func() bool { return delivered() >= n }); err != nil {
		h.close()
		return nil, fmt.Errorf("bench: %d requests sent, %d pushes delivered: %w", n, delivered(), err)
	}
	h.ramp = time.Since(h.start)
	return h, nil
}

// until polls cond until it holds. It fails when the server answers a
// held request (it is then not holding it) or after holdStall.
func (h *heldPushes) until(cond func() bool) error {
	deadline := time.Now().Add(holdStall)
	for !cond() {
		switch {
		case h.accepted.Load()+h.rejected.Load() > 0:
			return fmt.Errorf("the server answered a held request (accepted %d, rejected %d): no push pending for it",
				h.accepted.Load(), h.rejected.Load())
		case time.Now().After(deadline):
			return fmt.Errorf("no progress for %s", holdStall)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// read counts the replies to the expect requests sent on conn.
func (h *heldPushes) read(conn *net.UDPConn, expect int, limit time.Time) {
	seen := make([]bool, expect)
	buf := make([]byte, radius.MaxPacketLength)
	_ = conn.SetReadDeadline(limit)
	for got := 0; got < expect; {
		n, err := conn.Read(buf)
		if err != nil {
			return // past the deadline, or closed
		}
		id := int(buf[1])
		if n < 20 || id >= expect || seen[id] {
			continue
		}
		seen[id], got = true, got+1
		h.firstReply.CompareAndSwap(0, time.Now().UnixNano())
		if radius.Code(buf[0]) == radius.CodeAccessAccept {
			h.accepted.Add(1)
		} else {
			h.rejected.Add(1)
		}
	}
}

// wait waits for every reply, at most grace after the last push was
// delivered (each request ends by its push timeout after it was sent).
func (h *heldPushes) wait(grace time.Duration) {
	limit := h.start.Add(h.ramp + grace)
	for _, c := range h.conns {
		_ = c.SetReadDeadline(limit)
	}
	h.readers.Wait()
}

func (h *heldPushes) close() {
	for _, c := range h.conns {
		c.Close()
	}
	h.readers.Wait()
}

// procMemory is a process's memory in bytes (Linux /proc/PID/status; 0
// when unknown): VmRSS and its anonymous and file-backed parts (the store's
// memory map is file-backed: clean pages the kernel may drop), and VmHWM.
type procMemory struct {
	RSS, Anon, File, HWM int64
}

func processMemory(pid int) (m procMemory) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m
	}
	defer f.Close()
	fields := map[string]*int64{"VmRSS": &m.RSS, "RssAnon": &m.Anon, "RssFile": &m.File, "VmHWM": &m.HWM}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), ":")
		if p := fields[name]; ok && p != nil {
			if kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err == nil {
				*p = kib << 10
			}
		}
	}
	return m
}

// String is "RSS (anonymous A, file F)".
func (m procMemory) String() string {
	return fmt.Sprintf("%s (anonymous %s, file %s)", mib(m.RSS), mib(m.Anon), mib(m.File))
}

// serverGauges reads unlabelled gauges from the server's /metrics, in the
// order named; a gauge not found (or no ops listener) reads 0.
func serverGauges(opsAddr string, names ...string) []float64 {
	out := make([]float64, len(names))
	if opsAddr == "" {
		return out
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}} // no proxy
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + opsAddr + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 8<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		for i, want := range names {
			if name == want {
				out[i], _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			}
		}
	}
	return out
}

func (r pushPendingResult) print(w io.Writer) {
	ms := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	fmt.Fprintf(w, "push pending: %d pushes held unanswered on %d phones (push_timeout %s), all delivered %s after the first request\n",
		r.Pending, r.Approvers, r.PushTimeout, r.Ramp.Round(time.Millisecond))
	if r.Held > 0 {
		fmt.Fprintf(w, "server with them pending: %.0f requests held, %.0f goroutines; Go heap in use %s, goroutine stacks %s\n",
			r.Held, r.Goroutines, mib(int64(r.HeapInuse)), mib(int64(r.StackInuse)))
	}
	fmt.Fprintf(w, "server RSS: %s idle; %s with %d pending; %s after the TOTP load beside them; peak (VmHWM) %s\n",
		r.MemIdle, r.MemPending, r.Pending, r.MemAfterLoad, mib(r.RSSPeak))
	fmt.Fprintf(w, "RSS with the pushes pending: %s (target < %s: %s)\n",
		mib(max(r.MemPending.RSS, r.MemAfterLoad.RSS)), mib(r.RSSTarget), targetVerdict(r.RSSMet))
	fmt.Fprintf(w, "TOTP logins, %d users, concurrency %d, %s each:\n", r.TOTPUsers, r.Concurrency, r.Duration)
	for _, l := range []struct {
		what string
		res  benchResult
	}{{"no push pending", r.Idle}, {fmt.Sprintf("%d pending", r.Pending), r.Loaded}, {"none pending again", r.After}} {
		fmt.Fprintf(w, "  %-19s %6.0f accepted/s, p50 %s, p99 %s, max %s; sent %d: accepted %d, rejected %d, timeouts %d; server CPU %s per login\n",
			l.what+":", l.res.AcceptedPerSec, ms(l.res.P50), ms(l.res.P99), ms(l.res.Max), l.res.Sent, l.res.Accepted,
			l.res.Rejected, l.res.Timeouts, l.res.ServerCPUPerLogin.Round(time.Microsecond))
	}
	fmt.Fprintf(w, "TOTP p99 with pushes pending / the mean of the two without: %.2f (target ≤ %.1f: %s)\n", r.P99Ratio, r.P99Target, targetVerdict(r.P99Met))
	fmt.Fprintf(w, "held requests: %d ended by push timeout (Access-Reject), %d accepted, %d unanswered; the first ended %s after the first was sent\n",
		r.HeldRejected, r.HeldAccepted, r.HeldUnanswered, r.HeldFirstEnd.Round(time.Millisecond))
}
