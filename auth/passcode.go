package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxUserNameLen bounds user names (RADIUS attributes carry at most 253 bytes).
const MaxUserNameLen = 253

// SplitPasscode splits "password<delim>passcode" at the LAST delimiter, but
// only when what follows looks like a passcode (6 to 8 ASCII digits), so a
// password that itself contains the delimiter still works. With no passcode
// suffix the whole input is the password. The split is decided before any
// password check, so the primary password is checked exactly once.
func SplitPasscode(s, delim string) (password, passcode string) {
	if delim == "" {
		return s, ""
	}
	i := strings.LastIndex(s, delim)
	if i < 0 {
		return s, ""
	}
	suffix := s[i+len(delim):]
	if !isPasscode(suffix) {
		return s, ""
	}
	return s[:i], suffix
}

func isPasscode(s string) bool {
	if len(s) < 6 || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NormalizeUserName trims surrounding white space and lower-cases the name,
// so "Alice " and "alice" are one account (and one lockout counter). It
// refuses empty, over-long, non-UTF-8 names and names with control
// characters.
func NormalizeUserName(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxUserNameLen || !utf8.ValidString(s) {
		return "", false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", false
		}
	}
	return strings.ToLower(s), true
}
