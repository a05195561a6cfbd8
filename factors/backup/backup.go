// Package backup is the backup-code factor: a set of single-use 8-digit codes
// a user prints or saves when enrolling, for the day their device is lost.
// The store keeps a salted HMAC of each code, never the code, and the
// enrollment's Counter is the bitmask of the codes already used, set
// atomically in the store so each code logs in once.
package backup

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"radiusmfa/factors"
	"radiusmfa/store"
)

// Kind is the enrollment kind handled by this factor.
const Kind = "backup"

// Updater is the part of the store the factor needs.
type Updater interface {
	UpdateEnrollment(ctx context.Context, user, id string, fn func(*store.Enrollment) error) error
}

// Options tune generation and verification.
type Options struct {
	N   int              // codes per enrollment; 0: DefaultN
	Now func() time.Time // nil: time.Now
}

// Factor verifies backup codes.
type Factor struct {
	store Updater
	now   func() time.Time
}

var _ factors.Factor = (*Factor)(nil)

// New returns a backup-code factor backed by s.
func New(s Updater, o Options) *Factor {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Factor{store: s, now: now}
}

// Kind implements factors.Factor.
func (*Factor) Kind() string { return Kind }

// Verify implements factors.Factor. The code's digest is compared with every
// slot in constant time, so the time taken does not say which code (if any)
// matched. A matching code is marked used in the store, re-checked on the
// stored record within the same transaction: of concurrent logins with one
// code, exactly one succeeds.
func (f *Factor) Verify(ctx context.Context, e store.Enrollment, code string) error {
	c, ok := Normalize(code)
	if !ok || e.Kind != Kind {
		return factors.ErrInvalidCode
	}
	slot, found, err := match(e.Secret, c)
	if err != nil {
		return fmt.Errorf("backup: enrollment %q of user %q: %w", e.ID, e.User, err)
	}
	if !found || e.Disabled {
		return factors.ErrInvalidCode
	}
	bit := uint64(1) << slot
	if e.Counter&bit != 0 {
		return factors.ErrReplayed
	}
	now := f.now()
	err = f.store.UpdateEnrollment(ctx, e.User, e.ID, func(s *store.Enrollment) error {
		if s.Disabled {
			return factors.ErrInvalidCode
		}
		if s.Counter&bit != 0 {
			return factors.ErrReplayed
		}
		s.Counter |= bit
		s.LastUsedAt = now
		return nil
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, factors.ErrReplayed), errors.Is(err, factors.ErrInvalidCode):
		return err
	case errors.Is(err, store.ErrNotFound):
		// The codes were deleted or regenerated since e was read: they are void.
		return factors.ErrInvalidCode
	default:
		return fmt.Errorf("backup: mark code used: %w", err)
	}
}

// match returns the slot of secret whose digest is code's. Every slot is
// compared, with no early exit, and the slot is chosen without a branch.
func match(secret []byte, code string) (slot int, ok bool, err error) {
	n, err := slots(secret)
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

// slots returns how many code digests secret holds, or an error when its
// length is not a salt followed by 1 to MaxN digests.
func slots(secret []byte) (int, error) {
	body := len(secret) - SaltSize
	if body < sha256.Size || body%sha256.Size != 0 || body/sha256.Size > MaxN {
		return 0, fmt.Errorf("malformed backup-code secret of %d bytes", len(secret))
	}
	return body / sha256.Size, nil
}

// Remaining returns how many of e's codes are still unused: 0 for an
// enrollment that is not a well-formed set of backup codes.
func Remaining(e store.Enrollment) int {
	n, err := slots(e.Secret)
	if err != nil || e.Kind != Kind {
		return 0
	}
	all := ^uint64(0) >> (64 - n)
	return n - bits.OnesCount64(e.Counter&all)
}
