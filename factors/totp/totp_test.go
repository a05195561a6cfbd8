package totp

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"radiusmfa/factors"
	"radiusmfa/store"
)

// memCounters is a minimal in-memory CounterStore for unit tests; the real
// bbolt store is exercised by the conformance suite and integration tests.
type memCounters struct {
	mu sync.Mutex
	c  map[string]uint64
}

func (m *memCounters) AdvanceCounter(_ context.Context, user, id string, c uint64, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.c == nil {
		m.c = map[string]uint64{}
	}
	if c <= m.c[user+"/"+id] {
		return store.ErrReplay
	}
	m.c[user+"/"+id] = c
	return nil
}

// RFC 6238 Appendix B test vectors (8 digits).
func TestRFC6238Vectors(t *testing.T) {
	seeds := map[string]string{
		"SHA1":   "12345678901234567890",
		"SHA256": "12345678901234567890123456789012",
		"SHA512": "1234567890123456789012345678901234567890123456789012345678901234",
	}
	vectors := []struct {
		unix int64
		alg  string
		code string
	}{
		{59, "SHA1", "94287082"}, {59, "SHA256", "46119246"}, {59, "SHA512", "90693936"},
		{1111111109, "SHA1", "07081804"}, {1111111109, "SHA256", "68084774"}, {1111111109, "SHA512", "25091201"},
		{1111111111, "SHA1", "14050471"}, {1111111111, "SHA256", "67062674"}, {1111111111, "SHA512", "99943326"},
		{1234567890, "SHA1", "89005924"}, {1234567890, "SHA256", "91819424"}, {1234567890, "SHA512", "93441116"},
		{2000000000, "SHA1", "69279037"}, {2000000000, "SHA256", "90698825"}, {2000000000, "SHA512", "38618901"},
		{20000000000, "SHA1", "65353130"}, {20000000000, "SHA256", "77737706"}, {20000000000, "SHA512", "47863826"},
	}
	for _, v := range vectors {
		now := time.Unix(v.unix, 0)
		f := New(&memCounters{}, Options{Skew: 0, Now: func() time.Time { return now }})
		e := store.Enrollment{ID: "x", User: "u", Kind: Kind, Secret: []byte(seeds[v.alg]), Digits: 8, Algorithm: v.alg, Period: 30}
		if err := f.Verify(context.Background(), e, v.code); err != nil {
			t.Errorf("%s at %d: code %s refused: %v", v.alg, v.unix, v.code, err)
		}
		bad := []byte(v.code)
		bad[7] = '0' + (bad[7]-'0'+1)%10
		if err := f.Verify(context.Background(), e, string(bad)); !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("%s at %d: wrong code %s: got %v, want ErrInvalidCode", v.alg, v.unix, bad, err)
		}
	}
}

func TestSkewAndReplay(t *testing.T) {
	seed := []byte("12345678901234567890")
	base := time.Unix(1111111109, 0) // code 07081804 is for step 37037036
	cases := []struct {
		name   string
		offset time.Duration
		skew   int
		want   error
	}{
		{"same step", 0, 1, nil},
		{"one step later within skew", 30 * time.Second, 1, nil},
		{"one step earlier within skew", -30 * time.Second, 1, nil},
		{"two steps later outside skew", 60 * time.Second, 1, factors.ErrInvalidCode},
		{"one step later with zero skew", 30 * time.Second, 0, factors.ErrInvalidCode},
		{"two steps later with skew 2", 60 * time.Second, 2, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := base.Add(c.offset)
			f := New(&memCounters{}, Options{Skew: c.skew, Now: func() time.Time { return now }})
			e := store.Enrollment{ID: "x", User: "u", Kind: Kind, Secret: seed, Digits: 8, Period: 30}
			if err := f.Verify(context.Background(), e, "07081804"); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}

	t.Run("replay refused by store counter", func(t *testing.T) {
		m := &memCounters{}
		f := New(m, Options{Skew: 1, Now: func() time.Time { return base }})
		e := store.Enrollment{ID: "x", User: "u", Kind: Kind, Secret: seed, Digits: 8, Period: 30}
		if err := f.Verify(context.Background(), e, "07081804"); err != nil {
			t.Fatal(err)
		}
		if err := f.Verify(context.Background(), e, "07081804"); !errors.Is(err, factors.ErrReplayed) {
			t.Fatalf("second use: got %v, want ErrReplayed", err)
		}
	})
	t.Run("replay refused by enrollment counter", func(t *testing.T) {
		f := New(&memCounters{}, Options{Skew: 1, Now: func() time.Time { return base }})
		e := store.Enrollment{ID: "x", User: "u", Kind: Kind, Secret: seed, Digits: 8, Period: 30, Counter: 1111111109 / 30}
		if err := f.Verify(context.Background(), e, "07081804"); !errors.Is(err, factors.ErrReplayed) {
			t.Fatalf("got %v, want ErrReplayed", err)
		}
	})
}

func TestMalformedCodes(t *testing.T) {
	f := New(&memCounters{}, Options{Skew: 1})
	e := store.Enrollment{ID: "x", User: "u", Kind: Kind, Secret: []byte("12345678901234567890"), Digits: 6}
	for _, code := range []string{"", "12345", "1234567", "12345a", "١٢٣٤٥٦", " 12345"} {
		if err := f.Verify(context.Background(), e, code); !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("code %q: got %v, want ErrInvalidCode", code, err)
		}
	}
	disabled := e
	disabled.Disabled = true
	if err := f.Verify(context.Background(), disabled, "123456"); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("disabled enrollment: got %v", err)
	}
}

func TestNewEnrollment(t *testing.T) {
	p, err := NewEnrollment("alice", EnrollOptions{Issuer: "ACME VPN", Digits: 8, Algorithm: "sha256"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Enrollment.Secret) != SecretSize || p.Enrollment.Digits != 8 || p.Enrollment.Algorithm != "SHA256" {
		t.Fatalf("unexpected enrollment %+v", p.Enrollment)
	}
	if p.Enrollment.ID == "" || p.Secret == "" {
		t.Fatal("missing id or secret")
	}
	for _, want := range []string{"otpauth://totp/ACME%20VPN:alice", "secret=" + p.Secret, "digits=8", "algorithm=SHA256", "period=30"} {
		if !strings.Contains(p.URI, want) {
			t.Errorf("URI %q lacks %q", p.URI, want)
		}
	}
	if _, err := NewEnrollment("alice", EnrollOptions{Digits: 7}); err == nil {
		t.Error("7 digits accepted")
	}
	if _, err := NewEnrollment("alice", EnrollOptions{Algorithm: "MD5"}); err == nil {
		t.Error("MD5 accepted")
	}
}

// TestHOTPVectors checks hotpCode against RFC 4226 Appendix D.
func TestHOTPVectors(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314",
		"254676", "287922", "162583", "399871", "520489"}
	mac := hmac.New(sha1.New, []byte("12345678901234567890"))
	for c, w := range want {
		mac.Reset()
		var out [6]byte
		if got := string(hotpCode(mac, uint64(c), 6, nil, out[:])); got != w {
			t.Errorf("counter %d: got %s, want %s", c, got, w)
		}
	}
}
