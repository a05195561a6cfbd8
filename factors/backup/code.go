package backup

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"math/big"
)

// CodeDigits is the length of a backup code: exactly 8 decimal digits, so
// that "password,12345678" splits unambiguously over RADIUS.
const CodeDigits = 8

// maxInput bounds what Normalize reads: a code with generous separators fits
// in far less, and a huge string is refused before any work.
const maxInput = 32

// codeSpace is the number of distinct codes, 10^CodeDigits.
var codeSpace = big.NewInt(100_000_000)

// Normalize returns code with the spaces and dashes a user copies along
// ("1234 5678", "1234-5678") removed, and reports whether what remains is
// exactly CodeDigits ASCII digits. Bypass codes are typed the same way.
func Normalize(code string) (string, bool) {
	if len(code) > maxInput {
		return "", false
	}
	var d [CodeDigits]byte
	n := 0
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case c == ' ' || c == '-':
		case c >= '0' && c <= '9':
			if n == CodeDigits {
				return "", false
			}
			d[n] = c
			n++
		default:
			return "", false
		}
	}
	if n != CodeDigits {
		return "", false
	}
	return string(d[:]), true
}

// FormatCode returns a code as shown to the user, "1234 5678". Anything that
// is not a code is returned unchanged.
func FormatCode(c string) string {
	n, ok := Normalize(c)
	if !ok {
		return c
	}
	return n[:4] + " " + n[4:]
}

// randomCode draws a code uniformly from r: rand.Int rejects out-of-range
// draws instead of reducing them modulo 10^8, so no code is more likely.
func randomCode(r io.Reader) (string, error) {
	v, err := rand.Int(r, codeSpace)
	if err != nil {
		return "", fmt.Errorf("backup: random code: %w", err)
	}
	return fmt.Sprintf("%0*d", CodeDigits, v), nil
}

// digest is the HMAC-SHA256 of code keyed with salt, appended to dst.
func digest(dst, salt []byte, code string) []byte {
	mac := hmac.New(sha256.New, salt)
	mac.Write([]byte(code))
	return mac.Sum(dst)
}
