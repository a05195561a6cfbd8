// Package factors defines the second-factor contract. Each factor lives in a
// sub-package (totp, and later hotp, push, sms...). Optional capabilities
// (Challenger, Enroller) are found by type assertion.
package factors

import (
	"context"
	"errors"

	"radiusmfa/store"
)

// ErrInvalidCode means the code matched no acceptable counter.
var ErrInvalidCode = errors.New("factors: invalid code")

// ErrExpired means the code matched one that has expired. Errors that
// wrap it wrap ErrInvalidCode too, so callers that do not tell them apart
// count it as a wrong code.
var ErrExpired = errors.New("factors: code expired")

// ErrReplayed means the code was valid but already used.
var ErrReplayed = errors.New("factors: code already used")

// Factor verifies a code against one enrollment and makes it single-use.
type Factor interface {
	// Kind is the enrollment kind this factor handles, e.g. "totp".
	Kind() string
	// Verify returns nil when code is valid for e and was consumed atomically,
	// ErrInvalidCode or ErrReplayed when it is refused, another error when broken.
	Verify(ctx context.Context, e store.Enrollment, code string) error
}

// IsDigits reports whether code is exactly n ASCII digits, the only form
// a time-based or sent code takes.
func IsDigits(code string, n int) bool {
	if len(code) != n {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}
