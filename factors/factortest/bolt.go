package factortest

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"radiusmfa/store"
	"radiusmfa/store/bolt"
)

// testKey is a fixed master key; the files live only as long as a test.
var testKey = bytes.Repeat([]byte{7}, store.MasterKeySize)

// DB is a real bbolt store in a test's temp dir.
type DB struct {
	*bolt.DB
	path string
}

// OpenBolt opens a new, empty bbolt store in t.TempDir(). It is closed when
// the test ends.
func OpenBolt(t testing.TB) *DB {
	t.Helper()
	d := &DB{path: filepath.Join(t.TempDir(), "radiusmfa.db")}
	d.open(t)
	t.Cleanup(func() {
		if err := d.DB.Close(); err != nil {
			t.Errorf("close bbolt store: %v", err)
		}
	})
	return d
}

func (d *DB) open(t testing.TB) {
	t.Helper()
	db, err := bolt.Open(d.path, testKey, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.DB = db
}

// Reopen closes the store and opens its file again, as a restart does: only
// what was committed is there.
func (d *DB) Reopen(t testing.TB) {
	t.Helper()
	if err := d.DB.Close(); err != nil {
		t.Fatal(err)
	}
	d.open(t)
}

// Add stores e, creating its user first when the store has none by that name.
func (d *DB) Add(t testing.TB, e store.Enrollment) {
	t.Helper()
	ctx := context.Background()
	err := d.CreateUser(ctx, store.User{Name: e.User})
	if err != nil && !errors.Is(err, store.ErrExists) {
		t.Fatal(err)
	}
	if err := d.AddEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
}

// Stored returns the stored copy of e, failing t when there is none.
func (d *DB) Stored(t testing.TB, e store.Enrollment) store.Enrollment {
	t.Helper()
	list, err := d.Enrollments(context.Background(), e.User)
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
