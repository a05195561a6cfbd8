package bolt

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"radiusmfa/store"
	"radiusmfa/store/storetest"
)

// testKey is a fixed master key: tests that compare files need it stable.
var testKey = bytes.Repeat([]byte{0x42}, store.MasterKeySize)

// testTime is an arbitrary fixed instant for calls that take one.
var testTime = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

var suiteOptions = Options{
	MaxAuditRecords: storetest.AuditMaxRecords,
	MaxAuditAge:     storetest.AuditMaxAge,
}

// openTemp opens a new database in t's temporary directory.
func openTemp(t testing.TB, opts Options) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "radiusmfa.db")
	db, err := Open(path, testKey, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

func testUser(name string) store.User {
	return store.User{Name: name, CreatedAt: testTime, UpdatedAt: testTime}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, _ := openTemp(t, suiteOptions)
		return db
	})
}

func TestPersistence(t *testing.T) {
	storetest.RunPersistent(t, func(t *testing.T, dir string) store.Store {
		db, err := Open(filepath.Join(dir, "radiusmfa.db"), testKey, suiteOptions)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return db
	})
}

func TestOpenLockedByAnotherHolder(t *testing.T) {
	_, path := openTemp(t, Options{})
	start := time.Now()
	_, err := Open(path, testKey, Options{LockTimeout: 100 * time.Millisecond})
	if err == nil {
		t.Fatal("second Open of a held database succeeded")
	}
	if !strings.Contains(err.Error(), "another process holds the database") {
		t.Errorf("error %q does not say the database is held", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("Open waited %v for the lock", waited)
	}
}

func TestOpenWrongKey(t *testing.T) {
	db, path := openTemp(t, Options{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	other := bytes.Repeat([]byte{0x17}, store.MasterKeySize)
	_, err := Open(path, other, Options{})
	if err == nil || !errors.Is(err, errWrongKey) ||
		!strings.Contains(err.Error(), "master key does not match this database") {
		t.Fatalf("Open with another key: %v", err)
	}
	// The right key still opens it: the failed attempt changed nothing.
	db, err = Open(path, testKey, Options{})
	if err != nil {
		t.Fatalf("reopen with the right key: %v", err)
	}
	_ = db.Close()
}

func TestOpenBadKeyLength(t *testing.T) {
	path := filepath.Join(t.TempDir(), "radiusmfa.db")
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := Open(path, make([]byte, n), Options{}); err == nil {
			t.Errorf("Open accepted a %d-byte key", n)
		}
	}
}

func TestNamesRejected(t *testing.T) {
	db, _ := openTemp(t, Options{})
	ctx := t.Context()
	for _, name := range []string{"", "a\x00b", strings.Repeat("x", maxNameLen+1)} {
		if err := db.CreateUser(ctx, store.User{Name: name}); err == nil {
			t.Errorf("CreateUser(%q) accepted", name)
		}
	}
	if err := db.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	err := db.AddEnrollment(ctx, store.Enrollment{User: "alice", ID: "e\x00x"})
	if err == nil {
		t.Error("AddEnrollment accepted an id with a NUL byte")
	}
}

// Every store opened for serving commits with fsync; only an explicit bulk
// load turns it off. (A kill -9 keeps the page cache, so the crash tests
// cannot see a missing fsync: this test does.)
func TestFsyncOnUnlessBulk(t *testing.T) {
	key := make([]byte, 32)
	for _, c := range []struct {
		opts   Options
		noSync bool
	}{{Options{}, false}, {Options{NoSync: true}, true}} {
		d, err := Open(filepath.Join(t.TempDir(), "db"), key, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if d.bolt.NoSync != c.noSync {
			t.Errorf("Options.NoSync=%v gave bbolt NoSync=%v", c.opts.NoSync, d.bolt.NoSync)
		}
		d.Close()
	}
}
