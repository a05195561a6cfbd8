package webpush

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"radiusmfa/store"
	"radiusmfa/store/bolt"
)

const testSubject = "mailto:helpdesk@example.org"

// openStore opens (creating on first use) the bolt store at path.
func openStore(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, bytes.Repeat([]byte{0x42}, store.MasterKeySize), bolt.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func loadVAPID(t *testing.T, st SecretStore) *VAPID {
	t.Helper()
	v, err := LoadOrCreateVAPID(t.Context(), st, testSubject)
	if err != nil {
		t.Fatalf("LoadOrCreateVAPID: %v", err)
	}
	return v
}

func scalarOf(t *testing.T, v *VAPID) []byte {
	t.Helper()
	b, err := v.private.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestInvariantVAPIDKeyPersistsSealed: the key made on the first run is the
// key of every later run, and the database file never holds it in clear.
func TestInvariantVAPIDKeyPersistsSealed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "radiusmfa.db")
	db := openStore(t, path)
	first := loadVAPID(t, db)
	again := loadVAPID(t, db)
	if again.Public != first.Public {
		t.Fatal("a second LoadOrCreateVAPID on the same store made a new key")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openStore(t, path)
	reopened := loadVAPID(t, db)
	scalar := scalarOf(t, first)
	if reopened.Public != first.Public || !bytes.Equal(scalarOf(t, reopened), scalar) {
		t.Fatal("the VAPID key changed across a reopen")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Public is the uncompressed point of the private key.
	point, err := base64.RawURLEncoding.DecodeString(first.Public)
	if err != nil || len(point) != 65 || point[0] != 4 {
		t.Fatalf("Public %q is not a base64url uncompressed point (%v)", first.Public, err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil || !pub.Equal(&first.private.PublicKey) {
		t.Fatalf("Public is not the private key's public half (%v)", err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for form, b := range map[string][]byte{
		"raw scalar": scalar,
		"base64url":  []byte(base64.RawURLEncoding.EncodeToString(scalar)),
		"base64":     []byte(base64.StdEncoding.EncodeToString(scalar)),
		"hex":        []byte(hex.EncodeToString(scalar)),
	} {
		if bytes.Contains(raw, b) {
			t.Errorf("the database file holds the VAPID private key (%s)", form)
		}
	}
}

// Servers starting together on a fresh store end up with one key.
func TestLoadOrCreateVAPIDConcurrentFirstRuns(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "radiusmfa.db"))
	keys := make([]string, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			v, err := LoadOrCreateVAPID(t.Context(), db, testSubject)
			if err != nil {
				t.Errorf("run %d: %v", i, err)
				return
			}
			keys[i] = v.Public
		})
	}
	wg.Wait()
	for i, k := range keys {
		if k != keys[0] {
			t.Errorf("run %d got key %s, run 0 got %s", i, k, keys[0])
		}
	}
}

// racingStore reports no secret on the read, as if another server stored
// one between this run's read and write: the stored one must be used.
type racingStore struct {
	stored []byte
	puts   int
}

func (r *racingStore) ServerSecret(context.Context, string) ([]byte, error) {
	return nil, store.ErrNotFound
}

func (r *racingStore) PutServerSecretIfAbsent(_ context.Context, _ string, _ []byte) ([]byte, error) {
	r.puts++
	return bytes.Clone(r.stored), nil
}

func TestLoadOrCreateVAPIDUsesTheStoredKey(t *testing.T) {
	winner := loadVAPID(t, openStore(t, filepath.Join(t.TempDir(), "a.db")))
	rs := &racingStore{stored: scalarOf(t, winner)}
	got := loadVAPID(t, rs)
	if rs.puts != 1 || got.Public != winner.Public {
		t.Errorf("after losing the race: %d puts, key %s, want the stored key %s", rs.puts, got.Public, winner.Public)
	}
}

// fixedStore holds one value as the stored secret.
type fixedStore struct{ value []byte }

func (f fixedStore) ServerSecret(context.Context, string) ([]byte, error) {
	return bytes.Clone(f.value), nil
}

func (f fixedStore) PutServerSecretIfAbsent(context.Context, string, []byte) ([]byte, error) {
	return bytes.Clone(f.value), nil
}

func TestLoadOrCreateVAPIDRefusesBadStoredKey(t *testing.T) {
	for _, value := range [][]byte{
		[]byte("short"),
		bytes.Repeat([]byte{0xff}, 32), // above the group order
		make([]byte, 32),               // zero
	} {
		_, err := LoadOrCreateVAPID(t.Context(), fixedStore{value}, testSubject)
		if err == nil {
			t.Errorf("stored %x accepted as a key", value)
			continue
		}
		if strings.Contains(err.Error(), hex.EncodeToString(value)) || strings.Contains(err.Error(), string(value)) {
			t.Errorf("error reveals the stored value: %v", err)
		}
	}
}

func TestLoadOrCreateVAPIDStoreError(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "radiusmfa.db"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateVAPID(t.Context(), db, testSubject); err == nil {
		t.Fatal("LoadOrCreateVAPID on a closed store succeeded")
	}
}

func TestVAPIDSubject(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "radiusmfa.db"))
	for _, s := range []string{"mailto:ops@example.org", "https://radius.example.org/contact"} {
		if _, err := LoadOrCreateVAPID(t.Context(), db, s); err != nil {
			t.Errorf("subject %q refused: %v", s, err)
		}
	}
	for _, s := range []string{"", "ops@example.org", "mailto:", "mailto:nobody", "http://example.org",
		"https://", "mailto:a@b\r\nX-Injected: 1"} {
		if _, err := LoadOrCreateVAPID(t.Context(), db, s); err == nil {
			t.Errorf("subject %q accepted", s)
		}
	}
}

// Printing a VAPID, however it is formatted, never prints the private key.
func TestVAPIDFormattingHidesPrivateKey(t *testing.T) {
	v := loadVAPID(t, openStore(t, filepath.Join(t.TempDir(), "radiusmfa.db")))
	scalar := scalarOf(t, v)
	secretForms := []string{
		base64.RawURLEncoding.EncodeToString(scalar), hex.EncodeToString(scalar),
		new(big.Int).SetBytes(scalar).String(), new(big.Int).SetBytes(scalar).Text(16),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, v)
		for _, f := range secretForms {
			if strings.Contains(out, f) {
				t.Errorf("%s of a VAPID prints the private key: %s", verb, out)
			}
		}
	}
	if !strings.Contains(v.String(), v.Public) {
		t.Errorf("String() = %q, want the public key in it", v.String())
	}
}
