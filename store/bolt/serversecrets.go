package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// aadServerSecret is the associated-data domain of server secrets, apart
// from the domains in seal.go, so an enrollment secret copied into a server
// secret key (or the reverse) does not open.
const aadServerSecret = "radiusmfa/server-secret/v1"

// maxServerSecretLen bounds a server secret: they are keys, a few dozen
// bytes, and the meta bucket is read on every Open.
const maxServerSecretLen = 64 << 10

// serverSecretKey is the bucketMeta key of the secret name.
func serverSecretKey(name string) []byte {
	return []byte(metaServerSecretPrefix + name)
}

// serverSecretAAD binds a sealed server secret to its name: the same bytes
// copied under another name fail to open.
func serverSecretAAD(name string) []byte {
	aad := make([]byte, 0, len(aadServerSecret)+4+len(name))
	aad = append(aad, aadServerSecret...)
	aad = binary.BigEndian.AppendUint32(aad, uint32(len(name)))
	return append(aad, name...)
}

// ServerSecret implements store.Store: it returns the opened secret, or
// store.ErrNotFound when none is stored under name.
func (d *DB) ServerSecret(ctx context.Context, name string) ([]byte, error) {
	if err := checkName("server secret name", name); err != nil {
		return nil, err
	}
	var secret []byte
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		sealed := tx.Bucket(bucketMeta).Get(serverSecretKey(name))
		if sealed == nil {
			return fmt.Errorf("%w: server secret %q", store.ErrNotFound, name)
		}
		var err error
		secret, err = d.openServerSecret(name, sealed)
		return err
	})
	if err != nil {
		return nil, err
	}
	return secret, nil
}

// PutServerSecretIfAbsent implements store.Store. The check and the write
// are one read-write transaction, so of two concurrent first runs one writes
// and both get its value. A stored value that does not open is an error,
// never overwritten: replacing it would silently re-key the server.
func (d *DB) PutServerSecretIfAbsent(ctx context.Context, name string, value []byte) ([]byte, error) {
	if err := checkName("server secret name", name); err != nil {
		return nil, err
	}
	switch {
	case len(value) == 0:
		return nil, fmt.Errorf("bolt: empty server secret %q", name)
	case len(value) > maxServerSecretLen:
		return nil, fmt.Errorf("bolt: server secret %q longer than %d bytes", name, maxServerSecretLen)
	}
	key := serverSecretKey(name)
	var stored []byte
	err := d.update(ctx, func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if sealed := meta.Get(key); sealed != nil {
			var err error
			stored, err = d.openServerSecret(name, sealed)
			return err
		}
		if err := meta.Put(key, d.seal.seal(value, serverSecretAAD(name))); err != nil {
			return err
		}
		stored = bytes.Clone(value)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}

// openServerSecret decrypts the sealed secret of name. The error names the
// secret, never the bytes.
func (d *DB) openServerSecret(name string, sealed []byte) ([]byte, error) {
	secret, err := d.seal.open(sealed, serverSecretAAD(name))
	if err != nil {
		return nil, fmt.Errorf("bolt: server secret %q does not open "+
			"(wrong master key, or the value was altered or moved): %w", name, err)
	}
	return secret, nil
}
