package backup_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"radiusmfa/factors"
	"radiusmfa/factors/backup"
	"radiusmfa/store"
	"radiusmfa/store/bolt"
)

// The tests in this file run the factor on the real bbolt store in a temp
// dir: the sealed secret round trip, the used-code bitmask surviving a
// restart, and the store's transaction serialising concurrent logins.

var testKey = bytes.Repeat([]byte{7}, 32)

func openBolt(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, testKey, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// boltWithCodes opens a store holding alice and a fresh set of backup codes.
func boltWithCodes(t *testing.T, path string) (*bolt.DB, store.Enrollment, []string) {
	t.Helper()
	db := openBolt(t, path)
	ctx := context.Background()
	if err := db.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	e, codes, err := backup.Generate("alice", backup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	return db, e, codes
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

func TestBoltUseSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "radiusmfa.db")
	db, e, codes := boltWithCodes(t, path)
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	f := backup.New(db, backup.Options{Now: func() time.Time { return at }})

	read := stored(t, db, e)
	if !bytes.Equal(read.Secret, e.Secret) || read.Kind != backup.Kind || read.Counter != 0 {
		t.Fatalf("stored enrollment differs: %+v", read)
	}
	for _, c := range codes[:2] {
		if err := f.Verify(ctx, read, c); err != nil {
			t.Fatalf("code %s: %v", c, err)
		}
	}
	// read is stale now: the store's transaction refuses the replay.
	if err := f.Verify(ctx, read, codes[0]); !errors.Is(err, factors.ErrReplayed) {
		t.Fatalf("replay on a stale record: got %v, want ErrReplayed", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openBolt(t, path)
	defer db.Close()
	f = backup.New(db, backup.Options{Now: func() time.Time { return at }})
	read = stored(t, db, e)
	if read.Counter != 0b11 || !read.LastUsedAt.Equal(at) || backup.Remaining(read) != backup.DefaultN-2 {
		t.Fatalf("after restart: Counter %b, LastUsedAt %v, Remaining %d",
			read.Counter, read.LastUsedAt, backup.Remaining(read))
	}
	if err := f.Verify(ctx, read, codes[1]); !errors.Is(err, factors.ErrReplayed) {
		t.Errorf("replay after restart: got %v, want ErrReplayed", err)
	}
	if err := f.Verify(ctx, read, backup.FormatCode(codes[2])); err != nil {
		t.Errorf("unused code after restart: %v", err)
	}
}

func TestBoltConcurrentSameCode(t *testing.T) {
	db, e, codes := boltWithCodes(t, filepath.Join(t.TempDir(), "radiusmfa.db"))
	defer db.Close()
	f := backup.New(db, backup.Options{})
	read := stored(t, db, e)
	var ok, replayed int
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 20 {
		wg.Go(func() {
			<-start
			err := f.Verify(context.Background(), read, codes[0])
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
	if ok != 1 || replayed != 19 {
		t.Errorf("20 logins: %d accepted, %d replayed; want 1 and 19", ok, replayed)
	}
	if got := stored(t, db, e).Counter; got != 1 {
		t.Errorf("Counter %b, want 1", got)
	}
}

func TestBoltDeletedCodesVoid(t *testing.T) {
	ctx := context.Background()
	db, e, codes := boltWithCodes(t, filepath.Join(t.TempDir(), "radiusmfa.db"))
	defer db.Close()
	read := stored(t, db, e)
	if err := db.DeleteEnrollment(ctx, e.User, e.ID); err != nil {
		t.Fatal(err)
	}
	if err := backup.New(db, backup.Options{}).Verify(ctx, read, codes[0]); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("code of deleted set: got %v, want ErrInvalidCode", err)
	}
}
