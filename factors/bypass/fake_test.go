package bypass

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"radiusmfa/store"
)

// fakeStore is an in-memory Updater for unit tests: fn runs on a copy under
// one lock, as in a store transaction, and the copy is kept only when fn
// returns nil. Like the real store it refuses changes to the fields that
// make an enrollment what it is.
type fakeStore struct {
	mu    sync.Mutex
	recs  map[string]store.Enrollment
	calls int
	err   error // returned by every UpdateEnrollment when set
}

func newFakeStore(es ...store.Enrollment) *fakeStore {
	m := &fakeStore{recs: map[string]store.Enrollment{}}
	for _, e := range es {
		m.put(e)
	}
	return m
}

func (m *fakeStore) put(e store.Enrollment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.Secret = bytes.Clone(e.Secret)
	m.recs[e.User+"/"+e.ID] = e
}

func (m *fakeStore) get(t *testing.T, e store.Enrollment) store.Enrollment {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	got, ok := m.recs[e.User+"/"+e.ID]
	if !ok {
		t.Fatalf("enrollment %s/%s not stored", e.User, e.ID)
	}
	return got
}

func (m *fakeStore) delete(e store.Enrollment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, e.User+"/"+e.ID)
}

func (m *fakeStore) UpdateEnrollment(_ context.Context, user, id string, fn func(*store.Enrollment) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.err != nil {
		return m.err
	}
	old, ok := m.recs[user+"/"+id]
	if !ok {
		return fmt.Errorf("%w: enrollment %q of user %q", store.ErrNotFound, id, user)
	}
	e := old
	e.Secret = bytes.Clone(old.Secret)
	if err := fn(&e); err != nil {
		return err
	}
	if e.ID != old.ID || e.User != old.User || e.Kind != old.Kind || !bytes.Equal(e.Secret, old.Secret) ||
		!e.CreatedAt.Equal(old.CreatedAt) || e.CreatedBy != old.CreatedBy {
		return store.ErrInvalid
	}
	m.recs[user+"/"+id] = e
	return nil
}
