package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// v1Record is the enrollment record exactly as schema version 1 declared it.
type v1Record struct {
	store.Enrollment
	SealedSecret []byte `json:"sealed_secret"`
}

// writeV1File writes path as a version-1 release left it, through bbolt
// alone: the version-1 buckets (names spelled out, as that release did), meta
// at version 1 with the key check value, the users, and each enrollment as a
// JSON v1Record whose secret is sealed by this package's sealer under testKey.
// Records maps a key to raw bytes to store instead of a v1Record.
func writeV1File(t *testing.T, path string, users []string, enrollments []store.Enrollment,
	records map[string][]byte) {
	t.Helper()
	writeLegacyFile(t, path, 1, []string{"meta", "users", "enrollments", "lockouts", "audit"},
		func(seal *sealer, buckets map[string]*bbolt.Bucket) error {
			for _, name := range users {
				val, err := json.Marshal(userRecordV2{Name: name, CreatedAt: testTime, UpdatedAt: testTime})
				if err != nil {
					return err
				}
				if err := buckets["users"].Put([]byte(name), val); err != nil {
					return err
				}
			}
			for _, e := range enrollments {
				val, err := json.Marshal(v1Record{Enrollment: e, SealedSecret: seal.sealSecret(e.User, e.ID, e.Secret)})
				if err != nil {
					return err
				}
				if err := buckets["enrollments"].Put([]byte(e.User+"\x00"+e.ID), val); err != nil {
					return err
				}
			}
			for key, val := range records {
				if err := buckets["enrollments"].Put([]byte(key), val); err != nil {
					return err
				}
			}
			return nil
		})
}

// writeLegacyFile lays out a database of an older schema version by hand:
// the named buckets, the version and the master-key check value; fill
// writes that version's records.
func writeLegacyFile(t *testing.T, path string, version uint64, names []string,
	fill func(seal *sealer, buckets map[string]*bbolt.Bucket) error) {
	t.Helper()
	seal, err := newSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawBolt(t, path)
	defer raw.Close()
	err = raw.Update(func(tx *bbolt.Tx) error {
		buckets := map[string]*bbolt.Bucket{}
		for _, name := range names {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			buckets[name] = b
		}
		meta := buckets["meta"]
		if err := meta.Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, version)); err != nil {
			return err
		}
		if err := seal.checkKey(meta); err != nil { // stores the check value
			return err
		}
		return fill(seal, buckets)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSchemaMigratesVersion1Counters opens a version-1 file and checks that
// the replay state moved into bucketCounters intact: the stored counter still
// refuses a replay, the next code is accepted, secrets still open, and the
// records no longer carry the counter.
func TestSchemaMigratesVersion1Counters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	lastUsed := testTime.Add(-time.Hour)
	old := []store.Enrollment{
		{ID: "e1", User: "alice", Kind: "totp", Label: "phone", Secret: []byte("alice seed\x00\xff"),
			Digits: 8, Algorithm: "SHA256", Period: 60, Counter: 42,
			CreatedAt: testTime.Add(-24 * time.Hour), LastUsedAt: lastUsed},
		{ID: "e2", User: "alice", Kind: "hotp", Secret: []byte("never used"), Counter: 0,
			Disabled: true, CreatedAt: testTime},
		{ID: "x", User: "bob", Kind: "totp", Secret: []byte("bob seed"), Counter: 7, CreatedAt: testTime},
	}
	writeV1File(t, path, []string{"alice", "bob"}, old, nil)

	db, err := Open(path, testKey, Options{})
	if err != nil {
		t.Fatalf("Open of a version-1 file: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx := t.Context()

	for _, want := range old {
		got := enrollmentOf(t, db, want.User, want.ID)
		if !sameEnrollment(got, want) {
			t.Errorf("migrated %s/%s:\n got %+v\nwant %+v", want.User, want.ID, got, want)
		}
	}
	if err := db.AdvanceCounter(ctx, "alice", "e1", 42, testTime); !errors.Is(err, store.ErrReplay) {
		t.Errorf("AdvanceCounter(42) after migration: %v, want ErrReplay", err)
	}
	if err := db.AdvanceCounter(ctx, "alice", "e1", 43, testTime); err != nil {
		t.Errorf("AdvanceCounter(43) after migration: %v", err)
	}
	if got := enrollmentOf(t, db, "alice", "e1"); got.Counter != 43 || !got.LastUsedAt.Equal(testTime) {
		t.Errorf("after AdvanceCounter(43): counter %d, last used %v", got.Counter, got.LastUsedAt)
	}
	if err := db.AdvanceCounter(ctx, "alice", "e2", 1, testTime); err != nil {
		t.Errorf("AdvanceCounter on a never-used migrated enrollment: %v", err)
	}

	// Through version 2 and on to the binary records of version 3, which have
	// no room for the counter.
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketEnrollments).ForEach(func(k, v []byte) error {
			if _, err := decodeEnrollmentRecord(v); err != nil {
				t.Errorf("migrated record %q: %v", k, err)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCountersMatchEnrollments(t, db)
	_ = db.Close()
	if v := storedVersion(t, path); v != schemaVersion() {
		t.Errorf("migrated to %d, want %d", v, schemaVersion())
	}
}

// TestSchemaFailedMigrationKeepsVersion1 gives the migration a record it
// cannot read: Open fails and the file is left at version 1 as it was, so the
// release that wrote it still opens it.
func TestSchemaFailedMigrationKeepsVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	good := store.Enrollment{ID: "e1", User: "alice", Kind: "totp", Secret: []byte("s"), Counter: 3}
	writeV1File(t, path, []string{"alice"}, []store.Enrollment{good},
		map[string][]byte{"alice\x00e2": []byte("{not json")})

	_, err := Open(path, testKey, Options{})
	if err == nil {
		t.Fatal("Open migrated a file with an unreadable record")
	}
	t.Log(err)
	if v := storedVersion(t, path); v != 1 {
		t.Errorf("failed migration left version %d, want 1", v)
	}
	raw := rawBolt(t, path)
	defer raw.Close()
	err = raw.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketCounters) != nil {
			t.Error("failed migration left the counters bucket behind")
		}
		var rec v1Record
		if err := json.Unmarshal(tx.Bucket(bucketEnrollments).Get([]byte("alice\x00e1")), &rec); err != nil {
			return err
		}
		if rec.Counter != 3 {
			t.Errorf("failed migration rewrote a record: counter %d", rec.Counter)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSchemaMigratesManyEnrollments migrates enough records to span many
// pages, so the rewrite under a moving cursor is exercised past page splits.
func TestSchemaMigratesManyEnrollments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	const users, perUser = 200, 15
	var names []string
	var old []store.Enrollment
	for u := range users {
		name := fmt.Sprintf("user%03d", u)
		names = append(names, name)
		for i := range perUser {
			old = append(old, store.Enrollment{ID: fmt.Sprint("e", i), User: name, Kind: "totp",
				Label: strings.Repeat("x", 40), Secret: []byte(name), Counter: uint64(u*perUser + i + 1),
				CreatedAt: testTime, LastUsedAt: testTime.Add(time.Duration(i) * time.Second)})
		}
	}
	writeV1File(t, path, names, old, nil)
	db, err := Open(path, testKey, Options{})
	if err != nil {
		t.Fatalf("Open of a version-1 file: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, want := range old {
		if got := enrollmentOf(t, db, want.User, want.ID); !sameEnrollment(got, want) {
			t.Fatalf("migrated %s/%s:\n got %+v\nwant %+v", want.User, want.ID, got, want)
		}
	}
	checkCountersMatchEnrollments(t, db)
}

func enrollmentOf(t *testing.T, db *DB, user, id string) store.Enrollment {
	t.Helper()
	list, err := db.Enrollments(t.Context(), user)
	if err != nil {
		t.Fatalf("Enrollments(%s): %v", user, err)
	}
	for _, e := range list {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("enrollment %s/%s missing", user, id)
	return store.Enrollment{}
}

func sameEnrollment(a, b store.Enrollment) bool {
	return a.ID == b.ID && a.User == b.User && a.Kind == b.Kind && a.Label == b.Label &&
		bytes.Equal(a.Secret, b.Secret) && a.Digits == b.Digits && a.Algorithm == b.Algorithm &&
		a.Period == b.Period && a.Counter == b.Counter && a.Disabled == b.Disabled &&
		a.CreatedAt.Equal(b.CreatedAt) && a.LastUsedAt.Equal(b.LastUsedAt) &&
		a.Preferred == b.Preferred && a.ExpiresAt.Equal(b.ExpiresAt) && a.MaxUses == b.MaxUses &&
		a.CreatedBy == b.CreatedBy
}
