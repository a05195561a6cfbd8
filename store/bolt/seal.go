package bolt

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// sealFormatV1 prefixes every sealed value so a later key or algorithm change
// can tell old values from new ones.
const sealFormatV1 = 0x01

// Associated data domains. Distinct prefixes keep a value sealed for one
// purpose from opening as another.
const (
	aadSecret   = "radiusmfa/enrollment-secret/v1"
	aadKeyCheck = "radiusmfa/key-check/v1"
)

// keyCheckPlain is sealed once into the meta bucket at creation; failing to
// open it at Open means the master key is not the database's.
var keyCheckPlain = []byte("radiusmfa master key check")

// errWrongKey is returned by Open for a master key that is not the database's.
var errWrongKey = errors.New("master key does not match this database")

// sealer encrypts enrollment secrets. Its AEAD draws a fresh random 96-bit
// nonce for every Seal and prepends it, so no nonce bookkeeping is stored.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != store.MasterKeySize {
		return nil, fmt.Errorf("bolt: master key must be %d bytes, got %d", store.MasterKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("bolt: master key: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("bolt: master key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// secretAAD binds a sealed secret to its record: the same bytes copied under
// another user or enrollment id fail to open. Lengths are encoded so no two
// (user, id) pairs produce the same associated data.
func secretAAD(user, id string) []byte {
	aad := make([]byte, 0, len(aadSecret)+8+len(user)+len(id))
	aad = append(aad, aadSecret...)
	aad = binary.BigEndian.AppendUint32(aad, uint32(len(user)))
	aad = append(aad, user...)
	aad = binary.BigEndian.AppendUint32(aad, uint32(len(id)))
	return append(aad, id...)
}

// sealSecret encrypts an enrollment secret for the record (user, id).
func (s *sealer) sealSecret(user, id string, secret []byte) []byte {
	return s.seal(secret, secretAAD(user, id))
}

// openSecret decrypts the secret of record (user, id). It fails, never
// returning garbage, under a wrong key or for a value moved from another
// record. The error names the record, never the bytes.
func (s *sealer) openSecret(user, id string, sealed []byte) ([]byte, error) {
	secret, err := s.open(sealed, secretAAD(user, id))
	if err != nil {
		return nil, fmt.Errorf("bolt: secret of enrollment %q of user %q does not open "+
			"(wrong master key, or the record was altered or moved): %w", id, user, err)
	}
	return secret, nil
}

func (s *sealer) seal(plain, aad []byte) []byte {
	return s.aead.Seal([]byte{sealFormatV1}, nil, plain, aad)
}

func (s *sealer) open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 1+s.aead.Overhead() || sealed[0] != sealFormatV1 {
		return nil, errors.New("unknown sealed format")
	}
	plain, err := s.aead.Open(nil, nil, sealed[1:], aad)
	if err != nil {
		return nil, errors.New("authentication failed")
	}
	return plain, nil
}

// checkKey verifies the master key against the value stored in meta, or
// stores one for a new database. A database holding enrollments but no check
// value is refused: storing one then would bless whatever key came first.
func (s *sealer) checkKey(meta *bbolt.Bucket) error {
	stored := meta.Get(metaKeyCheck)
	if stored == nil {
		if k, _ := meta.Tx().Bucket(bucketEnrollments).Cursor().First(); k != nil {
			return errors.New("master key check value is missing from a database with enrollments")
		}
		return meta.Put(metaKeyCheck, s.seal(keyCheckPlain, []byte(aadKeyCheck)))
	}
	if _, err := s.open(stored, []byte(aadKeyCheck)); err != nil {
		return errWrongKey
	}
	return nil
}
