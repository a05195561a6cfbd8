package store

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// MasterKeySize is the length of the key that seals secrets at rest (AES-256).
const MasterKeySize = 32

// maxKeyFileSize bounds what is read from a key file; a real one is 45 bytes.
const maxKeyFileSize = 4096

// LoadOrCreateMasterKey returns the master key that seals secrets at rest.
//
// envValue, when non-empty, is the key itself in base64 (padded or not), as
// read from the environment by the caller; it wins over the file. Otherwise the
// key is read from the base64 text file at path, which must not be readable by
// group or others. A missing file is created with a fresh random key, and
// created reports it so the caller can tell the operator to back it up: losing
// it loses every enrolled secret.
//
// Errors never contain key material.
func LoadOrCreateMasterKey(path, envValue string) (key []byte, created bool, err error) {
	if envValue != "" {
		key, err := decodeMasterKey([]byte(envValue))
		if err != nil {
			return nil, false, fmt.Errorf("master key from environment: %w", err)
		}
		return key, false, nil
	}
	key, err = readMasterKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	key, err = createMasterKey(path)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it between our read and our create.
		key, err = readMasterKey(path)
		return key, false, err
	}
	return key, err == nil, err
}

// decodeMasterKey accepts standard base64 with or without padding.
func decodeMasterKey(text []byte) ([]byte, error) {
	text = bytes.TrimSpace(text)
	key, err := base64.StdEncoding.DecodeString(string(text))
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(string(text))
	}
	if err != nil {
		return nil, errors.New("not valid base64")
	}
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(key), MasterKeySize)
	}
	return key, nil
}

// readMasterKey reads path, refusing a file others could read. Permissions are
// checked on the open descriptor, so the file checked is the file read.
func readMasterKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("master key file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("master key file %s has mode %04o, open to group or others: "+
			"run `chmod 600 %s` (and consider rotating the key)", path, perm, path)
	}
	text, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	key, err := decodeMasterKey(text)
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, nil
}

// createMasterKey writes a new random key to path without ever exposing a
// partial file: it is written and synced under a temporary name, then linked
// into place (which, like O_EXCL, fails if path exists), and the directory is
// synced so the name survives a crash.
func createMasterKey(path string) ([]byte, error) {
	key := make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".masterkey-*") // O_EXCL, mode 0600
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	text := base64.StdEncoding.AppendEncode(nil, key)
	_, err = tmp.Write(append(text, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("master key file %s: write: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	_ = os.Remove(tmp.Name()) // before the directory sync, so no stray name survives
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
