package storetest

import (
	"context"
	"testing"
	"time"

	"radiusmfa/store"
)

func testPruneLockouts(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	old, recent := now.Add(-48*time.Hour), now.Add(-time.Minute)
	temp := store.LockoutPolicy{Threshold: 1, Duration: time.Hour}
	perm := store.LockoutPolicy{Threshold: 1}
	count := store.LockoutPolicy{Threshold: 5}
	mustFail := func(name string, at time.Time, p store.LockoutPolicy) {
		t.Helper()
		if _, err := s.RecordFailure(ctx, name, at, p); err != nil {
			t.Fatal(err)
		}
	}
	mustFail("idle-counter", old, count)                    // pruned: idle, not locked
	mustFail("expired-lock", old, temp)                     // pruned: its lock ran out long ago
	mustFail("recent-counter", recent, count)               // kept: not idle yet
	mustFail("permanent-lock", old, perm)                   // kept: locked until an admin clears it
	mustFail("active-lock", now.Add(-30*time.Minute), temp) // kept: still locked
	n, err := s.PruneLockouts(ctx, now.Add(-24*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("pruned %d counters, want 2", n)
	}
	for name, kept := range map[string]bool{"idle-counter": false, "expired-lock": false,
		"recent-counter": true, "permanent-lock": true, "active-lock": true} {
		l, err := s.Lockout(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if (l.Failures > 0) != kept {
			t.Errorf("%s: failures %d after pruning, kept should be %v", name, l.Failures, kept)
		}
	}
	if n, err := s.PruneLockouts(ctx, now.Add(-24*time.Hour), now); err != nil || n != 0 {
		t.Fatalf("second prune: %d, %v", n, err)
	}
}
