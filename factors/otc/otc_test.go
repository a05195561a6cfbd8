package otc_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"radiusmfa/factors"
	"radiusmfa/factors/factortest"
	"radiusmfa/factors/otc"
	"radiusmfa/store"
)

var ctx = context.Background()

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func phone(user string) store.Enrollment {
	e, err := otc.NewEnrollment(user, "p1", "sms", "Work phone", "+15855553816", nil)
	if err != nil {
		panic(err)
	}
	return e
}

func setup(t *testing.T, o otc.Options) (*otc.Codes, *factortest.Store, *clock, store.Enrollment) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 23, 9, 14, 0, 0, time.UTC)}
	if o.Now == nil {
		o.Now = clk.Now
	}
	e := phone("alice")
	s := factortest.NewStore(e)
	c, err := otc.New(s, "sms", o)
	if err != nil {
		t.Fatal(err)
	}
	return c, s, clk, e
}

func issue(t *testing.T, c *otc.Codes, e store.Enrollment) string {
	t.Helper()
	code, _, err := c.Issue(ctx, e.User, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// A sent code works once, within its lifetime; the code itself is not
// kept, only a keyed 64-bit HMAC of it, and the device's secret (its key
// and number) never changes.
func TestCodeIsSingleUse(t *testing.T) {
	c, s, clk, e := setup(t, otc.Options{})
	code, expires, err := c.Issue(ctx, "alice", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		t.Fatalf("code %q: want 6 digits", code)
	}
	if want := clk.Now().Add(10 * time.Minute); !expires.Equal(want) {
		t.Errorf("expires %v, want %v (10 minutes by default)", expires, want)
	}
	stored := s.Stored(t, e)
	if !bytes.Equal(stored.Secret, e.Secret) || stored.Counter == 0 || !stored.ExpiresAt.Equal(expires) {
		t.Fatalf("stored: secret changed %v, tag %x, expiry %v", !bytes.Equal(stored.Secret, e.Secret), stored.Counter, stored.ExpiresAt)
	}
	if dest, err := otc.Destination(stored); dest != "+15855553816" || err != nil {
		t.Errorf("Destination = %q, %v", dest, err)
	}
	if got, ok := c.Pending(stored); !ok || !got.Equal(expires) {
		t.Errorf("Pending = %v, %v; want %v", got, ok, expires)
	}
	if err := c.Verify(ctx, stored, code); err != nil {
		t.Fatalf("the sent code: %v", err)
	}
	if err := c.Verify(ctx, stored, code); !errors.Is(err, factors.ErrReplayed) {
		t.Errorf("the same code again (stale copy): %v, want replayed", err)
	}
	after := s.Stored(t, e)
	if err := c.Verify(ctx, after, code); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("the same code again (fresh copy): %v, want invalid", err)
	}
	if after.Counter != 0 || !after.ExpiresAt.IsZero() || !after.LastUsedAt.Equal(clk.Now()) {
		t.Errorf("after use: tag %x, expiry %v, last used %v", after.Counter, after.ExpiresAt, after.LastUsedAt)
	}
	if _, ok := c.Pending(after); ok {
		t.Error("a used code is still pending")
	}
}

// A wrong code is refused without a write; an expired one is refused as
// expired (a kind of invalid code), the right code or not.
func TestWrongAndExpiredCodes(t *testing.T) {
	c, s, clk, e := setup(t, otc.Options{TTL: 5 * time.Minute})
	code := issue(t, c, e)
	stored := s.Stored(t, e)
	calls := s.Calls()
	wrong := "000000"
	if wrong == code {
		wrong = "000001"
	}
	for _, bad := range []string{wrong, "", "12345", "1234567", "12345a", code + " ", "٠١٢٣٤٥"} {
		if err := c.Verify(ctx, stored, bad); !errors.Is(err, factors.ErrInvalidCode) || errors.Is(err, otc.ErrExpired) {
			t.Errorf("Verify(%q) = %v, want invalid", bad, err)
		}
	}
	if s.Calls() != calls {
		t.Errorf("wrong codes wrote to the store (%d calls, want %d)", s.Calls(), calls)
	}
	clk.Add(5*time.Minute - time.Second)
	if _, ok := c.Pending(stored); !ok {
		t.Error("not pending a second before its expiry")
	}
	clk.Add(time.Second)
	if _, ok := c.Pending(stored); ok {
		t.Error("pending at its expiry")
	}
	err := c.Verify(ctx, stored, code)
	if !errors.Is(err, otc.ErrExpired) || !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("the right code at its expiry: %v, want expired (an invalid code)", err)
	}
	if err := c.Verify(ctx, stored, wrong); errors.Is(err, otc.ErrExpired) {
		t.Error("a wrong code after the expiry says expired")
	}
}

// A new code replaces the previous one, which stops working at once.
func TestResendReplaces(t *testing.T) {
	c, s, _, e := setup(t, otc.Options{})
	first := issue(t, c, e)
	stale := s.Stored(t, e)
	second := issue(t, c, e)
	for first == second { // one chance in a million
		second = issue(t, c, e)
	}
	if err := c.Verify(ctx, s.Stored(t, e), first); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("the replaced code: %v, want invalid", err)
	}
	// A login that read the record before the resend cannot use the old
	// code either: the stored record is checked again.
	if err := c.Verify(ctx, stale, first); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("the replaced code from a stale copy: %v, want invalid", err)
	}
	if err := c.Verify(ctx, s.Stored(t, e), second); err != nil {
		t.Errorf("the new code: %v", err)
	}
}

// Of logins racing with one code, exactly one wins.
func TestConcurrentLogins(t *testing.T) {
	c, s, _, e := setup(t, otc.Options{})
	code := issue(t, c, e)
	ok, replayed := factortest.Race(t, c, s.Stored(t, e), code, 16)
	if ok != 1 || replayed != 15 {
		t.Errorf("%d accepted, %d replayed; want 1 and 15", ok, replayed)
	}
}

func TestOptionsAndRefusals(t *testing.T) {
	s := factortest.NewStore(phone("alice"))
	for _, d := range []int{5, 9, -1} {
		if _, err := otc.New(s, "sms", otc.Options{Digits: d}); err == nil {
			t.Errorf("%d digits accepted", d)
		}
	}
	if _, err := otc.New(s, "sms", otc.Options{TTL: -time.Second}); err == nil {
		t.Error("a negative lifetime accepted")
	}
	c8, err := otc.New(s, "sms", otc.Options{Digits: 8, Rand: zeros{}})
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := c8.Issue(ctx, "alice", "p1")
	if err != nil || code != "00000000" {
		t.Errorf("8 digits from a zero source: %q, %v; want 00000000 (zero-padded)", code, err)
	}
	if err := c8.Verify(ctx, s.Stored(t, phone("alice")), code); err != nil {
		t.Errorf("8-digit code: %v", err)
	}
	// Another kind's enrollment, a disabled device, an unknown one.
	email, err := otc.New(s, "email", otc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := email.Issue(ctx, "alice", "p1"); !errors.Is(err, otc.ErrNotSendable) {
		t.Errorf("email code to a phone: %v", err)
	}
	off := phone("bob")
	off.Disabled = true
	s.Put(off)
	if _, _, err := c8.Issue(ctx, "bob", "p1"); !errors.Is(err, otc.ErrNotSendable) {
		t.Errorf("code to a disabled phone: %v", err)
	}
	if _, _, err := c8.Issue(ctx, "carol", "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("code to an unknown device: %v", err)
	}
	// A malformed secret is an error, not a pass or a plain refusal.
	bad := s.Stored(t, phone("alice"))
	bad.Secret = []byte("junk")
	bad.Counter, bad.ExpiresAt = 1, time.Now().Add(time.Hour)
	if err := c8.Verify(ctx, bad, "12345678"); err == nil || errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("malformed secret: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// On the real store: the code's digest and expiry are sealed at rest and
// survive a restart; a used code stays used after one.
func TestBoltStore(t *testing.T) {
	db := factortest.OpenBolt(t)
	e := phone("alice")
	db.Add(t, e)
	clk := &clock{t: time.Date(2026, 11, 23, 9, 14, 0, 0, time.UTC)}
	c, err := otc.New(db, "sms", otc.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	code := issue(t, c, e)
	db.Reopen(t)
	stored := db.Stored(t, e)
	if _, ok := c.Pending(stored); !ok {
		t.Fatal("the code did not survive a restart")
	}
	if err := c.Verify(ctx, stored, code); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	db.Reopen(t)
	if err := c.Verify(ctx, stored, code); !errors.Is(err, factors.ErrReplayed) {
		t.Errorf("a used code after a restart: %v, want replayed", err)
	}
}

func TestNewEnrollment(t *testing.T) {
	a, err := otc.NewEnrollment("alice", "e1", "email", "Work", "alice@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := otc.NewEnrollment("alice", "e2", "email", "Work", "alice@example.com", nil)
	if bytes.Equal(a.Secret, b.Secret) {
		t.Error("two enrollments got the same key")
	}
	if d, err := otc.Destination(a); d != "alice@example.com" || err != nil {
		t.Errorf("Destination = %q, %v", d, err)
	}
	for _, dest := range []string{"", strings.Repeat("x", 321)} {
		if _, err := otc.NewEnrollment("alice", "e3", "sms", "", dest, nil); err == nil {
			t.Errorf("destination of %d bytes accepted", len(dest))
		}
	}
	if _, err := otc.Destination(store.Enrollment{Secret: []byte{1, 2}}); err == nil {
		t.Error("a malformed secret gave a destination")
	}
}
