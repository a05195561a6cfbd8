// Package backup is the backup-code factor: a set of single-use 8-digit codes
// a user prints or saves when enrolling, for the day their device is lost.
// The store keeps a salted HMAC of each code, never the code, and the
// enrollment's Counter is the bitmask of the codes already used, set
// atomically in the store so each code logs in once.
package backup

import (
	"context"
	"math/bits"
	"time"

	"radiusmfa/factors"
	"radiusmfa/factors/internal/codehash"
	"radiusmfa/factors/internal/codeuse"
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
	uses codeuse.Recorder
}

var _ factors.Factor = (*Factor)(nil)

// New returns a backup-code factor backed by s.
func New(s Updater, o Options) *Factor {
	return &Factor{uses: codeuse.New(s, o.Now)}
}

// Kind implements factors.Factor.
func (*Factor) Kind() string { return Kind }

// Verify implements factors.Factor. The code's digest is compared with every
// slot in constant time, so the time taken does not say which code (if any)
// matched. A matching code is marked used in the store, re-checked on the
// stored record within the same transaction: of concurrent logins with one
// code, exactly one succeeds. Codes deleted or regenerated since e was read
// are void.
func (f *Factor) Verify(ctx context.Context, e store.Enrollment, code string) error {
	slot, err := codeuse.Slot(e, Kind, code, MaxN)
	if err != nil {
		return err
	}
	if e.Disabled {
		return factors.ErrInvalidCode
	}
	bit := uint64(1) << slot
	if e.Counter&bit != 0 {
		return factors.ErrReplayed
	}
	return f.uses.Record(ctx, e, f.uses.Now(), func(s *store.Enrollment) error {
		if s.Disabled {
			return factors.ErrInvalidCode
		}
		if s.Counter&bit != 0 {
			return factors.ErrReplayed
		}
		s.Counter |= bit
		return nil
	})
}

// Remaining returns how many of e's codes are still unused: 0 for an
// enrollment that is not a well-formed set of backup codes.
func Remaining(e store.Enrollment) int {
	n, err := codehash.Slots(e.Secret, MaxN)
	if err != nil || e.Kind != Kind {
		return 0
	}
	all := ^uint64(0) >> (64 - n)
	return n - bits.OnesCount64(e.Counter&all)
}
