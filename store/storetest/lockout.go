package storetest

import (
	"testing"
	"time"

	"radiusmfa/store"
)

// fail records one failure and returns the resulting lockout.
func fail(t *testing.T, s store.Store, user string, at time.Time, p store.LockoutPolicy) store.Lockout {
	t.Helper()
	l, err := s.RecordFailure(t.Context(), user, at, p)
	wantErr(t, "RecordFailure", err, nil)
	return l
}

func lockoutOf(t *testing.T, s store.Store, user string) store.Lockout {
	t.Helper()
	l, err := s.Lockout(t.Context(), user)
	wantErr(t, "Lockout", err, nil)
	return l
}

func testLockoutThreshold(t *testing.T, s store.Store) {
	p := store.LockoutPolicy{Threshold: 3, Duration: 10 * time.Minute}
	if l := lockoutOf(t, s, "nobody"); !equalLockouts(l, store.Lockout{}) {
		t.Fatalf("Lockout of a fresh name = %+v, want zero", l)
	}
	// Names the store has no user for are counted too: lockout must not
	// reveal which accounts exist.
	for i := 1; i < 3; i++ {
		at := base.Add(time.Duration(i) * time.Second)
		l := fail(t, s, "nobody", at, p)
		if l.Failures != i || l.Locked || !l.LastFailure.Equal(at) {
			t.Fatalf("failure %d: %+v", i, l)
		}
	}
	at := base.Add(3 * time.Second)
	l := fail(t, s, "nobody", at, p)
	if l.Failures != 3 || !l.Locked || !l.LockedUntil.Equal(at.Add(p.Duration)) {
		t.Fatalf("third failure: %+v, want locked until %v", l, at.Add(p.Duration))
	}
	if !l.Active(at.Add(5*time.Minute)) || l.Active(at.Add(p.Duration)) {
		t.Errorf("lock active at +5m: %v, at its end: %v", l.Active(at.Add(5*time.Minute)), l.Active(at.Add(p.Duration)))
	}
	if stored := lockoutOf(t, s, "nobody"); !equalLockouts(stored, l) {
		t.Errorf("Lockout = %+v, RecordFailure returned %+v", stored, l)
	}
}

func testLockoutExpiry(t *testing.T, s store.Store) {
	p := store.LockoutPolicy{Threshold: 2, Duration: time.Minute}
	fail(t, s, "alice", base, p)
	l := fail(t, s, "alice", base, p)
	if !l.Locked {
		t.Fatalf("not locked after threshold: %+v", l)
	}
	// A failure during the lock is counted but does not extend it, so
	// nobody can keep an account locked by sending failures.
	at := base.Add(30 * time.Second)
	l = fail(t, s, "alice", at, p)
	if l.Failures != 3 || !l.LockedUntil.Equal(base.Add(p.Duration)) {
		t.Fatalf("failure while locked: %+v, want the lock to end at %v", l, base.Add(p.Duration))
	}
	// After the lock ran out, counting starts over.
	later := l.LockedUntil.Add(time.Second)
	l = fail(t, s, "alice", later, p)
	if l.Failures != 1 || l.Locked || !l.LockedUntil.IsZero() || !l.LastFailure.Equal(later) {
		t.Fatalf("failure after expiry: %+v, want a fresh count of 1", l)
	}
}

func testLockoutUntilCleared(t *testing.T, s store.Store) {
	p := store.LockoutPolicy{Threshold: 1} // Duration 0: until an admin clears it
	l := fail(t, s, "alice", base, p)
	if !l.Locked || !l.LockedUntil.IsZero() || !l.Active(base.AddDate(10, 0, 0)) {
		t.Fatalf("permanent lock: %+v", l)
	}
	wantErr(t, "ClearFailures", s.ClearFailures(t.Context(), "alice"), nil)
	if l := lockoutOf(t, s, "alice"); l.Active(base) || l.Failures != 0 {
		t.Errorf("after ClearFailures: %+v", l)
	}
}

func testLockoutDisabled(t *testing.T, s store.Store) {
	var l store.Lockout
	for i := range 20 {
		l = fail(t, s, "alice", base.Add(time.Duration(i)*time.Second), store.LockoutPolicy{})
	}
	if l.Failures != 20 || l.Locked {
		t.Errorf("threshold 0: %+v, want 20 failures and no lock", l)
	}
}

func testClearFailures(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, "ClearFailures with no counter", s.ClearFailures(ctx, "alice"), nil)
	fail(t, s, "alice", base, store.LockoutPolicy{Threshold: 5})
	fail(t, s, "bob", base, store.LockoutPolicy{Threshold: 5})
	wantErr(t, "ClearFailures", s.ClearFailures(ctx, "alice"), nil)
	if l := lockoutOf(t, s, "alice"); !equalLockouts(l, store.Lockout{}) {
		t.Errorf("after ClearFailures: %+v, want zero", l)
	}
	if l := lockoutOf(t, s, "bob"); l.Failures != 1 {
		t.Errorf("ClearFailures(alice) touched bob: %+v", l)
	}
	if l := fail(t, s, "alice", base, store.LockoutPolicy{Threshold: 5}); l.Failures != 1 {
		t.Errorf("first failure after clearing counts %d", l.Failures)
	}
}

func equalLockouts(a, b store.Lockout) bool {
	return a.Failures == b.Failures && a.Locked == b.Locked &&
		a.LastFailure.Equal(b.LastFailure) && a.LockedUntil.Equal(b.LockedUntil)
}
