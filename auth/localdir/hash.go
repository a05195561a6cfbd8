package localdir

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params is an argon2id cost setting.
type Params struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// DefaultParams are OWASP's first argon2id recommendation: 19 MiB, 2
// passes, 1 lane, about 30 ms on one core. A RADIUS server hashes at every
// login, so this, not RFC 9106's 64 MiB setting (about 4× the CPU), is the
// default; small deployments can afford more (see docs/benchmarks.md).
var DefaultParams = Params{Time: 2, MemoryKiB: 19456, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

var b64 = base64.RawStdEncoding

// ErrMalformedHash reports a stored hash that is not a PHC argon2id string.
var ErrMalformedHash = errors.New("localdir: malformed password hash")

// HashPassword returns the PHC string form of password under p, e.g.
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(password string, p Params, r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", fmt.Errorf("localdir: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the PHC string encoded,
// using the cost recorded in it, and compares in constant time.
func VerifyPassword(encoded, password string) (bool, error) {
	p, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// parseHash reads a PHC argon2id string. The numbers are parsed by hand:
// fmt.Sscanf cost a few per cent of a login's CPU with a cheap hash.
func parseHash(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformedHash
	}
	v, ok := field(parts[2], "v=", 32)
	if !ok || v != argon2.Version {
		return Params{}, nil, nil, ErrMalformedHash
	}
	m, t, th, ok := costs(parts[3])
	p := Params{Time: uint32(t), MemoryKiB: uint32(m), Threads: uint8(th)}
	if !ok || p.Time == 0 || p.Threads == 0 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > 4<<20 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	return p, salt, key, nil
}

// costs parses "m=<m>,t=<t>,p=<p>".
func costs(s string) (m, t, p uint64, ok bool) {
	ms, rest, ok1 := strings.Cut(s, ",")
	ts, ps, ok2 := strings.Cut(rest, ",")
	m, okm := field(ms, "m=", 32)
	t, okt := field(ts, "t=", 32)
	p, okp := field(ps, "p=", 8)
	return m, t, p, ok1 && ok2 && okm && okt && okp
}

// field parses name followed by a decimal number that fits in bits.
func field(s, name string, bits int) (uint64, bool) {
	digits, ok := strings.CutPrefix(s, name)
	if !ok || digits == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, bits)
	return n, err == nil
}
