package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"radiusmfa/store"
)

// testUpdateEnrollment changes every field the contract lets fn change, and
// then clears them, reading each result back through Enrollments and
// LoginState. fn sees the stored enrollment with its secret opened. Counter
// may go down: the replay floor is then the new value.
func testUpdateEnrollment(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "alice")
	want := mustAddEnrollment(t, s, "alice", "e1")
	other := mustAddEnrollment(t, s, "alice", "e2")
	wantErr(t, "AdvanceCounter", s.AdvanceCounter(ctx, "alice", "e1", 50, base), nil)
	want.Counter, want.LastUsedAt = 50, base

	update := func(what string, change func(*store.Enrollment)) {
		t.Helper()
		err := s.UpdateEnrollment(ctx, "alice", "e1", func(e *store.Enrollment) error {
			if !equalEnrollments(*e, want) {
				t.Errorf("%s: fn got %+v\nwant the stored %+v", what, *e, want)
			}
			change(e)
			return nil
		})
		wantErr(t, "UpdateEnrollment: "+what, err, nil)
		change(&want)
		checkEnrollmentsEverywhere(t, s, "alice", want, other)
	}
	update("set every writable field", func(e *store.Enrollment) {
		e.Label, e.Disabled, e.Preferred = "renamed", true, true
		e.Counter, e.LastUsedAt = 7, base.Add(time.Hour) // lowered from 50
		e.ExpiresAt, e.MaxUses = base.Add(24*time.Hour), 3
	})
	wantErr(t, "AdvanceCounter(7) after lowering", s.AdvanceCounter(ctx, "alice", "e1", 7, base), store.ErrReplay)
	wantErr(t, "AdvanceCounter(8) after lowering", s.AdvanceCounter(ctx, "alice", "e1", 8, base), nil)
	want.Counter, want.LastUsedAt = 8, base
	update("clear every writable field", func(e *store.Enrollment) {
		e.Label, e.Disabled, e.Preferred = "", false, false
		e.Counter, e.LastUsedAt = 0, time.Time{}
		e.ExpiresAt, e.MaxUses = time.Time{}, 0
	})
	update("change nothing", func(*store.Enrollment) {})
	update("set the counter alone", func(e *store.Enrollment) { e.Counter = 1 << 63 })
	update("set the last use alone", func(e *store.Enrollment) { e.LastUsedAt = base.Add(2 * time.Hour) })
	update("set the label alone", func(e *store.Enrollment) { e.Label = "label alone" })
}

// testUpdateEnrollmentRefusesIdentity tries to change each field that makes
// an enrollment what it is, along with writable ones: every attempt is
// refused with ErrInvalid and nothing at all is written.
func testUpdateEnrollmentRefusesIdentity(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "alice")
	mustCreateUser(t, s, "bob")
	want := store.Enrollment{ID: "e1", User: "alice", Kind: "bypass", Label: "issued",
		Secret: []byte("code hash"), Counter: 1, CreatedAt: base, ExpiresAt: base.Add(time.Hour),
		MaxUses: 2, CreatedBy: "helpdesk"}
	wantErr(t, "AddEnrollment", s.AddEnrollment(ctx, want), nil)
	for _, c := range []struct {
		field  string
		change func(*store.Enrollment)
	}{
		{"ID", func(e *store.Enrollment) { e.ID = "e2" }},
		{"User", func(e *store.Enrollment) { e.User = "bob" }},
		{"Kind", func(e *store.Enrollment) { e.Kind = "totp" }},
		{"Secret", func(e *store.Enrollment) { e.Secret = []byte("another code hash") }},
		{"Secret in place", func(e *store.Enrollment) { e.Secret[0] ^= 1 }},
		{"Secret removed", func(e *store.Enrollment) { e.Secret = nil }},
		{"CreatedAt", func(e *store.Enrollment) { e.CreatedAt = e.CreatedAt.Add(time.Second) }},
		{"CreatedBy", func(e *store.Enrollment) { e.CreatedBy = "mallory" }},
		{"CreatedBy cleared", func(e *store.Enrollment) { e.CreatedBy = "" }},
	} {
		err := s.UpdateEnrollment(ctx, "alice", "e1", func(e *store.Enrollment) error {
			e.Label, e.Disabled, e.Counter, e.MaxUses = "changed", true, 99, 100
			c.change(e)
			return nil
		})
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("UpdateEnrollment changing %s: got %v, want ErrInvalid", c.field, err)
		}
		checkEnrollmentsEverywhere(t, s, "alice", want)
		checkEnrollmentsEverywhere(t, s, "bob")
	}
}

// An error from fn aborts UpdateEnrollment, is returned, and leaves the
// enrollment as it was, whatever fn had changed.
func testUpdateEnrollmentErrorAborts(t *testing.T, s store.Store) {
	mustCreateUser(t, s, "alice")
	want := mustAddEnrollment(t, s, "alice", "e1")
	errStop := errors.New("stop")
	err := s.UpdateEnrollment(t.Context(), "alice", "e1", func(e *store.Enrollment) error {
		e.Label, e.Disabled, e.Preferred = "changed", true, true
		e.Counter, e.LastUsedAt = 5, base
		e.ExpiresAt, e.MaxUses = base, 1
		return errStop
	})
	wantErr(t, "UpdateEnrollment", err, errStop)
	checkEnrollmentsEverywhere(t, s, "alice", want)
}

func testUpdateEnrollmentNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "alice")
	mustCreateUser(t, s, "bob")
	mustAddEnrollment(t, s, "alice", "e1")
	mustAddEnrollment(t, s, "alice", "gone")
	wantErr(t, "DeleteEnrollment", s.DeleteEnrollment(ctx, "alice", "gone"), nil)
	for _, c := range []struct{ user, id string }{
		{"alice", "missing"}, {"alice", "gone"}, {"bob", "e1"}, {"ghost", "e1"}, {"", "e1"}, {"alice", ""},
	} {
		called := false
		err := s.UpdateEnrollment(ctx, c.user, c.id, func(*store.Enrollment) error {
			called = true
			return nil
		})
		wantErr(t, fmt.Sprintf("UpdateEnrollment(%q, %q)", c.user, c.id), err, store.ErrNotFound)
		if called {
			t.Errorf("fn called for the unknown enrollment %q of %q", c.id, c.user)
		}
	}
	checkEnrollmentsEverywhere(t, s, "bob")
}

// testUpdateEnrollmentConcurrent consumes backup codes the way the server
// does, one bit of Counter each, from many goroutines at once: no update may
// be lost, and of several consuming the same code exactly one succeeds.
func testUpdateEnrollmentConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "alice")
	want := store.Enrollment{ID: "b1", User: "alice", Kind: "backup", Secret: []byte("code hashes"),
		CreatedAt: base}
	wantErr(t, "AddEnrollment", s.AddEnrollment(ctx, want), nil)
	errUsed := errors.New("code already used")
	consume := func(bit uint) error {
		return s.UpdateEnrollment(ctx, "alice", "b1", func(e *store.Enrollment) error {
			if e.Counter&(1<<bit) != 0 {
				return errUsed
			}
			e.Counter |= 1 << bit
			e.LastUsedAt = base
			return nil
		})
	}

	const codes = 10
	errs := make([]error, codes)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range codes {
		wg.Go(func() {
			<-start
			errs[i] = consume(uint(i))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("consuming code %d: %v", i, err)
		}
	}
	want.Counter, want.LastUsedAt = 1<<codes-1, base
	checkEnrollmentsEverywhere(t, s, "alice", want)

	const racers = 20
	results := make([]error, racers)
	start = make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			results[i] = consume(codes)
		})
	}
	close(start)
	wg.Wait()
	accepted := 0
	for i, err := range results {
		switch {
		case err == nil:
			accepted++
		case !errors.Is(err, errUsed):
			t.Errorf("racer %d: got %v, want nil or fn's error", i, err)
		}
	}
	if accepted != 1 {
		t.Errorf("the same code consumed %d times out of %d, want exactly once", accepted, racers)
	}
	want.Counter |= 1 << codes
	checkEnrollmentsEverywhere(t, s, "alice", want)
}
