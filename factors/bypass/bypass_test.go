package bypass

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"radiusmfa/factors"
	"radiusmfa/factors/factortest"
	"radiusmfa/store"
)

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600))

func mustIssue(t *testing.T, r Request) (store.Enrollment, string) {
	t.Helper()
	e, code, err := Issue("alice", r, t0)
	if err != nil {
		t.Fatal(err)
	}
	return e, code
}

func TestIssueDefaults(t *testing.T) {
	e, code := mustIssue(t, Request{By: "helpdesk-bob"})
	if !regexp.MustCompile(`^[0-9]{8}$`).MatchString(code) {
		t.Errorf("code %q is not 8 digits", code)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(e.ID) {
		t.Errorf("id %q is not 16 hex digits", e.ID)
	}
	want := store.Enrollment{ID: e.ID, User: "alice", Kind: "bypass", Label: "bypass code",
		CreatedAt: t0.UTC(), ExpiresAt: t0.Add(time.Hour).UTC(), MaxUses: 1, CreatedBy: "helpdesk-bob"}
	got := e
	got.Secret = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("enrollment\n got %+v\nwant %+v", got, want)
	}
	if len(e.Secret) != SaltSize+sha256.Size {
		t.Errorf("secret of %d bytes", len(e.Secret))
	}
	if UsesLeft(e) != 1 || !Usable(e, t0) {
		t.Errorf("fresh code: UsesLeft %d, Usable %v", UsesLeft(e), Usable(e, t0))
	}
	e2, _ := mustIssue(t, Request{})
	if e2.ID == e.ID || bytes.Equal(e2.Secret[:SaltSize], e.Secret[:SaltSize]) {
		t.Error("two codes share an id or a salt")
	}
}

func TestIssueLimits(t *testing.T) {
	ok := []Request{
		{Uses: 1, TTL: time.Minute}, {Uses: 100, TTL: 30 * 24 * time.Hour}, {Uses: 5},
	}
	for _, r := range ok {
		e, _, err := Issue("alice", r, t0)
		if err != nil {
			t.Errorf("%+v: %v", r, err)
			continue
		}
		ttl := r.TTL
		if ttl == 0 {
			ttl = time.Hour
		}
		if e.MaxUses != r.Uses || !e.ExpiresAt.Equal(t0.Add(ttl)) {
			t.Errorf("%+v: MaxUses %d, ExpiresAt %v", r, e.MaxUses, e.ExpiresAt)
		}
	}
	bad := []struct {
		r    Request
		want string
	}{
		{Request{Uses: -1}, "-1 uses requested (want 1 to 100)"},
		{Request{Uses: 101}, "101 uses requested (want 1 to 100)"},
		{Request{TTL: 59 * time.Second}, "lifetime 59s requested (want 1 minute to 30 days)"},
		{Request{TTL: 30*24*time.Hour + time.Nanosecond}, "(want 1 minute to 30 days)"},
		{Request{TTL: -time.Hour}, "lifetime -1h0m0s requested (want 1 minute to 30 days)"},
	}
	for _, c := range bad {
		_, code, err := Issue("alice", c.r, t0)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error containing %q", c.r, err, c.want)
		}
		if code != "" {
			t.Errorf("%+v: a code was returned with the error", c.r)
		}
	}
}

func TestSingleUse(t *testing.T) {
	e, code := mustIssue(t, Request{})
	m := factortest.NewStore(e)
	at := t0.Add(time.Minute)
	f := New(m, Options{Now: factortest.Clock(at)})
	ctx := context.Background()
	if err := f.Verify(ctx, e, code); err != nil {
		t.Fatal(err)
	}
	got := m.Stored(t, e)
	if got.Counter != 1 || !got.LastUsedAt.Equal(at) || UsesLeft(got) != 0 || Usable(got, at) {
		t.Errorf("after use: Counter %d, LastUsedAt %v, UsesLeft %d", got.Counter, got.LastUsedAt, UsesLeft(got))
	}
	// Used up as read at login: refused as invalid, like an expired code.
	if err := f.Verify(ctx, got, code); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("second use: got %v, want ErrInvalidCode", err)
	}
	// Used up only in the store: the login raced another and lost.
	if err := f.Verify(ctx, e, code); !errors.Is(err, factors.ErrReplayed) {
		t.Errorf("second use on a stale record: got %v, want ErrReplayed", err)
	}
}

func TestUsesLimit(t *testing.T) {
	e, code := mustIssue(t, Request{Uses: 3, TTL: 24 * time.Hour})
	m := factortest.NewStore(e)
	f := New(m, Options{Now: factortest.Clock(t0)})
	for i := range 3 {
		if left := UsesLeft(m.Stored(t, e)); left != 3-i {
			t.Errorf("before use %d: UsesLeft %d", i+1, left)
		}
		if err := f.Verify(context.Background(), m.Stored(t, e), code); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	if err := f.Verify(context.Background(), m.Stored(t, e), code); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("fourth use: got %v, want ErrInvalidCode", err)
	}
	if got := m.Stored(t, e).Counter; got != 3 {
		t.Errorf("Counter %d, want 3", got)
	}
}

func TestExpiryBoundary(t *testing.T) {
	e, code := mustIssue(t, Request{TTL: time.Hour})
	for _, c := range []struct {
		at   time.Time
		want error
	}{
		{t0, nil},
		{e.ExpiresAt.Add(-time.Nanosecond), nil},
		{e.ExpiresAt, factors.ErrInvalidCode},
		{e.ExpiresAt.Add(time.Nanosecond), factors.ErrInvalidCode},
		{e.ExpiresAt.Add(24 * time.Hour), factors.ErrInvalidCode},
	} {
		m := factortest.NewStore(e)
		if err := New(m, Options{Now: factortest.Clock(c.at)}).Verify(context.Background(), e, code); !errors.Is(err, c.want) {
			t.Errorf("at expiry%+v: got %v, want %v", c.at.Sub(e.ExpiresAt), err, c.want)
		}
		if Usable(e, c.at) != (c.want == nil) {
			t.Errorf("at expiry%+v: Usable %v", c.at.Sub(e.ExpiresAt), Usable(e, c.at))
		}
		if c.want != nil && m.Calls() != 0 {
			t.Errorf("at expiry%+v: an expired code reached the store", c.at.Sub(e.ExpiresAt))
		}
	}
}

// TestRevokedSinceRead: the record read at login is live, but the stored
// one was revoked (expiry pulled in, disabled, deleted) before the write.
func TestRevokedSinceRead(t *testing.T) {
	e, code := mustIssue(t, Request{Uses: 2})
	for name, revoke := range map[string]func(*factortest.Store){
		"expired":  func(m *factortest.Store) { s := e; s.ExpiresAt = t0; m.Put(s) },
		"disabled": func(m *factortest.Store) { s := e; s.Disabled = true; m.Put(s) },
		"deleted":  func(m *factortest.Store) { m.Delete(e) },
	} {
		m := factortest.NewStore(e)
		revoke(m)
		err := New(m, Options{Now: factortest.Clock(t0.Add(time.Minute))}).Verify(context.Background(), e, code)
		if !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("%s: got %v, want ErrInvalidCode", name, err)
		}
	}
}

func TestWrongAndMalformedCodes(t *testing.T) {
	e, code := mustIssue(t, Request{Uses: 100})
	m := factortest.NewStore(e)
	f := New(m, Options{Now: factortest.Clock(t0)})
	n, _ := strconv.Atoi(code)
	wrong := strconv.Itoa(100_000_000 + (n+1)%100_000_000)[1:]
	for _, c := range []string{
		wrong, "", code[:7], code + "0", "abcdefgh", code[:7] + "x", code[:4] + "\t" + code[4:],
		"１２３４５６７８", strings.Repeat("9", 1<<20),
	} {
		if err := f.Verify(context.Background(), e, c); !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("code %.20q: got %v, want ErrInvalidCode", c, err)
		}
	}
	if m.Calls() != 0 {
		t.Errorf("the store was called %d times", m.Calls())
	}
	for _, c := range []string{code[:4] + " " + code[4:], code[:4] + "-" + code[4:], " " + code + " "} {
		if err := f.Verify(context.Background(), e, c); err != nil {
			t.Errorf("code %q: %v", c, err)
		}
	}
}

func TestMalformedSecret(t *testing.T) {
	e, code := mustIssue(t, Request{})
	for _, n := range []int{0, SaltSize, SaltSize + sha256.Size - 1, SaltSize + sha256.Size + 1} {
		e.Secret = make([]byte, n)
		err := New(factortest.NewStore(e), Options{Now: factortest.Clock(t0)}).Verify(context.Background(), e, code)
		if err == nil || errors.Is(err, factors.ErrInvalidCode) || errors.Is(err, factors.ErrReplayed) {
			t.Errorf("secret of %d bytes: got %v, want an error", n, err)
		}
	}
}

func TestStoreBroken(t *testing.T) {
	e, code := mustIssue(t, Request{})
	m := factortest.NewStore(e)
	m.Fail(errors.New("disk on fire"))
	err := New(m, Options{Now: factortest.Clock(t0)}).Verify(context.Background(), e, code)
	if err == nil || errors.Is(err, factors.ErrInvalidCode) || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("got %v, want the store's error", err)
	}
}

// TestConcurrentUses offers one code from 10 logins at once, all holding the
// record read before any of them wrote: exactly MaxUses get in.
func TestConcurrentUses(t *testing.T) {
	for _, uses := range []int{1, 3} {
		e, code := mustIssue(t, Request{Uses: uses})
		m := factortest.NewStore(e)
		f := New(m, Options{Now: factortest.Clock(t0)})
		ok, replayed := factortest.Race(t, f, e, code, 10)
		if ok != uses || replayed != 10-uses {
			t.Errorf("%d uses: %d accepted, %d replayed; want %d and %d", uses, ok, replayed, uses, 10-uses)
		}
		if got := m.Stored(t, e).Counter; got != uint64(uses) {
			t.Errorf("%d uses: Counter %d", uses, got)
		}
	}
}

// TestInvariantSecretHoldsNoCode checks the invariant on issue: the code, as
// text or as its number's bytes, does not appear in the secret.
func TestInvariantSecretHoldsNoCode(t *testing.T) {
	for seed := range byte(50) {
		e, code, err := issue("alice", Request{}, t0, rand.NewChaCha8([32]byte{seed}))
		if err != nil {
			t.Fatal(err)
		}
		v, _ := strconv.ParseUint(code, 10, 32)
		var be, le [4]byte
		binary.BigEndian.PutUint32(be[:], uint32(v))
		binary.LittleEndian.PutUint32(le[:], uint32(v))
		for _, form := range [][]byte{[]byte(code), []byte(code[:4]), []byte(code[4:]), be[:], le[:]} {
			if bytes.Contains(e.Secret, form) {
				t.Fatalf("seed %d: secret holds code %s as %x", seed, code, form)
			}
		}
	}
}

// TestInvariantUnlimitedNeverUsable: a record without an expiry or a use
// limit (never made by Issue) fails closed.
func TestInvariantUnlimitedNeverUsable(t *testing.T) {
	e, code := mustIssue(t, Request{})
	noExpiry, noLimit := e, e
	noExpiry.ExpiresAt = time.Time{}
	noLimit.MaxUses = 0
	for name, r := range map[string]store.Enrollment{"no expiry": noExpiry, "no use limit": noLimit} {
		if Usable(r, t0) {
			t.Errorf("%s: usable", name)
		}
		err := New(factortest.NewStore(r), Options{Now: factortest.Clock(t0)}).Verify(context.Background(), r, code)
		if !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("%s: got %v, want ErrInvalidCode", name, err)
		}
	}
}

func TestUsableAndUsesLeft(t *testing.T) {
	e, _ := mustIssue(t, Request{Uses: 5, TTL: time.Hour})
	for _, c := range []struct {
		counter uint64
		left    int
	}{{0, 5}, {4, 1}, {5, 0}, {6, 0}, {1 << 63, 0}} {
		e.Counter = c.counter
		if got := UsesLeft(e); got != c.left {
			t.Errorf("Counter %d: UsesLeft %d, want %d", c.counter, got, c.left)
		}
		if got := Usable(e, t0); got != (c.left > 0) {
			t.Errorf("Counter %d: Usable %v", c.counter, got)
		}
	}
	e.Counter = 0
	disabled, other := e, e
	disabled.Disabled = true
	other.Kind = "backup"
	if Usable(disabled, t0) || Usable(other, t0) {
		t.Error("a disabled code or another kind is usable")
	}
}
