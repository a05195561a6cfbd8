// Package bypass is the temporary-code factor: a help-desk operator issues a
// user who lost their device an 8-digit code good for a few logins (one by
// default) until it expires. The store keeps a salted HMAC of the code; the
// enrollment's Counter is the number of uses made, raised atomically in the
// store so a code never logs in more times than it allows.
package bypass

import (
	"context"
	"time"

	"radiusmfa/factors"
	"radiusmfa/factors/internal/codeuse"
	"radiusmfa/store"
)

// Kind is the enrollment kind handled by this factor.
const Kind = "bypass"

// Updater is the part of the store the factor needs.
type Updater interface {
	UpdateEnrollment(ctx context.Context, user, id string, fn func(*store.Enrollment) error) error
}

// Options tune verification.
type Options struct {
	Now func() time.Time // nil: time.Now
}

// Factor verifies bypass codes.
type Factor struct {
	uses codeuse.Recorder
}

var _ factors.Factor = (*Factor)(nil)

// New returns a bypass-code factor backed by s.
func New(s Updater, o Options) *Factor {
	return &Factor{uses: codeuse.New(s, o.Now)}
}

// Kind implements factors.Factor.
func (*Factor) Kind() string { return Kind }

// Verify implements factors.Factor. The digest is computed and compared in
// constant time whether or not the code is still usable, so an expired or
// used-up code costs the same as a live one. A match is counted in the
// store, with expiry and uses re-checked on the stored record in the same
// transaction: of concurrent logins on a single-use code, exactly one wins.
// A code revoked (deleted) since e was read is void.
func (f *Factor) Verify(ctx context.Context, e store.Enrollment, code string) error {
	if _, err := codeuse.Slot(e, Kind, code, 1); err != nil {
		return err
	}
	now := f.uses.Now()
	if !Usable(e, now) {
		return factors.ErrInvalidCode
	}
	return f.uses.Record(ctx, e, now, func(s *store.Enrollment) error {
		if s.Disabled || !now.Before(s.ExpiresAt) {
			return factors.ErrInvalidCode
		}
		if UsesLeft(*s) == 0 {
			return factors.ErrReplayed
		}
		s.Counter++
		return nil
	})
}

// Usable reports whether e is a bypass code that can still log in at now:
// enabled, not expired (now before ExpiresAt) and with uses left.
//
// Invariant: a bypass code without an expiry or a use limit is never usable;
// Issue always sets both. (TestInvariantUnlimitedNeverUsable)
func Usable(e store.Enrollment, now time.Time) bool {
	return e.Kind == Kind && !e.Disabled && now.Before(e.ExpiresAt) && UsesLeft(e) > 0
}

// UsesLeft returns how many more logins e allows, regardless of expiry.
func UsesLeft(e store.Enrollment) int {
	if e.MaxUses <= 0 || e.Counter >= uint64(e.MaxUses) {
		return 0
	}
	return e.MaxUses - int(e.Counter)
}
