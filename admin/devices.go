package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"radiusmfa/auth"
	"radiusmfa/factors"
	"radiusmfa/factors/backup"
	"radiusmfa/factors/bypass"
	"radiusmfa/factors/push"
	"radiusmfa/store"
)

// BypassRequest asks for a bypass code.
type BypassRequest struct {
	User string        `json:"user"`
	Uses int           `json:"uses,omitempty"` // default 1
	TTL  time.Duration `json:"ttl,omitempty"`  // default 1h
}

// BypassResult is shown once: the code is stored only hashed.
type BypassResult struct {
	ID        string    `json:"id"`
	Code      string    `json:"code"`
	Uses      int       `json:"uses"`
	ExpiresAt time.Time `json:"expires_at"`
}

// maxLabelLen bounds a device name.
const maxLabelLen = 64

func (s *Service) devices(ctx context.Context, n string) ([]Device, error) {
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return nil, err
	}
	now := s.opt.Now()
	out := make([]Device, 0, len(es))
	for _, e := range es {
		out = append(out, deviceOf(e, now))
	}
	return out, nil
}

func deviceOf(e store.Enrollment, now time.Time) Device {
	d := Device{ID: e.ID, Kind: e.Kind, Label: e.Label, Disabled: e.Disabled, CreatedAt: e.CreatedAt,
		LastUsedAt: e.LastUsedAt, Preferred: e.Preferred, CreatedBy: e.CreatedBy}
	switch e.Kind {
	case "backup":
		d.Remaining = backup.Remaining(e)
	case auth.KindBypass:
		d.Remaining = bypass.UsesLeft(e)
		d.ExpiresAt = e.ExpiresAt
		d.Expired = !bypass.Usable(e, now)
	case auth.KindPush:
		if pd, err := push.DeviceOf(e); err == nil {
			d.Channel = string(pd.Channel)
		}
	case auth.KindSMS, auth.KindVoice, auth.KindEmail:
		// Their ExpiresAt is the outstanding code's, not the device's:
		// it is not shown.
		d.To = contactTo(e)
	}
	return d
}

// SetDeviceDisabled disables a lost or stolen device (or enables it again):
// a disabled device is never accepted, and a user whose devices are all
// disabled cannot log in on the password alone.
func (s *Service) SetDeviceDisabled(ctx context.Context, user, id string, disabled bool) error {
	n, _, err := s.user(ctx, user, needStaff)
	if err != nil {
		return err
	}
	err = s.st.UpdateEnrollment(ctx, n, id, func(e *store.Enrollment) error {
		e.Disabled = disabled
		return nil
	})
	if err != nil {
		return err
	}
	action := "device.enable "
	if disabled {
		action = "device.disable "
	}
	s.audit(ctx, action+id, n)
	return nil
}

// RenameDevice sets a device's name.
func (s *Service) RenameDevice(ctx context.Context, user, id, label string) error {
	n, _, err := s.user(ctx, user, needSelfOrStaff)
	if err != nil {
		return err
	}
	label = strings.TrimSpace(label)
	if !validLabel(label) {
		return fmt.Errorf("%w: a device name is 1-%d characters, no control characters", ErrInvalid, maxLabelLen)
	}
	err = s.st.UpdateEnrollment(ctx, n, id, func(e *store.Enrollment) error {
		e.Label = label
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(ctx, "device.rename "+id, n)
	return nil
}

// validLabel reports whether label (trimmed) may name a device: 1 to
// maxLabelLen characters, none of them a control or format character (a
// bidi override would make a listing lie about its neighbours).
func validLabel(label string) bool {
	return label != "" && utf8.ValidString(label) && utf8.RuneCountInString(label) <= maxLabelLen &&
		!strings.ContainsFunc(label, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) })
}

// SetPreferred makes one device the user's preferred one (and no other).
func (s *Service) SetPreferred(ctx context.Context, user, id string) error {
	n, _, err := s.user(ctx, user, needSelfOrStaff)
	if err != nil {
		return err
	}
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(es, func(e store.Enrollment) bool { return e.ID == id })
	switch {
	case i < 0:
		return fmt.Errorf("%w: device %q of user %q", store.ErrNotFound, id, n)
	case es[i].Kind == backup.Kind || es[i].Kind == auth.KindBypass:
		return fmt.Errorf("%w: backup and bypass codes cannot be the preferred method", ErrInvalid)
	case es[i].Disabled:
		return fmt.Errorf("%w: a disabled device cannot be the preferred method", ErrInvalid)
	}
	// Others are cleared before the target is set: an interrupted change
	// leaves no preferred device rather than two.
	for _, e := range es {
		if e.ID == id || !e.Preferred {
			continue
		}
		err := s.st.UpdateEnrollment(ctx, n, e.ID, func(e *store.Enrollment) error {
			e.Preferred = false
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	err = s.st.UpdateEnrollment(ctx, n, id, func(e *store.Enrollment) error {
		if e.Disabled {
			return fmt.Errorf("%w: a disabled device cannot be the preferred method", ErrInvalid)
		}
		e.Preferred = true
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(ctx, "device.prefer "+id, n)
	return nil
}

// ResetEnrollment removes every device of the user, who must enroll again
// (at their next login, where MFA is required) and returns how many there were.
func (s *Service) ResetEnrollment(ctx context.Context, user string) (int, error) {
	n, _, err := s.user(ctx, user, needStaff)
	if err != nil {
		return 0, err
	}
	if _, err := s.st.GetUser(ctx, n); err != nil {
		return 0, err
	}
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return 0, err
	}
	removed := 0
	var failed error
	for _, e := range es {
		switch err := s.st.DeleteEnrollment(ctx, n, e.ID); {
		case err == nil:
			removed++
		case !errors.Is(err, store.ErrNotFound):
			failed = err
		}
		if failed != nil {
			break
		}
	}
	if removed > 0 || failed == nil {
		// Audited (and sessions ended) for what was removed, even when a
		// later removal failed.
		s.audit(ctx, fmt.Sprintf("user.reset_enrollment devices=%d", removed), n)
	}
	return removed, failed
}

// IssueBypass makes a bypass code for a user who lost their device: usable
// in place of a one-time code (password,CODE) r.Uses times until it
// expires. The code is returned once and stored only hashed.
func (s *Service) IssueBypass(ctx context.Context, r BypassRequest) (BypassResult, error) {
	n, p, err := s.user(ctx, r.User, needStaff)
	if err != nil {
		return BypassResult{}, err
	}
	// The request is checked before ensureUser: a refused one creates no record.
	e, code, err := bypass.Issue(n, bypass.Request{Uses: r.Uses, TTL: r.TTL, By: p.Name}, s.opt.Now())
	if err != nil {
		return BypassResult{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := s.ensureUser(ctx, n); err != nil {
		return BypassResult{}, err
	}
	if err := s.st.AddEnrollment(ctx, e); err != nil {
		return BypassResult{}, err
	}
	s.audit(ctx, fmt.Sprintf("bypass.issue %s uses=%d expires=%s", e.ID, e.MaxUses, e.ExpiresAt.UTC().Format(time.RFC3339)), n)
	return BypassResult{ID: e.ID, Code: code, Uses: e.MaxUses, ExpiresAt: e.ExpiresAt}, nil
}

// NewBackupCodes replaces the user's backup codes with a new set and
// returns the codes, once. Only the user may make them: anyone who sees
// them holds a second factor of the user.
func (s *Service) NewBackupCodes(ctx context.Context, user string) ([]string, error) {
	n, _, err := s.user(ctx, user, needSelf)
	if err != nil {
		return nil, err
	}
	// One replacement at a time (one server owns the database): two at
	// once would each keep their own set.
	s.backupMu.Lock()
	defer s.backupMu.Unlock()
	e, codes, err := backup.Generate(n, backup.Options{Now: s.opt.Now})
	if err != nil {
		return nil, err
	}
	old, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return nil, err
	}
	if err := s.st.AddEnrollment(ctx, e); err != nil {
		return nil, err
	}
	for _, o := range old {
		if o.Kind == "backup" {
			if err := s.st.DeleteEnrollment(ctx, n, o.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
	}
	s.audit(ctx, "backup.generate "+e.ID, n)
	return codes, nil
}

// ProveFactor checks a fresh one-time code of the user from any usable
// device except exceptID (the one being removed) and consumes it, as a
// login would. It returns nil, factors.ErrInvalidCode or another error.
func (s *Service) ProveFactor(ctx context.Context, user, code, exceptID string) error {
	n, _, err := s.user(ctx, user, needSelf)
	if err != nil {
		return err
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return factors.ErrInvalidCode
	}
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return err
	}
	en := s.opt.Enforcement
	for _, e := range es {
		f, ok := s.opt.Factors[e.Kind]
		if !ok || e.ID == exceptID || e.Disabled || e.Kind == auth.KindBypass || (en != nil && !en().Allows(e.Kind)) {
			continue
		}
		switch err := f.Verify(ctx, e, code); {
		case err == nil:
			s.audit(ctx, "factor.proved "+e.ID, n)
			return nil
		case errors.Is(err, factors.ErrInvalidCode), errors.Is(err, factors.ErrReplayed):
		default:
			return err
		}
	}
	return factors.ErrInvalidCode
}
