package enrollment

import (
	"net/netip"
	"sync"
	"time"
)

// Sign-in attempts per client address: a burst of signinBurst, then one
// every signinEvery. The lockout counters are shared with RADIUS, so
// without this anyone who reaches the site could lock any user name out
// of the VPN at the speed of their connection.
const (
	signinBurst   = 10
	signinEvery   = 6 * time.Second // 10 a minute
	maxRateClient = 100_000
)

// rateLimiter is a token bucket per address; IPv6 clients are grouped by
// /64, since one host usually holds a whole /64.
type rateLimiter struct {
	mu      sync.Mutex
	buckets map[netip.Prefix]*bucket
	now     func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newRateLimiter(now func() time.Time) *rateLimiter {
	return &rateLimiter{buckets: map[netip.Prefix]*bucket{}, now: now}
}

// allow takes one token for addr's bucket, reporting whether there was one.
func (rl *rateLimiter) allow(addr netip.Addr) bool {
	addr = addr.Unmap()
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	key, _ := addr.Prefix(bits)
	now := rl.now()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	b, ok := rl.buckets[key]
	if !ok {
		if len(rl.buckets) >= maxRateClient {
			rl.prune(now)
		}
		b = &bucket{tokens: signinBurst, at: now}
		rl.buckets[key] = b
	}
	b.tokens = min(signinBurst, b.tokens+now.Sub(b.at).Seconds()/signinEvery.Seconds())
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// prune drops full buckets (their clients are back to a fresh start
// anyway), and everything if that frees nothing; mu is held.
func (rl *rateLimiter) prune(now time.Time) {
	for k, b := range rl.buckets {
		if b.tokens+now.Sub(b.at).Seconds()/signinEvery.Seconds() >= signinBurst {
			delete(rl.buckets, k)
		}
	}
	if len(rl.buckets) >= maxRateClient {
		clear(rl.buckets)
	}
}
