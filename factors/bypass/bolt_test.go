package bypass_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"radiusmfa/factors"
	"radiusmfa/factors/bypass"
	"radiusmfa/store"
	"radiusmfa/store/bolt"
)

// The tests in this file run the factor on the real bbolt store in a temp
// dir: expiry, use limit and issuer round trip, uses surviving a restart,
// and the store's transaction serialising concurrent logins.

var (
	testKey = bytes.Repeat([]byte{7}, 32)
	issued  = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
)

func openBolt(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, testKey, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// boltWithCode opens a store holding alice and a bypass code issued for r.
func boltWithCode(t *testing.T, path string, r bypass.Request) (*bolt.DB, store.Enrollment, string) {
	t.Helper()
	db := openBolt(t, path)
	ctx := context.Background()
	if err := db.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	e, code, err := bypass.Issue("alice", r, issued)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	return db, e, code
}

func stored(t *testing.T, db *bolt.DB, e store.Enrollment) store.Enrollment {
	t.Helper()
	list, err := db.Enrollments(context.Background(), e.User)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.ID == e.ID {
			return s
		}
	}
	t.Fatalf("enrollment %s of %s not stored", e.ID, e.User)
	return store.Enrollment{}
}

func TestBoltUsesSurviveRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "radiusmfa.db")
	db, e, code := boltWithCode(t, path, bypass.Request{Uses: 2, TTL: 2 * time.Hour, By: "helpdesk-bob"})
	at := issued.Add(time.Hour)
	f := bypass.New(db, bypass.Options{Now: func() time.Time { return at }})

	read := stored(t, db, e)
	if !bytes.Equal(read.Secret, e.Secret) || read.MaxUses != 2 || !read.ExpiresAt.Equal(e.ExpiresAt) ||
		read.CreatedBy != "helpdesk-bob" || !bypass.Usable(read, at) {
		t.Fatalf("stored enrollment differs: %+v", read)
	}
	if err := f.Verify(ctx, read, code); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openBolt(t, path)
	defer db.Close()
	f = bypass.New(db, bypass.Options{Now: func() time.Time { return at }})
	read = stored(t, db, e)
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
	if err := f.Verify(ctx, stored(t, db, e), code); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("third use: got %v, want ErrInvalidCode", err)
	}
}

func TestBoltExpiryPulledIn(t *testing.T) {
	ctx := context.Background()
	db, e, code := boltWithCode(t, filepath.Join(t.TempDir(), "radiusmfa.db"), bypass.Request{})
	defer db.Close()
	read := stored(t, db, e)
	// An operator revokes the code by ending its life now.
	revoke := func(s *store.Enrollment) error { s.ExpiresAt = issued.Add(time.Minute); return nil }
	if err := db.UpdateEnrollment(ctx, e.User, e.ID, revoke); err != nil {
		t.Fatal(err)
	}
	f := bypass.New(db, bypass.Options{Now: func() time.Time { return issued.Add(time.Minute) }})
	if err := f.Verify(ctx, read, code); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("revoked since read: got %v, want ErrInvalidCode", err)
	}
	if got := stored(t, db, e).Counter; got != 0 {
		t.Errorf("Counter %d, want 0", got)
	}
}

func TestBoltConcurrentSingleUse(t *testing.T) {
	db, e, code := boltWithCode(t, filepath.Join(t.TempDir(), "radiusmfa.db"), bypass.Request{})
	defer db.Close()
	f := bypass.New(db, bypass.Options{Now: func() time.Time { return issued }})
	read := stored(t, db, e)
	var ok, replayed int
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 10 {
		wg.Go(func() {
			<-start
			err := f.Verify(context.Background(), read, code)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, factors.ErrReplayed):
				replayed++
			default:
				t.Errorf("unexpected %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok != 1 || replayed != 9 {
		t.Errorf("10 logins: %d accepted, %d replayed; want 1 and 9", ok, replayed)
	}
	if got := stored(t, db, e).Counter; got != 1 {
		t.Errorf("Counter %d, want 1", got)
	}
}
