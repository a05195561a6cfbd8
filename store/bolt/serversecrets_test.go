package bolt

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

// TestInvariantServerSecretSealed greps the raw database file for a server
// secret, which must be kept only sealed.
func TestInvariantServerSecretSealed(t *testing.T) {
	db, path := openTemp(t, Options{})
	secret := []byte("server secret that must stay sealed")
	if _, err := db.PutServerSecretIfAbsent(t.Context(), "vapid-p256", secret); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, form := range map[string][]byte{
		"raw":       secret,
		"base64":    []byte(base64.StdEncoding.EncodeToString(secret)),
		"base64url": []byte(base64.RawURLEncoding.EncodeToString(secret)),
		"hex":       []byte(hex.EncodeToString(secret)),
	} {
		if bytes.Contains(raw, form) {
			t.Errorf("the database file contains the server secret (%s)", name)
		}
	}
	if !bytes.Contains(raw, []byte(metaServerSecretPrefix+"vapid-p256")) {
		t.Error("the database file has no key for the secret: the test looked in the wrong place")
	}
}

// TestServerSecretBoundToName copies a sealed server secret under another
// name, and an enrollment's sealed secret under a server secret name, behind
// the store's back: neither may open, and PutServerSecretIfAbsent must not
// overwrite a value that does not open.
func TestServerSecretBoundToName(t *testing.T) {
	db, _ := openTemp(t, Options{})
	ctx := t.Context()
	if _, err := db.PutServerSecretIfAbsent(ctx, "a", []byte("secret of a")); err != nil {
		t.Fatal(err)
	}
	enrolled := db.seal.sealSecret("alice", "e1", []byte("alice seed"))
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(serverSecretKey("b"), bytes.Clone(meta.Get(serverSecretKey("a")))); err != nil {
			return err
		}
		return meta.Put(serverSecretKey("c"), enrolled)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"b", "c"} {
		_, err := db.ServerSecret(ctx, name)
		if err == nil || !strings.Contains(err.Error(), "does not open") {
			t.Errorf("ServerSecret(%s) of a moved value: %v, want a sealing error", name, err)
		}
		if err != nil && (strings.Contains(err.Error(), "secret of a") || strings.Contains(err.Error(), "alice seed")) {
			t.Errorf("error reveals the secret: %v", err)
		}
		if _, err := db.PutServerSecretIfAbsent(ctx, name, []byte("replacement")); err == nil {
			t.Errorf("PutServerSecretIfAbsent(%s) replaced a value that does not open", name)
		}
	}
	if got, err := db.ServerSecret(ctx, "a"); err != nil || string(got) != "secret of a" {
		t.Errorf("ServerSecret(a) = %q, %v", got, err)
	}
}
