package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"layeh.com/radius"

	"radiusmfa/factors/push"
)

// pushLoginsResult is what a logins run measured.
type pushLoginsResult struct {
	benchResult
	Approvers   int
	PushTimeout time.Duration
	// Pushes the phones received and approvals the site took.
	PushesDelivered, Answered int64
	// UsersSpent: workers ran out of approvers (each may get
	// push.DefaultPerWindow pushes in the hub's window) before --duration.
	UsersSpent           bool
	GeneratorCPUPerLogin time.Duration // this process: requests, push service, approver
	Concurrency          int
	Target               float64
	TargetMet            bool
}

// benchPushLogins drives "password,push" logins at --concurrency for
// --duration while the phones approve every push.
func (c *cli) benchPushLogins(o benchOptions, srv *benchServer) (pushLoginsResult, error) {
	ps := o.Push.phones
	fmt.Fprintf(c.stderr, "bench: push logins from %d workers for %s, each push approved by its phone...\n", o.Concurrency, o.Duration)
	cpuServer, cpuSelf := processCPU(srv.pid), processCPU(os.Getpid())
	res, spent, err := runPushLogins(o, ps)
	ps.finish()
	if err != nil {
		return pushLoginsResult{}, err
	}
	perLogin := func(d time.Duration) time.Duration { return d / time.Duration(max(res.Accepted, 1)) }
	out := pushLoginsResult{benchResult: res, Approvers: len(ps.phones), PushTimeout: o.Push.timeout(o),
		PushesDelivered: ps.received.Load(), Answered: ps.answered.Load(), UsersSpent: spent,
		GeneratorCPUPerLogin: perLogin(processCPU(os.Getpid()) - cpuSelf), Concurrency: o.Concurrency,
		Target: pushLoginsTarget, TargetMet: res.AcceptedPerSec >= pushLoginsTarget}
	out.ServerCPUPerLogin = perLogin(processCPU(srv.pid) - cpuServer)
	return out, ps.err()
}

// runPushLogins runs the workers, each with its own socket and its own
// share of the approvers, one login outstanding. spent reports that a
// worker gave every one of its approvers the pushes the hub allows.
func runPushLogins(o benchOptions, ps *benchPhones) (res benchResult, spent bool, err error) {
	raddr, err := net.ResolveUDPAddr("udp", o.Addr)
	if err != nil {
		return res, false, err
	}
	var (
		mu       sync.Mutex
		lat      []time.Duration
		wg       sync.WaitGroup
		firstErr error
	)
	start := time.Now()
	stopAt := start.Add(o.Duration)
	for w := range min(o.Concurrency, len(ps.phones)) {
		var mine []string
		for i := w; i < len(ps.phones); i += o.Concurrency {
			mine = append(mine, ps.phones[i].user)
		}
		wg.Go(func() {
			l, r, done, err := pushLoginWorker(raddr, []byte(o.Secret), mine, stopAt, o.Timeout)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			lat = append(lat, l...)
			res.Sent, res.Accepted, res.Rejected, res.Timeouts = res.Sent+r.Sent, res.Accepted+r.Accepted, res.Rejected+r.Rejected, res.Timeouts+r.Timeouts
			spent = spent || done
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.AcceptedPerSec = float64(res.Accepted) / res.Elapsed.Seconds()
	res.P50, res.P99, res.Max = percentiles(lat)
	return res, spent, firstErr
}

// pushLoginWorker logs its users in with "password,push" in turn, each at
// most push.DefaultPerWindow times, until stopAt; done reports that it
// ran out of pushes first.
func pushLoginWorker(raddr *net.UDPAddr, secret []byte, users []string, stopAt time.Time, timeout time.Duration) (lat []time.Duration, r benchResult, done bool, err error) {
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, r, false, err
	}
	defer conn.Close()
	enc := newRequestEncoder(secret)
	buf := make([]byte, radius.MaxPacketLength)
	limit := len(users) * push.DefaultPerWindow
	i := 0
	for ; i < limit && time.Now().Before(stopAt); i++ {
		id := byte(i)
		pkt := enc.encode(id, users[i%len(users)], benchPushPassword, "push")
		t0 := time.Now()
		if _, err := conn.Write(pkt); err != nil {
			return lat, r, false, err
		}
		r.Sent++
		code, ok := awaitReply(conn, buf, id, t0.Add(timeout))
		switch {
		case !ok:
			r.Timeouts++
			continue
		case code == radius.CodeAccessAccept:
			r.Accepted++
		default:
			r.Rejected++
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, r, i == limit, nil
}

// awaitReply reads conn until the reply to id arrives (its code) or the
// deadline passes (ok false). Late replies to earlier ids are skipped.
func awaitReply(conn *net.UDPConn, buf []byte, id byte, deadline time.Time) (code radius.Code, ok bool) {
	_ = conn.SetReadDeadline(deadline)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return 0, false
		}
		if n >= 20 && buf[1] == id {
			return radius.Code(buf[0]), true
		}
	}
}

// percentiles are the p50, p99 and max of lat, which it sorts.
func percentiles(lat []time.Duration) (p50, p99, top time.Duration) {
	if len(lat) == 0 {
		return 0, 0, 0
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
}

func (r pushLoginsResult) print(w io.Writer) {
	us := func(d time.Duration) string { return d.Round(time.Microsecond).String() }
	fmt.Fprintf(w, "push logins: %d approvers, concurrency %d, %s; every push approved by its phone (signed answer posted to /approver/answer)\n",
		r.Approvers, r.Concurrency, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "sent %d: accepted %d, rejected %d, timeouts %d; pushes delivered %d, approvals taken %d\n",
		r.Sent, r.Accepted, r.Rejected, r.Timeouts, r.PushesDelivered, r.Answered)
	if r.UsersSpent {
		fmt.Fprintf(w, "note: workers ran out of approvers (%d pushes per user per %s): raise --push-users\n", push.DefaultPerWindow, push.DefaultWindow)
	}
	fmt.Fprintf(w, "accepted push logins/s: %.0f (target ≥ %.0f: %s)\n", r.AcceptedPerSec, r.Target, targetVerdict(r.TargetMet))
	fmt.Fprintf(w, "latency p50 %s, p99 %s, max %s\n", us(r.P50), us(r.P99), us(r.Max))
	fmt.Fprintf(w, "CPU per accepted login: server %s, this process (requests, push service, approver) %s\n",
		us(r.ServerCPUPerLogin), us(r.GeneratorCPUPerLogin))
}
