// Package codeuse holds the steps of a login the backup and bypass factors
// share: finding the slot a typed code matches in an enrollment (Slot), and
// marking it used (Recorder.Record), re-checked and written on the stored
// record in one store transaction, so of concurrent logins racing on stale
// copies only as many win as the record allows.
package codeuse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"radiusmfa/factors"
	"radiusmfa/factors/internal/codehash"
	"radiusmfa/store"
)

// Updater is the part of the store a Recorder needs.
type Updater interface {
	UpdateEnrollment(ctx context.Context, user, id string, fn func(*store.Enrollment) error) error
}

// Recorder records code uses in a store, on a clock.
type Recorder struct {
	store Updater
	now   func() time.Time
}

// New returns a Recorder writing to s; now nil means time.Now.
func New(s Updater, now func() time.Time) Recorder {
	if now == nil {
		now = time.Now
	}
	return Recorder{store: s, now: now}
}

// Slot returns the slot of e's secret that the code as typed matches, kind
// being the factor's enrollment kind. A code that is not 8 digits once
// normalised, an enrollment of another kind and a code that matches no slot
// are factors.ErrInvalidCode; a malformed secret (not a salt and 1 to most
// digests) is an error naming the enrollment. It looks at e only: whether the
// slot may still log in is the factor's to decide.
func Slot(e store.Enrollment, kind, code string, most int) (int, error) {
	c, ok := codehash.Normalize(code)
	if !ok || e.Kind != kind {
		return 0, factors.ErrInvalidCode
	}
	slot, found, err := codehash.Match(e.Secret, c, most)
	if err != nil {
		return 0, fmt.Errorf("%s: enrollment %q of user %q: %w", kind, e.ID, e.User, err)
	}
	if !found {
		return 0, factors.ErrInvalidCode
	}
	return slot, nil
}

// Now reads the Recorder's clock.
func (r Recorder) Now() time.Time { return r.now() }

// Record runs use on the stored copy of e inside one store transaction and,
// when use returns nil, sets LastUsedAt to now. use decides, on the stored
// record rather than on e, whether the code may still log in: it returns
// factors.ErrInvalidCode or factors.ErrReplayed to refuse, and these come
// back as they are. A record deleted since e was read voids the code
// (ErrInvalidCode); any other store error is wrapped and returned.
func (r Recorder) Record(ctx context.Context, e store.Enrollment, now time.Time, use func(*store.Enrollment) error) error {
	err := r.store.UpdateEnrollment(ctx, e.User, e.ID, func(s *store.Enrollment) error {
		if err := use(s); err != nil {
			return err
		}
		s.LastUsedAt = now
		return nil
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, factors.ErrReplayed), errors.Is(err, factors.ErrInvalidCode):
		return err
	case errors.Is(err, store.ErrNotFound):
		return factors.ErrInvalidCode
	default:
		return fmt.Errorf("%s: record code use: %w", e.Kind, err)
	}
}
