package codeuse

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"radiusmfa/factors"
	"radiusmfa/factors/factortest"
	"radiusmfa/factors/internal/codehash"
	"radiusmfa/store"
)

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func enrollment(codes ...string) store.Enrollment {
	salt := bytes.Repeat([]byte{3}, codehash.SaltSize)
	return store.Enrollment{ID: "c1", User: "alice", Kind: "backup", Secret: codehash.Seal(salt, codes...), CreatedAt: t0}
}

func TestSlot(t *testing.T) {
	e := enrollment("11111111", "22222222")
	if slot, err := Slot(e, "backup", "2222-2222", 2); err != nil || slot != 1 {
		t.Errorf("second code: slot %d, %v", slot, err)
	}
	for name, c := range map[string]struct{ kind, code string }{
		"not a code": {"backup", "2222222"},
		"other kind": {"bypass", "22222222"},
		"no match":   {"backup", "33333333"},
	} {
		if _, err := Slot(e, c.kind, c.code, 2); !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("%s: got %v, want ErrInvalidCode", name, err)
		}
	}
	// Two digests where one is allowed: broken, not a wrong code.
	_, err := Slot(e, "backup", "11111111", 1)
	if err == nil || errors.Is(err, factors.ErrInvalidCode) || !strings.Contains(err.Error(), `enrollment "c1" of user "alice"`) {
		t.Errorf("malformed secret: got %v", err)
	}
}

func TestRecord(t *testing.T) {
	ctx := context.Background()
	e := enrollment("11111111")
	m := factortest.NewStore(e)
	r := New(m, factortest.Clock(t0))
	at := r.Now().Add(time.Minute)
	if err := r.Record(ctx, e, at, func(s *store.Enrollment) error { s.Counter = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := m.Stored(t, e); got.Counter != 1 || !got.LastUsedAt.Equal(at) {
		t.Errorf("after use: Counter %d, LastUsedAt %v", got.Counter, got.LastUsedAt)
	}
	for _, refusal := range []error{factors.ErrReplayed, factors.ErrInvalidCode} {
		err := r.Record(ctx, e, t0.Add(time.Hour), func(s *store.Enrollment) error { s.Counter = 9; return refusal })
		if !errors.Is(err, refusal) {
			t.Errorf("refused with %v: got %v", refusal, err)
		}
	}
	if got := m.Stored(t, e); got.Counter != 1 || !got.LastUsedAt.Equal(at) {
		t.Errorf("a refused use was written: Counter %d, LastUsedAt %v", got.Counter, got.LastUsedAt)
	}
	use := func(*store.Enrollment) error { return nil }
	m.Fail(errors.New("disk on fire"))
	if err := r.Record(ctx, e, at, use); err == nil || errors.Is(err, factors.ErrInvalidCode) ||
		!strings.Contains(err.Error(), "backup: ") || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("broken store: got %v", err)
	}
	m.Fail(nil)
	m.Delete(e)
	if err := r.Record(ctx, e, at, use); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("deleted since read: got %v, want ErrInvalidCode", err)
	}
}

func TestNewDefaultsToWallClock(t *testing.T) {
	before := time.Now()
	if got := New(factortest.NewStore(), nil).Now(); got.Before(before) || got.After(time.Now()) {
		t.Errorf("Now %v is not the wall clock", got)
	}
}
