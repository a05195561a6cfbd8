package enrollment

import (
	"net/http"
	"net/netip"
	"net/url"
	"testing"
	"time"
)

func TestSignInRateLimit(t *testing.T) {
	fx := newSiteFixture(t)
	form := url.Values{"user": {"mallory"}, "password": {"guess"}}
	for i := range signinBurst {
		if w := fx.do("POST", "/signin", form); w.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, w.Code)
		}
	}
	asked := len(fx.eng.reqs)
	if w := fx.do("POST", "/signin", form); w.Code != http.StatusTooManyRequests || len(fx.eng.reqs) != asked {
		t.Fatalf("attempt %d: %d (engine asked again: %v), want 429 without asking", signinBurst+1, w.Code, len(fx.eng.reqs) != asked)
	}
	fx.now = fx.now.Add(signinEvery)
	if w := fx.do("POST", "/signin", form); w.Code != http.StatusUnauthorized {
		t.Fatalf("after %s: %d, want one more attempt", signinEvery, w.Code)
	}
}

func TestRateLimiterKeys(t *testing.T) {
	now := time.Unix(0, 0)
	rl := newRateLimiter(func() time.Time { return now })
	drain := func(a string) {
		for range signinBurst {
			if !rl.allow(netip.MustParseAddr(a)) {
				t.Fatalf("%s refused within its burst", a)
			}
		}
	}
	drain("192.0.2.1")
	if rl.allow(netip.MustParseAddr("192.0.2.1")) || rl.allow(netip.MustParseAddr("::ffff:192.0.2.1")) {
		t.Error("an IPv4 client (or its mapped form) got past its burst")
	}
	if !rl.allow(netip.MustParseAddr("192.0.2.2")) {
		t.Error("a neighbour paid for another address")
	}
	drain("2001:db8::1")
	if rl.allow(netip.MustParseAddr("2001:db8::ffff")) {
		t.Error("another address of the same IPv6 /64 got a fresh burst")
	}
	if !rl.allow(netip.MustParseAddr("2001:db8:0:1::1")) {
		t.Error("another /64 was limited")
	}
}
