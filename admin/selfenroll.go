package admin

import (
	"context"
	"errors"
	"fmt"

	"radiusmfa/factors"
	"radiusmfa/factors/bypass"
	"radiusmfa/factors/totp"
	"radiusmfa/store"
)

// TOTPOffer is an authenticator-app secret offered to a user and not yet
// stored: the site keeps it in the user's session until ConfirmTOTP.
type TOTPOffer struct {
	User       string           `json:"user"`
	Secret     string           `json:"secret"` // base32, shown to the user to scan or type
	URI        string           `json:"uri"`    // otpauth:// for the QR code
	Enrollment store.Enrollment `json:"-"`
}

// ErrAccountChanged refuses a confirmation whose session no longer stands
// for the account: the user was disabled, their devices were all disabled
// or removed since sign-in, or (for a first device) one was enrolled
// meanwhile. The site ends the session.
var ErrAccountChanged = errors.New("the account changed since sign-in")

// ErrBadProof refuses a confirmation whose proof (a current code of
// another device, or a backup code) was missing or wrong.
var ErrBadProof = errors.New("a current code from another device or a backup code is required")

// BeginTOTP makes a new authenticator-app secret for the user themself to
// scan. Nothing is stored: ConfirmTOTP stores it once the app proves it
// holds the secret.
func (s *Service) BeginTOTP(ctx context.Context, user, label string) (TOTPOffer, error) {
	n, _, err := s.user(ctx, user, needSelf)
	if err != nil {
		return TOTPOffer{}, err
	}
	p, err := totp.NewEnrollment(n, totp.EnrollOptions{Issuer: s.opt.Issuer, Label: label,
		Digits: s.opt.Digits, Algorithm: s.opt.Algorithm, Now: s.opt.Now()})
	if err != nil {
		return TOTPOffer{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return TOTPOffer{User: n, Secret: p.Secret, URI: p.URI, Enrollment: p.Enrollment}, nil
}

// ConfirmOptions say what a confirmation needs besides the new app's code.
type ConfirmOptions struct {
	// First stores the device only while the user has none (a session
	// signed in on the password alone).
	First bool
	// NeedProof asks for Proof, a current code of another device or a
	// backup code (a session signed in a while ago); it is checked, and
	// used up, only once the new app's code is right.
	NeedProof bool
	Proof     string
}

// ConfirmTOTP stores an offered secret when code is its current code, with
// that code's time step already used, so the code typed to confirm cannot
// log in afterwards. With o.First (a session signed in on the password
// alone, with no device) the device is stored only while the user has none,
// checked and written in one transaction. Otherwise the user must still
// have an enabled device: a session granted for a device the help desk has
// since disabled adds nothing. A wrong code is factors.ErrInvalidCode.
func (s *Service) ConfirmTOTP(ctx context.Context, offer TOTPOffer, code string, o ConfirmOptions) (string, error) {
	n, _, err := s.user(ctx, offer.User, needSelf)
	if err != nil {
		return "", err
	}
	e := offer.Enrollment
	if e.User != n || e.Kind != totp.Kind {
		return "", fmt.Errorf("%w: the offer is not this user's", ErrInvalid)
	}
	step, ok, err := totp.Match(e, code, s.opt.Now(), max(s.opt.Skew, 0))
	switch {
	case err != nil:
		return "", err
	case !ok:
		return "", factors.ErrInvalidCode
	}
	if err := s.stillEntitled(ctx, n, o.First); err != nil {
		return "", err
	}
	// Only now, with the new app's code found right: a mistyped one must
	// not burn the proof (often one of ten backup codes).
	if err := s.proveExisting(ctx, n, o); err != nil {
		return "", err
	}
	e.Counter, e.LastUsedAt = step, s.opt.Now()
	if o.First {
		// Spent bypass codes do not make a user enrolled (the engine
		// ignores them); they go, so the first device can be stored.
		if err := s.dropSpentBypass(ctx, n); err != nil {
			return "", err
		}
		err = s.st.AddFirstEnrollment(ctx, e)
		if errors.Is(err, store.ErrExists) {
			return "", fmt.Errorf("%w: a device was enrolled meanwhile", ErrAccountChanged)
		}
	} else {
		err = s.st.AddEnrollment(ctx, e)
	}
	if err != nil {
		return "", err
	}
	s.audit(ctx, "totp.enroll "+e.ID, n)
	return e.ID, nil
}

// proveExisting checks, and uses up, the proof of an existing device that
// o may ask for: ErrBadProof when it is wrong or missing.
func (s *Service) proveExisting(ctx context.Context, n string, o ConfirmOptions) error {
	if !o.NeedProof {
		return nil
	}
	switch err := s.ProveFactor(ctx, n, o.Proof, ""); {
	case errors.Is(err, factors.ErrInvalidCode):
		return ErrBadProof
	case err != nil:
		return err
	}
	return nil
}

// stillEntitled re-reads the account a session was granted for.
func (s *Service) stillEntitled(ctx context.Context, n string, first bool) error {
	u, err := s.st.GetUser(ctx, n)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: no such user", ErrAccountChanged)
	case err != nil:
		return err
	case u.Disabled:
		return fmt.Errorf("%w: the account is disabled", ErrAccountChanged)
	case first:
		return nil // AddFirstEnrollment checks for devices in its transaction
	}
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return err
	}
	now := s.opt.Now()
	for _, e := range es {
		// A bypass code counts while it has not expired, used up or not:
		// it may be what this session signed in with, to enroll a new
		// phone after the help desk disabled the lost one.
		if !e.Disabled && (e.Kind != bypass.Kind || now.Before(e.ExpiresAt)) {
			return nil
		}
	}
	return fmt.Errorf("%w: no enabled device", ErrAccountChanged)
}

// dropSpentBypass deletes the user's bypass codes that expired or were used
// up: they can never log in again (their issue and uses stay audited).
func (s *Service) dropSpentBypass(ctx context.Context, n string) error {
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return err
	}
	now := s.opt.Now()
	for _, e := range es {
		if e.Kind == bypass.Kind && (!now.Before(e.ExpiresAt) || bypass.UsesLeft(e) == 0) {
			if err := s.st.DeleteEnrollment(ctx, n, e.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}
