package bolt

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// storedValues returns the bucketEnrollments and bucketCounters values of
// (user, id) as they are on disk.
func storedValues(t *testing.T, db *DB, user, id string) (record, counter []byte) {
	t.Helper()
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		key := enrollmentKey(user, id)
		record = bytes.Clone(tx.Bucket(bucketEnrollments).Get(key))
		counter = bytes.Clone(tx.Bucket(bucketCounters).Get(key))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return record, counter
}

// TestUpdateEnrollmentWritesOnlyWhatChanged checks UpdateEnrollment keeps
// the login path's split: a counter-only update (a backup code consumed)
// leaves the record and its sealed secret byte for byte, a settings-only
// update leaves the counters value, and an update that changes nothing
// leaves both. The secret is never sealed again.
func TestUpdateEnrollmentWritesOnlyWhatChanged(t *testing.T) {
	db, _ := openTemp(t, Options{})
	ctx := t.Context()
	if err := db.CreateUser(ctx, testUser("alice")); err != nil {
		t.Fatal(err)
	}
	e := store.Enrollment{ID: "b1", User: "alice", Kind: "backup", Secret: []byte("hashes"), CreatedAt: testTime}
	if err := db.AddEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	update := func(what string, fn func(*store.Enrollment)) {
		t.Helper()
		err := db.UpdateEnrollment(ctx, "alice", "b1", func(e *store.Enrollment) error {
			fn(e)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	record, counter := storedValues(t, db, "alice", "b1")

	update("nothing", func(*store.Enrollment) {})
	if r, c := storedValues(t, db, "alice", "b1"); !bytes.Equal(r, record) || !bytes.Equal(c, counter) {
		t.Error("an update that changed nothing rewrote a value")
	}
	// The same instant in another zone is no change: only instants are stored.
	update("the same instant elsewhere", func(e *store.Enrollment) {
		e.CreatedAt = e.CreatedAt.In(time.FixedZone("x", 3600))
	})
	if r, _ := storedValues(t, db, "alice", "b1"); !bytes.Equal(r, record) {
		t.Error("an update that moved CreatedAt to another zone rewrote the record")
	}

	update("counter", func(e *store.Enrollment) { e.Counter, e.LastUsedAt = 0b100, testTime })
	r, c := storedValues(t, db, "alice", "b1")
	if !bytes.Equal(r, record) {
		t.Error("a counter-only update rewrote the record")
	}
	if want, _ := (counterState{Counter: 0b100, LastUsedAt: testTime}).encode(); !bytes.Equal(c, want) {
		t.Errorf("counters value %x, want %x", c, want)
	}
	counter = c

	update("settings", func(e *store.Enrollment) { e.Label, e.Preferred = "paper", true })
	r, c = storedValues(t, db, "alice", "b1")
	if !bytes.Equal(c, counter) {
		t.Error("a settings-only update rewrote the counters value")
	}
	old, err := decodeEnrollmentRecord(record)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := decodeEnrollmentRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Label != "paper" || !rec.Preferred || !bytes.Equal(rec.SealedSecret, old.SealedSecret) {
		t.Errorf("record after a settings update: %+v (sealed secret kept: %v)", rec,
			bytes.Equal(rec.SealedSecret, old.SealedSecret))
	}
}

// TestUpdateEnrollmentCorruptRecord checks a damaged record or counters value
// is an error naming the enrollment, fn is not called, and nothing is written.
func TestUpdateEnrollmentCorruptRecord(t *testing.T) {
	for name, c := range map[string]struct {
		bucket []byte
		value  []byte
		want   string
	}{
		"truncated record":  {bucketEnrollments, []byte{enrollmentFormat2, 4}, "corrupt enrollment record"},
		"short counter":     {bucketCounters, make([]byte, 8), "corrupt counter value"},
		"secret moved here": {bucketEnrollments, nil, "does not open"},
	} {
		t.Run(name, func(t *testing.T) {
			db, _ := openTemp(t, Options{})
			ctx := t.Context()
			if err := db.CreateUser(ctx, testUser("alice")); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"e1", "e2"} {
				e := store.Enrollment{ID: id, User: "alice", Kind: "totp", Secret: []byte(id)}
				if err := db.AddEnrollment(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			value := c.value
			if value == nil { // e2's record, sealed for another position
				value, _ = storedValues(t, db, "alice", "e2")
			}
			err := db.bolt.Update(func(tx *bbolt.Tx) error {
				return tx.Bucket(c.bucket).Put(enrollmentKey("alice", "e1"), value)
			})
			if err != nil {
				t.Fatal(err)
			}
			record, counter := storedValues(t, db, "alice", "e1")
			called := false
			err = db.UpdateEnrollment(ctx, "alice", "e1", func(e *store.Enrollment) error {
				called = true
				e.Label = "changed"
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"e1"`) ||
				errors.Is(err, store.ErrNotFound) {
				t.Errorf("UpdateEnrollment over a %s: %v, want an error containing %q", name, err, c.want)
			}
			if called {
				t.Error("fn called with a corrupt enrollment")
			}
			if r, c := storedValues(t, db, "alice", "e1"); !bytes.Equal(r, record) || !bytes.Equal(c, counter) {
				t.Error("a failed UpdateEnrollment wrote")
			}
		})
	}
}
