package bypass_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"radiusmfa/factors"
	"radiusmfa/factors/bypass"
	"radiusmfa/factors/factortest"
	"radiusmfa/store"
)

// The tests in this file run the factor on the real bbolt store in a temp
// dir: expiry, use limit and issuer round trip, uses surviving a restart,
// and the store's transaction serialising concurrent logins.

var issued = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// boltWithCode opens a store holding alice and a bypass code issued for r.
func boltWithCode(t *testing.T, r bypass.Request) (*factortest.DB, store.Enrollment, string) {
	t.Helper()
	db := factortest.OpenBolt(t)
	e, code, err := bypass.Issue("alice", r, issued)
	if err != nil {
		t.Fatal(err)
	}
	db.Add(t, e)
	return db, e, code
}

func TestBoltUsesSurviveRestart(t *testing.T) {
	ctx := context.Background()
	db, e, code := boltWithCode(t, bypass.Request{Uses: 2, TTL: 2 * time.Hour, By: "helpdesk-bob"})
	at := issued.Add(time.Hour)
	f := bypass.New(db, bypass.Options{Now: factortest.Clock(at)})

	read := db.Stored(t, e)
	if !bytes.Equal(read.Secret, e.Secret) || read.MaxUses != 2 || !read.ExpiresAt.Equal(e.ExpiresAt) ||
		read.CreatedBy != "helpdesk-bob" || !bypass.Usable(read, at) {
		t.Fatalf("stored enrollment differs: %+v", read)
	}
	if err := f.Verify(ctx, read, code); err != nil {
		t.Fatal(err)
	}

	db.Reopen(t)
	f = bypass.New(db, bypass.Options{Now: factortest.Clock(at)})
	read = db.Stored(t, e)
	if read.Counter != 1 || !read.LastUsedAt.Equal(at) || bypass.UsesLeft(read) != 1 {
		t.Fatalf("after restart: Counter %d, LastUsedAt %v, UsesLeft %d", read.Counter, read.LastUsedAt, bypass.UsesLeft(read))
	}
	if err := f.Verify(ctx, read, code); err != nil {
		t.Fatalf("second use: %v", err)
	}
	// read is stale now: the store's transaction refuses a third use.
	if err := f.Verify(ctx, read, code); !errors.Is(err, factors.ErrReplayed) {
		t.Errorf("third use on a stale record: got %v, want ErrReplayed", err)
	}
	if err := f.Verify(ctx, db.Stored(t, e), code); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("third use: got %v, want ErrInvalidCode", err)
	}
}

func TestBoltExpiryPulledIn(t *testing.T) {
	ctx := context.Background()
	db, e, code := boltWithCode(t, bypass.Request{})
	read := db.Stored(t, e)
	// An operator revokes the code by ending its life now.
	revoke := func(s *store.Enrollment) error { s.ExpiresAt = issued.Add(time.Minute); return nil }
	if err := db.UpdateEnrollment(ctx, e.User, e.ID, revoke); err != nil {
		t.Fatal(err)
	}
	f := bypass.New(db, bypass.Options{Now: factortest.Clock(issued.Add(time.Minute))})
	if err := f.Verify(ctx, read, code); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("revoked since read: got %v, want ErrInvalidCode", err)
	}
	if got := db.Stored(t, e).Counter; got != 0 {
		t.Errorf("Counter %d, want 0", got)
	}
}

func TestBoltConcurrentSingleUse(t *testing.T) {
	db, e, code := boltWithCode(t, bypass.Request{})
	f := bypass.New(db, bypass.Options{Now: factortest.Clock(issued)})
	ok, replayed := factortest.Race(t, f, db.Stored(t, e), code, 10)
	if ok != 1 || replayed != 9 {
		t.Errorf("10 logins: %d accepted, %d replayed; want 1 and 9", ok, replayed)
	}
	if got := db.Stored(t, e).Counter; got != 1 {
		t.Errorf("Counter %d, want 1", got)
	}
}
