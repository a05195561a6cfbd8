package store_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"radiusmfa/store"
)

func TestMasterKeyCreatedWhenMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "master.key")
	key, created, err := store.LoadOrCreateMasterKey(path, "")
	if err != nil || !created || len(key) != store.MasterKeySize {
		t.Fatalf("first load: len %d, created %v, err %v", len(key), created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %04o, want 0600", perm)
	}
	again, created, err := store.LoadOrCreateMasterKey(path, "")
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second load: created %v, err %v, same key %v", created, err, bytes.Equal(again, key))
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file", len(entries))
	}
}

func TestMasterKeyFromFile(t *testing.T) {
	want := bytes.Repeat([]byte{7}, store.MasterKeySize)
	for name, text := range map[string]string{
		"padded":   base64.StdEncoding.EncodeToString(want),
		"unpadded": base64.RawStdEncoding.EncodeToString(want),
		"spaces":   "\n  " + base64.StdEncoding.EncodeToString(want) + " \r\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := writeKeyFile(t, text, 0o600)
			key, created, err := store.LoadOrCreateMasterKey(path, "")
			if err != nil || created || !bytes.Equal(key, want) {
				t.Fatalf("got created %v, err %v, key match %v", created, err, bytes.Equal(key, want))
			}
		})
	}
}

func TestMasterKeyFileTooOpen(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o604, 0o620, 0o644} {
		path := writeKeyFile(t, base64.StdEncoding.EncodeToString(make([]byte, 32)), mode)
		_, _, err := store.LoadOrCreateMasterKey(path, "")
		if err == nil {
			t.Fatalf("mode %04o accepted", mode)
		}
		if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "chmod 600") {
			t.Errorf("mode %04o: error %q should name the file and the chmod fix", mode, msg)
		}
	}
}

func TestMasterKeyFileBad(t *testing.T) {
	for name, text := range map[string]string{
		"short":      base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"long":       base64.StdEncoding.EncodeToString(make([]byte, 33)),
		"not base64": "this is not base64 at all!",
		"empty":      "",
	} {
		t.Run(name, func(t *testing.T) {
			path := writeKeyFile(t, text, 0o600)
			if _, _, err := store.LoadOrCreateMasterKey(path, ""); err == nil {
				t.Fatal("accepted")
			} else if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestMasterKeyFromEnv(t *testing.T) {
	want := bytes.Repeat([]byte{0xA5}, store.MasterKeySize)
	path := filepath.Join(t.TempDir(), "master.key")
	for _, env := range []string{
		base64.StdEncoding.EncodeToString(want),
		base64.RawStdEncoding.EncodeToString(want),
	} {
		key, created, err := store.LoadOrCreateMasterKey(path, env)
		if err != nil || created || !bytes.Equal(key, want) {
			t.Fatalf("env %q: created %v, err %v", env, created, err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("an environment key must not create the file (stat: %v)", err)
	}
}

func TestMasterKeyFromEnvBad(t *testing.T) {
	secretish := "c2VjcmV0LXNlY3JldC1zZWNyZXQ" // 20 bytes: valid base64, wrong length
	for _, env := range []string{secretish, "%%%not-base64%%%"} {
		_, _, err := store.LoadOrCreateMasterKey(filepath.Join(t.TempDir(), "k"), env)
		if err == nil {
			t.Fatalf("env %q accepted", env)
		}
		if strings.Contains(err.Error(), env) {
			t.Errorf("error %q repeats the key material", err)
		}
	}
}

func writeKeyFile(t *testing.T, text string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is filtered by umask
		t.Fatal(err)
	}
	return path
}
