package bolt

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// TestInvariantNoSecretInClear greps the raw database file for an enrolled
// secret in every encoding a careless implementation might use.
func TestInvariantNoSecretInClear(t *testing.T) {
	db, path := openTemp(t, Options{})
	ctx := t.Context()
	secret := []byte("12345678901234567890") // the RFC 4226 test seed
	if err := db.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	e := store.Enrollment{ID: "e1", User: "alice", Kind: "totp", Secret: secret}
	if err := db.AddEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	// Rewriting the record on the hot path must not leak it either.
	if err := db.AdvanceCounter(ctx, "alice", "e1", 1, testTime); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b32 := base32.StdEncoding.EncodeToString(secret)
	forms := map[string][]byte{
		"raw":              secret,
		"base32":           []byte(b32),
		"base32 unpadded":  []byte(strings.TrimRight(b32, "=")),
		"base32 lowercase": []byte(strings.ToLower(strings.TrimRight(b32, "="))),
		"base64":           []byte(base64.StdEncoding.EncodeToString(secret)),
		"hex":              []byte(hex.EncodeToString(secret)),
	}
	for name, form := range forms {
		if bytes.Contains(raw, form) {
			t.Errorf("the database file contains the secret (%s)", name)
		}
	}
	// And the sealed value really is the secret: it reopens intact.
	db, err = Open(path, testKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	list, err := db.Enrollments(ctx, "alice")
	if err != nil || len(list) != 1 || !bytes.Equal(list[0].Secret, secret) {
		t.Fatalf("Enrollments after reopen: %v", err)
	}
}

// TestSealedSecretBoundToRecord copies a sealed record to another user's key
// behind the store's back: opening it there must fail, not hand bob alice's
// seed.
func TestSealedSecretBoundToRecord(t *testing.T) {
	db, _ := openTemp(t, Options{})
	ctx := t.Context()
	for _, name := range []string{"alice", "bob"} {
		if err := db.CreateUser(ctx, store.User{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	e := store.Enrollment{ID: "e1", User: "alice", Kind: "totp", Secret: []byte("alice seed")}
	if err := db.AddEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	move := func(dstUser, dstID string) {
		err := db.bolt.Update(func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucketEnrollments)
			return b.Put(enrollmentKey(dstUser, dstID), bytes.Clone(b.Get(enrollmentKey("alice", "e1"))))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	move("bob", "e1")
	move("alice", "e2")
	for _, user := range []string{"bob", "alice"} {
		_, err := db.Enrollments(ctx, user)
		if err == nil || !strings.Contains(err.Error(), "does not open") {
			t.Errorf("Enrollments(%s) with a moved secret: %v, want a sealing error", user, err)
		}
		if err != nil && strings.Contains(err.Error(), "alice seed") {
			t.Errorf("error reveals the secret: %v", err)
		}
	}
}

func TestSealerWrongKeyFails(t *testing.T) {
	a, err := newSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newSealer(bytes.Repeat([]byte{1}, store.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	sealed := a.sealSecret("alice", "e1", []byte("seed"))
	if _, err := b.openSecret("alice", "e1", sealed); err == nil {
		t.Fatal("a value sealed under one key opened under another")
	}
	if got, err := a.openSecret("alice", "e1", sealed); err != nil || string(got) != "seed" {
		t.Fatalf("round trip: %q, %v", got, err)
	}
	// Fresh nonces: sealing twice never yields the same bytes.
	if bytes.Equal(sealed, a.sealSecret("alice", "e1", []byte("seed"))) {
		t.Error("two seals of the same secret are identical")
	}
	for _, bad := range [][]byte{nil, {sealFormatV1}, append([]byte{0x02}, sealed[1:]...)} {
		if _, err := a.openSecret("alice", "e1", bad); err == nil {
			t.Errorf("malformed value %x opened", bad)
		}
	}
}

func TestSecretAADUnambiguous(t *testing.T) {
	// Without length prefixes, ("ab","c") and ("a","bc") could share AAD.
	if bytes.Equal(secretAAD("ab", "c"), secretAAD("a", "bc")) {
		t.Fatal("distinct records share associated data")
	}
}
