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

// ConfirmTOTP stores an offered secret when code is its current code, with
// that code's time step already used, so the code typed to confirm cannot
// log in afterwards. With first set (a session signed in on the password
// alone, with no device) the device is stored only while the user has none,
// checked and written in one transaction. Otherwise the user must still
// have an enabled device: a session granted for a device the help desk has
// since disabled adds nothing. A wrong code is factors.ErrInvalidCode.
func (s *Service) ConfirmTOTP(ctx context.Context, offer TOTPOffer, code string, first bool) (string, error) {
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
	if err := s.stillEntitled(ctx, n, first); err != nil {
		return "", err
	}
	e.Counter, e.LastUsedAt = step, s.opt.Now()
	if first {
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
