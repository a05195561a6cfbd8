package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"radiusmfa/auth"
	"radiusmfa/factors"
	"radiusmfa/factors/email"
	"radiusmfa/factors/otc"
	"radiusmfa/factors/phone"
	"radiusmfa/store"
)

// ContactCodes sends the code that proves a phone or an email address a
// user is adding, and checks it: the part of *otc.Sender the service uses.
type ContactCodes interface {
	// Sends reports whether codes of kind (auth.KindSMS, KindVoice,
	// KindEmail) are sent.
	Sends(kind string) bool
	// SendProof sends a code to destination, which user is adding as a
	// device of kind; the Proof holds the device, not yet stored.
	SendProof(ctx context.Context, user, kind, destination, label string) (*otc.Proof, error)
	// CheckProof reports whether code is the one p sent: nil,
	// otc.ErrExpired or factors.ErrInvalidCode.
	CheckProof(p *otc.Proof, code string) error
}

var _ ContactCodes = (*otc.Sender)(nil)

// SentKinds are the kinds of device whose codes this server sends, in
// menu order: what a user may add, and have a code sent to at sign-in.
func (s *Service) SentKinds() []string {
	var out []string
	for _, k := range auth.SentKinds() {
		if s.opt.Codes != nil && s.opt.Codes.Sends(k) {
			out = append(out, k)
		}
	}
	return out
}

// AddContact adds a phone (kind sms or voice) or an email address (kind
// email) to a user's devices without sending a code: the operator vouches
// for it. It returns the new device's ID.
func (s *Service) AddContact(ctx context.Context, user, kind, destination, label string) (string, error) {
	n, p, err := s.user(ctx, user, needStaff)
	if err != nil {
		return "", err
	}
	// The request is checked before ensureUser: a refused one creates no record.
	dest, label, err := s.contactRequest(kind, destination, label)
	if err != nil {
		return "", err
	}
	if err := s.ensureUser(ctx, n); err != nil {
		return "", err
	}
	if err := s.notEnrolled(ctx, n, kind, dest); err != nil {
		return "", err
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	e, err := otc.NewEnrollment(n, hex.EncodeToString(id[:]), kind, label, dest, nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	e.CreatedAt, e.CreatedBy = s.opt.Now().UTC(), vouchedBy(p.Name)
	if err := s.st.AddEnrollment(ctx, e); err != nil {
		return "", err
	}
	s.audit(ctx, kind+".add "+e.ID, n)
	return e.ID, nil
}

// vouchedBy is the CreatedBy of a device an operator added: their name,
// never the mark of a directory's device (which a login would replace).
func vouchedBy(operator string) string {
	if operator == otc.FromDirectory {
		return "operator " + operator
	}
	return operator
}

// BeginContact sends a code to a phone or an email address the user
// themself is adding. Nothing is stored: ConfirmContact stores the device
// once the user enters the code. The errors of a send that failed wrap
// auth.ErrCodeLimited or auth.ErrCodeNotSent.
func (s *Service) BeginContact(ctx context.Context, user, kind, destination, label string) (*otc.Proof, error) {
	n, _, err := s.user(ctx, user, needSelf)
	if err != nil {
		return nil, err
	}
	if !auth.IsSentKind(kind) {
		return nil, fmt.Errorf("%w: kind %q: codes go by sms, voice or email", ErrInvalid, kind)
	}
	if s.opt.Codes == nil || !s.opt.Codes.Sends(kind) {
		return nil, fmt.Errorf("%w: this server sends no codes %s", ErrInvalid, otc.By(kind))
	}
	dest, label, err := s.contactRequest(kind, destination, label)
	if err != nil {
		return nil, err
	}
	if err := s.notEnrolled(ctx, n, kind, dest); err != nil {
		return nil, err
	}
	return s.opt.Codes.SendProof(ctx, n, kind, dest, label)
}

// ConfirmContact stores the device of a proof when code is the code sent
// to it, as ConfirmTOTP stores an app: with o.First only while the user has
// no device, else only while the user still has an enabled one; with
// o.NeedProof only with a right o.Proof too. A wrong code is
// factors.ErrInvalidCode; the right one after it expired is otc.ErrExpired
// (which is also a factors.ErrInvalidCode): the user asks for a new one.
func (s *Service) ConfirmContact(ctx context.Context, proof *otc.Proof, code string, o ConfirmOptions) (string, error) {
	if proof == nil {
		return "", fmt.Errorf("%w: no code was sent", ErrInvalid)
	}
	e := proof.Enrollment
	n, _, err := s.user(ctx, e.User, needSelf)
	if err != nil {
		return "", err
	}
	if e.User != n || !auth.IsSentKind(e.Kind) {
		return "", fmt.Errorf("%w: the proof is not this user's", ErrInvalid)
	}
	if s.opt.Codes == nil {
		return "", fmt.Errorf("%w: this server sends no codes", ErrInvalid)
	}
	switch err := s.opt.Codes.CheckProof(proof, strings.TrimSpace(code)); {
	case errors.Is(err, otc.ErrExpired), errors.Is(err, factors.ErrExpired):
		return "", otc.ErrExpired
	case errors.Is(err, factors.ErrInvalidCode):
		return "", factors.ErrInvalidCode
	case err != nil:
		return "", err
	}
	if err := s.stillEntitled(ctx, n, o.First); err != nil {
		return "", err
	}
	dest, err := otc.Destination(e)
	if err != nil {
		return "", err
	}
	// The same phone or address may have been added meanwhile (another
	// tab, the help desk, the directory).
	if err := s.notEnrolled(ctx, n, e.Kind, dest); err != nil {
		return "", err
	}
	// Only now, with the code sent found right (see ConfirmTOTP).
	if err := s.proveExisting(ctx, n, o); err != nil {
		return "", err
	}
	if err := s.storeConfirmed(ctx, e, o.First); err != nil {
		return "", err
	}
	s.audit(ctx, e.Kind+".enroll "+e.ID, n)
	return e.ID, nil
}

// storeConfirmed stores a confirmed device: a first one only while the
// user has none.
func (s *Service) storeConfirmed(ctx context.Context, e store.Enrollment, first bool) error {
	if !first {
		return s.st.AddEnrollment(ctx, e)
	}
	// Spent bypass codes do not make a user enrolled (see ConfirmTOTP).
	if err := s.dropSpentBypass(ctx, e.User); err != nil {
		return err
	}
	err := s.st.AddFirstEnrollment(ctx, e)
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("%w: a device was enrolled meanwhile", ErrAccountChanged)
	}
	return err
}

// contactRequest checks a phone number or an address typed for a device
// of kind and a label, and returns the destination in its stored form
// (E.164, or the bare address) and the label to use.
func (s *Service) contactRequest(kind, typed, label string) (dest, lbl string, err error) {
	switch kind {
	case auth.KindSMS, auth.KindVoice:
		n, err := ParsePhone(s.opt.PhoneRules, typed)
		if err != nil {
			return "", "", err
		}
		dest = string(n)
	case auth.KindEmail:
		a, err := email.ParseAddress(typed)
		if err != nil {
			return "", "", fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(err.Error(), "email: "))
		}
		dest = a
	default:
		return "", "", fmt.Errorf("%w: kind %q: codes go by sms, voice or email", ErrInvalid, kind)
	}
	if label = strings.TrimSpace(label); label == "" {
		label = defaultContactLabel(kind, dest)
	}
	if !validLabel(label) {
		return "", "", fmt.Errorf("%w: a device name is 1-%d characters, no control characters", ErrInvalid, maxLabelLen)
	}
	return dest, label, nil
}

// ParsePhone reads a phone number typed for a device by r. A refused one
// is ErrInvalid, saying what is wrong for the person who typed it.
func ParsePhone(r phone.Rules, typed string) (phone.Number, error) {
	n, err := r.Parse(typed)
	if err == nil {
		return n, nil
	}
	msg := strings.TrimPrefix(err.Error(), "phone: ")
	switch {
	case errors.Is(err, phone.ErrCountryNotAllowed) && len(r.Allowed) > 0:
		msg += "; allowed: " + strings.ToUpper(strings.Join(r.Allowed, ", "))
	case errors.Is(err, phone.ErrInvalid):
		msg += ": check it, or type it with + and the country code (+1 585 555 0123)"
	}
	return "", fmt.Errorf("%w: %s", ErrInvalid, msg)
}

// defaultContactLabel names a device after its masked destination:
// "Phone •••-•••-3816", "Email cki•••@example.com" (cut to fit a label).
func defaultContactLabel(kind, dest string) string {
	label := "Phone " + otc.Mask(kind, dest)
	if kind == auth.KindEmail {
		label = "Email " + otc.Mask(kind, dest)
	}
	if utf8.RuneCountInString(label) > maxLabelLen {
		label = string([]rune(label)[:maxLabelLen-1]) + "…"
	}
	return label
}

// notEnrolled refuses a destination the user already has a device of kind
// for.
func (s *Service) notEnrolled(ctx context.Context, n, kind, dest string) error {
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return err
	}
	for _, e := range es {
		if e.Kind != kind {
			continue
		}
		if d, err := otc.Destination(e); err == nil && d == dest {
			return fmt.Errorf("%w: %s already has this %s", ErrInvalid, n, contactNoun(kind))
		}
	}
	return nil
}

// contactTo is where a device's codes go, masked for listings
// ("•••-•••-3816", "cki•••@example.com"); "" for other kinds.
func contactTo(e store.Enrollment) string {
	if !auth.IsSentKind(e.Kind) {
		return ""
	}
	dest, err := otc.Destination(e)
	if err != nil {
		return "•••"
	}
	return otc.Mask(e.Kind, dest)
}

// contactNoun names a device of kind in a sentence.
func contactNoun(kind string) string {
	switch kind {
	case auth.KindSMS:
		return "phone for text messages"
	case auth.KindVoice:
		return "phone for calls"
	}
	return "email address"
}
