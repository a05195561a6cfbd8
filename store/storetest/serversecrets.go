package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"radiusmfa/store"
)

// maxSecretName is the longest server secret name the contract allows.
const maxSecretName = 1024

func serverSecretOf(t *testing.T, s store.Store, name string) []byte {
	t.Helper()
	v, err := s.ServerSecret(t.Context(), name)
	wantErr(t, "ServerSecret "+name, err, nil)
	return v
}

func putServerSecret(t *testing.T, s store.Store, name string, value []byte) []byte {
	t.Helper()
	v, err := s.PutServerSecretIfAbsent(t.Context(), name, value)
	wantErr(t, "PutServerSecretIfAbsent "+name, err, nil)
	return v
}

func testServerSecretNotFound(t *testing.T, s store.Store) {
	_, err := s.ServerSecret(t.Context(), "vapid-p256")
	wantErr(t, "ServerSecret of a new store", err, store.ErrNotFound)
}

// The first value put under a name stays: a second put returns it and
// leaves it, and names are independent.
func testServerSecretPutIfAbsent(t *testing.T, s store.Store) {
	first, second := []byte("first value\x00\xff"), []byte("second value")
	if got := putServerSecret(t, s, "vapid-p256", first); !bytes.Equal(got, first) {
		t.Errorf("first put returned %q, want %q", got, first)
	}
	if got := serverSecretOf(t, s, "vapid-p256"); !bytes.Equal(got, first) {
		t.Errorf("ServerSecret = %q, want %q", got, first)
	}
	if got := putServerSecret(t, s, "vapid-p256", second); !bytes.Equal(got, first) {
		t.Errorf("second put returned %q, want the first value %q", got, first)
	}
	if got := serverSecretOf(t, s, "vapid-p256"); !bytes.Equal(got, first) {
		t.Errorf("after a second put: %q, want the first value %q", got, first)
	}

	// The caller owns what it gets: changing it changes nothing stored.
	got := serverSecretOf(t, s, "vapid-p256")
	got[0] ^= 0xff
	if again := serverSecretOf(t, s, "vapid-p256"); !bytes.Equal(again, first) {
		t.Errorf("after changing a returned value: %q, want %q", again, first)
	}

	if got := putServerSecret(t, s, "other", second); !bytes.Equal(got, second) {
		t.Errorf("put under another name returned %q, want %q", got, second)
	}
	if got := serverSecretOf(t, s, "vapid-p256"); !bytes.Equal(got, first) {
		t.Errorf("another name changed vapid-p256 to %q", got)
	}
	long := strings.Repeat("n", maxSecretName)
	if got := putServerSecret(t, s, long, first); !bytes.Equal(got, first) {
		t.Errorf("put under a %d-byte name returned %q", len(long), got)
	}
}

// Concurrent first runs agree on one value.
func testServerSecretConcurrentFirstRuns(t *testing.T, s store.Store) {
	const n = 16
	got := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := s.PutServerSecretIfAbsent(t.Context(), "race", fmt.Appendf(nil, "value %d", i))
			if err != nil {
				t.Errorf("PutServerSecretIfAbsent %d: %v", i, err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	stored := serverSecretOf(t, s, "race")
	for i, v := range got {
		if !bytes.Equal(v, stored) {
			t.Errorf("run %d got %q, the store kept %q", i, v, stored)
		}
	}
}

// Names a key cannot hold, and empty values, are refused, and nothing is
// stored.
func testServerSecretInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, name := range []string{"", strings.Repeat("n", maxSecretName+1), "vapid\x00p256", "\x00"} {
		if _, err := s.PutServerSecretIfAbsent(ctx, name, []byte("v")); err == nil {
			t.Errorf("PutServerSecretIfAbsent(%.20q) succeeded", name)
		}
		if _, err := s.ServerSecret(ctx, name); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("ServerSecret(%.20q) = %v, want an error other than ErrNotFound", name, err)
		}
	}
	for _, v := range [][]byte{nil, {}} {
		if _, err := s.PutServerSecretIfAbsent(ctx, "empty", v); err == nil {
			t.Errorf("PutServerSecretIfAbsent of %#v succeeded", v)
		}
	}
	_, err := s.ServerSecret(ctx, "empty")
	wantErr(t, "ServerSecret after refused puts", err, store.ErrNotFound)
	_, err = s.ServerSecret(ctx, "vapid")
	wantErr(t, "ServerSecret of a prefix of a refused name", err, store.ErrNotFound)
}

func testServerSecretClosed(t *testing.T, s store.Store) {
	putServerSecret(t, s, "vapid-p256", []byte("value"))
	wantErr(t, "Close", s.Close(), nil)
	_, err := s.ServerSecret(t.Context(), "vapid-p256")
	wantErr(t, "ServerSecret after Close", err, store.ErrClosed)
	_, err = s.PutServerSecretIfAbsent(t.Context(), "other", []byte("value"))
	wantErr(t, "PutServerSecretIfAbsent after Close", err, store.ErrClosed)
}

// testServerSecretReopen checks a stored secret survives a reopen and still
// wins over a later put. It belongs to RunPersistent.
func testServerSecretReopen(t *testing.T, open func(t *testing.T, dir string) store.Store) {
	dir := t.TempDir()
	s := open(t, dir)
	want := []byte("kept across restarts")
	putServerSecret(t, s, "vapid-p256", want)
	wantErr(t, "Close", s.Close(), nil)

	s = open(t, dir)
	defer s.Close()
	if got := serverSecretOf(t, s, "vapid-p256"); !bytes.Equal(got, want) {
		t.Errorf("after reopen: %q, want %q", got, want)
	}
	if got := putServerSecret(t, s, "vapid-p256", []byte("a second first run")); !bytes.Equal(got, want) {
		t.Errorf("put after reopen returned %q, want %q", got, want)
	}
}
