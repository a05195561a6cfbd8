package backup_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"radiusmfa/factors"
	"radiusmfa/factors/backup"
	"radiusmfa/factors/factortest"
	"radiusmfa/store"
)

// The tests in this file run the factor on the real bbolt store in a temp
// dir: the sealed secret round trip, the used-code bitmask surviving a
// restart, and the store's transaction serialising concurrent logins.

// boltWithCodes opens a store holding alice and a fresh set of backup codes.
func boltWithCodes(t *testing.T) (*factortest.DB, store.Enrollment, []string) {
	t.Helper()
	db := factortest.OpenBolt(t)
	e, codes, err := backup.Generate("alice", backup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Add(t, e)
	return db, e, codes
}

func TestBoltUseSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	db, e, codes := boltWithCodes(t)
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	f := backup.New(db, backup.Options{Now: factortest.Clock(at)})

	read := db.Stored(t, e)
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

	db.Reopen(t)
	f = backup.New(db, backup.Options{Now: factortest.Clock(at)})
	read = db.Stored(t, e)
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
	db, e, codes := boltWithCodes(t)
	ok, replayed := factortest.Race(t, backup.New(db, backup.Options{}), db.Stored(t, e), codes[0], 20)
	if ok != 1 || replayed != 19 {
		t.Errorf("20 logins: %d accepted, %d replayed; want 1 and 19", ok, replayed)
	}
	if got := db.Stored(t, e).Counter; got != 1 {
		t.Errorf("Counter %b, want 1", got)
	}
}

func TestBoltDeletedCodesVoid(t *testing.T) {
	ctx := context.Background()
	db, e, codes := boltWithCodes(t)
	read := db.Stored(t, e)
	if err := db.DeleteEnrollment(ctx, e.User, e.ID); err != nil {
		t.Fatal(err)
	}
	if err := backup.New(db, backup.Options{}).Verify(ctx, read, codes[0]); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("code of deleted set: got %v, want ErrInvalidCode", err)
	}
}
