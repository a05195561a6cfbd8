package backup

import "radiusmfa/factors/internal/codehash"

// CodeDigits is the length of a backup code: exactly 8 decimal digits, so
// that "password,12345678" splits unambiguously over RADIUS.
const CodeDigits = codehash.Digits

// Normalize returns code with the spaces and dashes a user copies along
// ("1234 5678", "1234-5678") removed, and reports whether what remains is
// exactly CodeDigits ASCII digits. Bypass codes are typed the same way.
func Normalize(code string) (string, bool) { return codehash.Normalize(code) }

// FormatCode returns a code as shown to the user, "1234 5678". Anything that
// is not a code is returned unchanged.
func FormatCode(c string) string {
	n, ok := Normalize(c)
	if !ok {
		return c
	}
	return n[:4] + " " + n[4:]
}
