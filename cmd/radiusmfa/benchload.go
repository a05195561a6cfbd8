package main

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	crand "crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"layeh.com/radius"

	"radiusmfa/auth/localdir"
	"radiusmfa/config"
	"radiusmfa/factors/totp"
	"radiusmfa/store"
)

// benchUser is one enrolled login the generator can use.
type benchUser struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Secret   string `json:"secret"` // base32
	dn       string // LDAP-backed runs: the entry the user binds as
	lastStep int64
}

// enrollBenchUsers writes users and TOTP seeds straight into the store. One
// hash is computed and shared, so setup does not take users × hash time.
func (c *cli) enrollBenchUsers(cfg *config.Config, n int) ([]benchUser, error) {
	st, err := c.openStoreBulk(cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	a := cfg.LocalDir.Argon2
	const pw = "bench-password"
	hash, err := localdir.HashPassword(pw, localdir.Params{Time: a.Time, MemoryKiB: a.MemoryKiB, Threads: a.Threads}, nil)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	users := make([]benchUser, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	for i := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			name := fmt.Sprintf("bench%06d", i)
			if err := st.CreateUser(ctx, store.User{Name: name, PasswordHash: hash}); err != nil {
				errs <- err
				return
			}
			p, err := totp.NewEnrollment(name, totp.EnrollOptions{})
			if err == nil {
				err = st.AddEnrollment(ctx, p.Enrollment)
			}
			if err != nil {
				errs <- err
				return
			}
			users[i] = benchUser{Name: name, Password: pw, Secret: p.Secret}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return users, st.Sync()
}

// benchResult is what one run measured.
type benchResult struct {
	Sent, Accepted, Rejected, Timeouts, Skipped int64
	Elapsed                                     time.Duration
	AcceptedPerSec                              float64
	P50, P99, Max                               time.Duration
	ServerCPUPerLogin                           time.Duration    // with --spawn
	LDAP                                        *benchLDAPResult `json:",omitempty"`
}

func (r benchResult) print(w io.Writer, o benchOptions) {
	fmt.Fprintf(w, "target %s, %d users, concurrency %d, %s\n", o.Addr, o.Users, o.Concurrency, o.Duration)
	if o.Spawn && !o.LDAP.enabled() {
		fmt.Fprintf(w, "server argon2id: %s\n", o.Argon2)
	}
	fmt.Fprintf(w, "sent %d: accepted %d, rejected %d, timeouts %d\n", r.Sent, r.Accepted, r.Rejected, r.Timeouts)
	fmt.Fprintf(w, "accepted logins/s: %.0f\n", r.AcceptedPerSec)
	fmt.Fprintf(w, "latency p50 %s, p99 %s, max %s\n", r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
	if r.ServerCPUPerLogin > 0 {
		fmt.Fprintf(w, "server CPU per accepted login: %s (%.0f logins/s per core)\n",
			r.ServerCPUPerLogin.Round(time.Microsecond), float64(time.Second)/float64(r.ServerCPUPerLogin))
	}
	if r.LDAP != nil {
		r.LDAP.print(w, r.AcceptedPerSec, r.ServerCPUPerLogin, o.Concurrency)
	}
}

// runLoad drives the server with concurrency workers, each owning a slice of
// the users. A user's codes are used in increasing time steps (at most three
// per 30 s step with the default skew), so every login is a fresh code.
func runLoad(ctx context.Context, o benchOptions, users []benchUser) (benchResult, error) {
	raddr, err := net.ResolveUDPAddr("udp", o.Addr)
	if err != nil {
		return benchResult{}, err
	}
	var res benchResult
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	stopAt := start.Add(o.Duration)
	var firstErr atomic.Value
	for w := 0; w < o.Concurrency; w++ {
		var mine []*benchUser
		for i := w; i < len(users); i += o.Concurrency {
			mine = append(mine, &users[i])
		}
		if len(mine) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, r, err := benchWorker(raddr, []byte(o.Secret), mine, stopAt, o.Timeout)
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
			mu.Lock()
			lat = append(lat, l...)
			res.Sent += r.Sent
			res.Accepted += r.Accepted
			res.Rejected += r.Rejected
			res.Timeouts += r.Timeouts
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return res, err
	}
	res.Elapsed = time.Since(start)
	res.AcceptedPerSec = float64(res.Accepted) / res.Elapsed.Seconds()
	slices.Sort(lat)
	if len(lat) > 0 {
		res.P50, res.P99, res.Max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	return res, nil
}

func benchWorker(raddr *net.UDPAddr, secret []byte, users []*benchUser, stopAt time.Time, timeout time.Duration) ([]time.Duration, benchResult, error) {
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, benchResult{}, err
	}
	defer conn.Close()
	seeds := make([][]byte, len(users))
	for i, u := range users {
		if seeds[i], err = base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.Secret); err != nil {
			return nil, benchResult{}, fmt.Errorf("user %s: %w", u.Name, err)
		}
	}
	var r benchResult
	lat := make([]time.Duration, 0, 1024)
	enc := newRequestEncoder(secret)
	buf := make([]byte, radius.MaxPacketLength)
	var id byte
	for i := 0; time.Now().Before(stopAt); i++ {
		u := users[i%len(users)]
		now := time.Now()
		step := now.Unix() / 30
		// The previous step's code is still inside the server's ±1 window,
		// except when it could arrive after the next step begins.
		lowest := step - 1
		if time.Until(time.Unix((step+1)*30, 0)) < time.Second {
			lowest = step
		}
		next := max(u.lastStep+1, lowest)
		if next > step+1 {
			if i%len(users) == len(users)-1 { // every user of this worker is used up for this step
				time.Sleep(time.Until(time.Unix((step+1)*30, 0)))
			}
			continue
		}
		id++
		pkt := enc.encode(id, u.Name, u.Password, hotpCode(seeds[i%len(users)], uint64(next)))
		t0 := time.Now()
		if _, err := conn.Write(pkt); err != nil {
			return nil, r, err
		}
		r.Sent++
		u.lastStep = next
		_ = conn.SetReadDeadline(t0.Add(timeout))
		for {
			n, err := conn.Read(buf)
			if err != nil {
				r.Timeouts++
				break
			}
			if n < 20 || buf[1] != id {
				continue // a late reply to an earlier, timed-out request
			}
			lat = append(lat, time.Since(t0))
			if radius.Code(buf[0]) == radius.CodeAccessAccept {
				r.Accepted++
			} else {
				r.Rejected++
			}
			break
		}
	}
	return lat, r, nil
}

// hotpCode is RFC 4226's 6-digit HOTP (TOTP with the step as counter),
// computed here rather than through the library the server uses, so the
// generator is an independent implementation and cheap per request.
func hotpCode(key []byte, counter uint64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// requestEncoder builds Access-Requests (Message-Authenticator first,
// User-Name, User-Password) into one reused buffer.
type requestEncoder struct {
	secret []byte
	rng    *rand.ChaCha8
	buf    []byte
}

func newRequestEncoder(secret []byte) *requestEncoder {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	return &requestEncoder{secret: secret, rng: rand.NewChaCha8(seed), buf: make([]byte, 0, 512)}
}

func (e *requestEncoder) encode(id byte, user, password, code string) []byte {
	pw := password + "," + code
	padded := (len(pw) + 15) / 16 * 16
	b := e.buf[:20]
	b[0], b[1] = byte(radius.CodeAccessRequest), id
	auth := b[4:20]
	_, _ = e.rng.Read(auth)
	b = append(b, 80, 18)
	b = append(b, make([]byte, 16)...)
	b = append(b, 1, byte(2+len(user)))
	b = append(b, user...)
	b = append(b, 2, byte(2+padded))
	start := len(b)
	b = append(b, pw...)
	b = append(b, make([]byte, padded-len(pw))...)
	// RFC 2865 §5.2: c(i) = p(i) xor MD5(secret + c(i-1)), c(0) = authenticator.
	prev := auth
	for i := start; i < start+padded; i += 16 {
		h := md5.New()
		h.Write(e.secret)
		h.Write(prev)
		x := h.Sum(nil)
		for j := 0; j < 16; j++ {
			b[i+j] ^= x[j]
		}
		prev = b[i : i+16]
	}
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	mac := hmac.New(md5.New, e.secret)
	mac.Write(b)
	copy(b[22:38], mac.Sum(nil))
	e.buf = b
	return b
}

// printRounds summarises a run of several rounds: each figure round by
// round, throughput also pooled (everything done over all the time taken).
func printRounds(w io.Writer, rs []benchResult) {
	list := func(f func(benchResult) string) string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = f(r)
		}
		return strings.Join(out, ", ")
	}
	rate := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	us := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	var accepted int64
	var elapsed time.Duration
	for _, r := range rs {
		accepted += r.Accepted
		elapsed += r.Elapsed
	}
	pooled := float64(accepted) / elapsed.Seconds()
	fmt.Fprintf(w, "=== %d rounds\n", len(rs))
	fmt.Fprintf(w, "accepted logins/s: %s (pooled %.0f)\n", list(func(r benchResult) string { return rate(r.AcceptedPerSec) }), pooled)
	fmt.Fprintf(w, "latency p99: %s\n", list(func(r benchResult) string { return us(r.P99) }))
	fmt.Fprintf(w, "server CPU per login: %s\n", list(func(r benchResult) string { return us(r.ServerCPUPerLogin) }))
	if rs[0].LDAP == nil || len(rs[0].LDAP.Ceilings) == 0 {
		return
	}
	if rs[0].LDAP.DirectoryCPUPerLogin > 0 {
		fmt.Fprintf(w, "directory CPU per login: %s\n", list(func(r benchResult) string { return us(r.LDAP.DirectoryCPUPerLogin) }))
	}
	var ceilingOps []int64
	var ceilingTime []time.Duration
	for i, c := range rs[0].LDAP.Ceilings {
		ceilingOps, ceilingTime = append(ceilingOps, 0), append(ceilingTime, 0)
		for _, r := range rs {
			ceilingOps[i] += r.LDAP.Ceilings[i].Ops
			ceilingTime[i] += r.LDAP.Ceilings[i].Elapsed
		}
		fmt.Fprintf(w, "direct %s/s: %s (pooled %.0f); p99 %s\n", c.Name,
			list(func(r benchResult) string { return rate(r.LDAP.Ceilings[i].OpsPerSec) }),
			float64(ceilingOps[i])/ceilingTime[i].Seconds(),
			list(func(r benchResult) string { return us(r.LDAP.Ceilings[i].P99) }))
	}
	ratio := pooled / (float64(ceilingOps[0]) / ceilingTime[0].Seconds())
	verdict := "met"
	if ratio < ldapTarget {
		verdict = "MISSED"
	}
	fmt.Fprintf(w, "logins/s of the search-then-bind ceiling: %s; pooled %.0f%% (target ≥ %.0f%%: %s)\n",
		list(func(r benchResult) string { return fmt.Sprintf("%.0f%%", 100*r.LDAP.OfCeiling) }), 100*ratio, 100*ldapTarget, verdict)
}
