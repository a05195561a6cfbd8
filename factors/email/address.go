// Package email is the factor that sends one-time codes by email. This
// file reads and shows the addresses codes go to.
package email

import (
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// ErrInvalidAddress is returned by ParseAddress.
var ErrInvalidAddress = errors.New("email: not a valid email address (write it as name@example.com)")

// maxAddress is the longest address accepted (RFC 5321's path limit less
// the angle brackets).
const maxAddress = 254

// ParseAddress reads an address as typed and returns it bare
// ("alice@example.com"): one address, no display name, no comment, no
// quoted local part, a dot in the domain, no control characters, at most
// 254 bytes. The domain is
// lower-cased; the local part is kept as typed (it may be case-sensitive).
func ParseAddress(typed string) (string, error) {
	s := strings.TrimSpace(typed)
	if s == "" || len(s) > maxAddress || !utf8.ValidString(s) || strings.ContainsAny(s, "<>\"\r\n\t ,;") {
		return "", ErrInvalidAddress
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", ErrInvalidAddress
	}
	at := strings.LastIndexByte(a.Address, '@')
	local, domain, ok := a.Address[:max(at, 0)], a.Address[at+1:], at > 0
	if !ok || strings.Contains(local, "@") || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.HasPrefix(domain, "[") {
		return "", ErrInvalidAddress
	}
	return local + "@" + strings.ToLower(domain), nil
}

// Mask shows an address with most of its local part hidden:
// "cki•••@example.com" (the first three characters), "a•••@example.com"
// for a local part of three characters or fewer. The domain is shown: it
// tells the user which of their mailboxes to open.
func Mask(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "•••"
	}
	local, domain := addr[:at], addr[at+1:]
	if local == "" {
		return "•••"
	}
	keep := 3
	if utf8.RuneCountInString(local) <= 3 {
		keep = 1
	}
	end := 0
	for i := 0; i < keep; i++ {
		_, n := utf8.DecodeRuneInString(local[end:])
		end += n
	}
	return local[:end] + "•••@" + domain
}
