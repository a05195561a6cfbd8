// Package codehash is what the backup and bypass factors share about an
// 8-digit code: how it is typed (Normalize), drawn (Random) and kept. A
// stored Secret is a random salt followed by one HMAC-SHA256(salt, code) per
// code, never a code itself; Match finds a code's slot in constant time.
package codehash

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"math/big"
)

// Digits is the length of a code: exactly 8 decimal digits, so that
// "password,12345678" splits unambiguously over RADIUS.
const Digits = 8

// SaltSize is the length of the random salt at the start of a Secret.
const SaltSize = 16

// maxInput bounds what Normalize reads: a code with generous separators fits
// in far less, and a huge string is refused before any work.
const maxInput = 32

// space is the number of distinct codes, 10^Digits.
var space = big.NewInt(100_000_000)

// Normalize returns code with the spaces and dashes a user copies along
// ("1234 5678", "1234-5678") removed, and reports whether what remains is
// exactly Digits ASCII digits.
func Normalize(code string) (string, bool) {
	if len(code) > maxInput {
		return "", false
	}
	var d [Digits]byte
	n := 0
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case c == ' ' || c == '-':
		case c >= '0' && c <= '9':
			if n == Digits {
				return "", false
			}
			d[n] = c
			n++
		default:
			return "", false
		}
	}
	if n != Digits {
		return "", false
	}
	return string(d[:]), true
}

// Random draws a code uniformly from r: rand.Int rejects out-of-range draws
// instead of reducing them modulo 10^8, so no code is more likely.
func Random(r io.Reader) (string, error) {
	v, err := rand.Int(r, space)
	if err != nil {
		return "", fmt.Errorf("random code: %w", err)
	}
	return fmt.Sprintf("%0*d", Digits, v), nil
}

// Seal lays out salt followed by each code's digest, in code order.
func Seal(salt []byte, codes ...string) []byte {
	secret := make([]byte, 0, len(salt)+len(codes)*sha256.Size)
	secret = append(secret, salt...)
	for _, c := range codes {
		secret = digest(secret, salt, c)
	}
	return secret
}

// Slots returns how many code digests secret holds, or an error when it is
// not a salt followed by 1 to most digests.
func Slots(secret []byte, most int) (int, error) {
	body := len(secret) - SaltSize
	if body < sha256.Size || body%sha256.Size != 0 || body/sha256.Size > most {
		return 0, fmt.Errorf("malformed secret of %d bytes (want a %d-byte salt and 1 to %d digests of %d)",
			len(secret), SaltSize, most, sha256.Size)
	}
	return body / sha256.Size, nil
}

// Match returns the slot of secret whose digest is code's; secret must hold
// 1 to most digests (Slots). Every slot is compared, with no early exit, and
// the slot is chosen without a branch, so the time taken does not say which
// code, if any, matched.
func Match(secret []byte, code string, most int) (slot int, ok bool, err error) {
	n, err := Slots(secret, most)
	if err != nil {
		return 0, false, err
	}
	var buf [sha256.Size]byte
	sum := digest(buf[:0], secret[:SaltSize], code)
	found := 0
	for i := range n {
		off := SaltSize + i*sha256.Size
		eq := subtle.ConstantTimeCompare(sum, secret[off:off+sha256.Size])
		slot = subtle.ConstantTimeSelect(eq, i, slot)
		found |= eq
	}
	return slot, found == 1, nil
}

// digest appends HMAC-SHA256(salt, code) to dst.
func digest(dst, salt []byte, code string) []byte {
	mac := hmac.New(sha256.New, salt)
	mac.Write([]byte(code))
	return mac.Sum(dst)
}
