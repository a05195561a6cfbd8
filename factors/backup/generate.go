package backup

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"radiusmfa/factors/internal/codehash"
	"radiusmfa/store"
)

// DefaultN is how many codes Generate makes when Options.N is 0.
const DefaultN = 10

// MaxN is the most codes one enrollment can hold: Counter, a uint64, has one
// used-bit per code.
const MaxN = 64

// SaltSize is the length of the random salt at the start of Secret.
const SaltSize = codehash.SaltSize

// Label names a backup-code enrollment in lists.
const Label = "backup codes"

// Generate makes o.N (default 10) distinct random codes for user and the
// enrollment to store for them. The codes are returned in plain text to be
// shown once; the enrollment keeps only their salted digests.
func Generate(user string, o Options) (store.Enrollment, []string, error) {
	return generate(user, o, rand.Reader)
}

// Invariant: an enrollment's Secret is a 16-byte salt followed by one
// HMAC-SHA256(salt, code) per code, and holds no code in any form a reader
// of Secret could copy into a login. (TestInvariantSecretHoldsNoCode)
func generate(user string, o Options, r io.Reader) (store.Enrollment, []string, error) {
	n := o.N
	if n == 0 {
		n = DefaultN
	}
	if n < 1 || n > MaxN {
		return store.Enrollment{}, nil, fmt.Errorf("backup: %d codes requested (want 1 to %d)", n, MaxN)
	}
	codes, err := distinctCodes(r, n)
	if err != nil {
		return store.Enrollment{}, nil, err
	}
	salt := make([]byte, SaltSize)
	if _, err := io.ReadFull(r, salt); err != nil {
		return store.Enrollment{}, nil, fmt.Errorf("backup: random salt: %w", err)
	}
	var idb [8]byte
	if _, err := io.ReadFull(r, idb[:]); err != nil {
		return store.Enrollment{}, nil, fmt.Errorf("backup: random id: %w", err)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	e := store.Enrollment{
		ID: hex.EncodeToString(idb[:]), User: user, Kind: Kind, Label: Label,
		Secret: codehash.Seal(salt, codes...), CreatedAt: now().UTC(),
	}
	return e, codes, nil
}

// distinctCodes draws n different codes from r. A repeat is drawn again
// rather than kept, since two equal codes would be one code spent twice.
func distinctCodes(r io.Reader, n int) ([]string, error) {
	codes := make([]string, 0, n)
	seen := make(map[string]bool, n)
	// With a working source a repeat is a one-in-a-million event; a source
	// that keeps repeating itself is broken, and looping on it would hang.
	for draws := 0; len(codes) < n; draws++ {
		if draws == 4*n+16 {
			return nil, fmt.Errorf("backup: random source keeps repeating itself")
		}
		c, err := codehash.Random(r)
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		if !seen[c] {
			seen[c] = true
			codes = append(codes, c)
		}
	}
	return codes, nil
}
