// Package factortest helps test the code factors (backup, bypass) against a
// store: Store is an in-memory fake of the one store method they use, DB a
// real bbolt store in the test's temp dir, and Race offers one code from many
// logins at once. The fake refuses the same identity changes as the real
// store (TestStoreRefusesLikeBolt), so a factor that passes on one does not
// lean on a leniency of the other.
package factortest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"radiusmfa/store"
)

// Store is an in-memory store for unit tests with the one method the factors
// need, UpdateEnrollment: fn runs on a copy under one lock, as in a store
// transaction, and the copy is kept only when fn returns nil. Like the real
// store it refuses changes to the fields that make an enrollment what it is.
type Store struct {
	mu    sync.Mutex
	recs  map[string]store.Enrollment
	calls int
	err   error
}

// NewStore returns a Store holding es.
func NewStore(es ...store.Enrollment) *Store {
	m := &Store{recs: map[string]store.Enrollment{}}
	for _, e := range es {
		m.Put(e)
	}
	return m
}

func key(user, id string) string { return user + "/" + id }

// Put stores a copy of e, replacing any enrollment of the same user and ID.
func (m *Store) Put(e store.Enrollment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.Secret = bytes.Clone(e.Secret)
	m.recs[key(e.User, e.ID)] = e
}

// Stored returns the stored copy of e, failing t when there is none.
func (m *Store) Stored(t testing.TB, e store.Enrollment) store.Enrollment {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	got, ok := m.recs[key(e.User, e.ID)]
	if !ok {
		t.Fatalf("enrollment %s/%s not stored", e.User, e.ID)
	}
	return got
}

// Delete removes e.
func (m *Store) Delete(e store.Enrollment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, key(e.User, e.ID))
}

// Calls returns how many times UpdateEnrollment was called.
func (m *Store) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// Fail makes every later UpdateEnrollment return err, as a broken store
// would; nil heals it.
func (m *Store) Fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

// UpdateEnrollment implements the factors' Updater as store.Store documents
// it: store.ErrNotFound for a missing enrollment, fn's error returned with
// nothing written, and store.ErrInvalid when fn changed an identity field.
func (m *Store) UpdateEnrollment(_ context.Context, user, id string, fn func(*store.Enrollment) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.err != nil {
		return m.err
	}
	old, ok := m.recs[key(user, id)]
	if !ok {
		return fmt.Errorf("%w: enrollment %q of user %q", store.ErrNotFound, id, user)
	}
	e := old
	e.Secret = bytes.Clone(old.Secret)
	if err := fn(&e); err != nil {
		return err
	}
	if field := changedIdentity(old, e); field != "" {
		return fmt.Errorf("%w: enrollment %q of user %q: %s cannot be changed", store.ErrInvalid, id, user, field)
	}
	m.recs[key(user, id)] = e
	return nil
}

// changedIdentity names the first field that makes an enrollment what it is
// and differs between old and e, or returns "".
func changedIdentity(old, e store.Enrollment) string {
	switch {
	case e.ID != old.ID:
		return "ID"
	case e.User != old.User:
		return "User"
	case e.Kind != old.Kind:
		return "Kind"
	case !bytes.Equal(e.Secret, old.Secret):
		return "Secret"
	case !e.CreatedAt.Equal(old.CreatedAt):
		return "CreatedAt"
	case e.CreatedBy != old.CreatedBy:
		return "CreatedBy"
	}
	return ""
}

// Clock returns a clock stopped at t.
func Clock(t time.Time) func() time.Time { return func() time.Time { return t } }
