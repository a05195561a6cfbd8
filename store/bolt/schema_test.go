package bolt

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// rawBolt opens path with bbolt alone, to inspect or tamper with the file.
func rawBolt(t *testing.T, path string) *bbolt.DB {
	t.Helper()
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func storedVersion(t *testing.T, path string) int {
	t.Helper()
	raw := rawBolt(t, path)
	defer raw.Close()
	var v int
	err := raw.View(func(tx *bbolt.Tx) error {
		var err error
		v, err = readVersion(tx.Bucket(bucketMeta))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSchemaCreatedAtCurrentVersion(t *testing.T) {
	db, path := openTemp(t, Options{})
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketUsers, bucketEnrollments, bucketCounters,
			bucketLockouts, bucketAudit} {
			if tx.Bucket(name) == nil {
				t.Errorf("bucket %s missing", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if v := storedVersion(t, path); v != schemaVersion() {
		t.Errorf("new file at schema version %d, want %d", v, schemaVersion())
	}
	// Reopening at the same version runs nothing and changes nothing.
	db, err = Open(path, testKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if v := storedVersion(t, path); v != schemaVersion() {
		t.Errorf("after reopen: version %d", v)
	}
}

// TestSchemaNewerVersionRefused bumps a file holding data past what this code
// knows: Open must refuse it and leave every byte as it was.
func TestSchemaNewerVersionRefused(t *testing.T) {
	db, path := openTemp(t, Options{})
	ctx := t.Context()
	if err := db.CreateUser(ctx, testUser("alice")); err != nil {
		t.Fatal(err)
	}
	e := store.Enrollment{ID: "e1", User: "alice", Kind: "totp", Secret: []byte("s"), Counter: 4}
	if err := db.AddEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	for _, newer := range []int{schemaVersion() + 1, schemaVersion() + 100} {
		raw := rawBolt(t, path)
		err := raw.Update(func(tx *bbolt.Tx) error {
			return writeVersion(tx.Bucket(bucketMeta), newer)
		})
		_ = raw.Close()
		if err != nil {
			t.Fatal(err)
		}
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Open(path, testKey, Options{})
		if err == nil || !strings.Contains(err.Error(), "newer than this radiusmfa supports") {
			t.Fatalf("Open of schema %d: %v", newer, err)
		}
		if after, err := os.ReadFile(path); err != nil || !bytes.Equal(before, after) {
			t.Errorf("refused Open of schema %d changed the file (%v)", newer, err)
		}
		if v := storedVersion(t, path); v != newer {
			t.Errorf("refused Open rewrote the version %d to %d", newer, v)
		}
	}
}

// TestSchemaMigratesOlderFile builds a file as an older release left it
// (version 0: a meta bucket and nothing else) and checks Open upgrades it.
func TestSchemaMigratesOlderFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw := rawBolt(t, path)
	err := raw.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket(bucketMeta)
		return err
	})
	_ = raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, testKey, Options{})
	if err != nil {
		t.Fatalf("Open of an older file: %v", err)
	}
	if err := db.CreateUser(t.Context(), testUser("alice")); err != nil {
		t.Errorf("migrated file is unusable: %v", err)
	}
	_ = db.Close()
	if v := storedVersion(t, path); v != schemaVersion() {
		t.Errorf("migrated to %d, want %d", v, schemaVersion())
	}
}
