package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"radiusmfa/auth/localdir"
	"radiusmfa/factors/totp"
	"radiusmfa/store"
)

// credentials validates a name and password and hashes the password.
func (s *Service) credentials(ctx context.Context, name, password string) (n, hash string, err error) {
	if n, _, err = s.user(ctx, name, needAdmin); err != nil {
		return "", "", err
	}
	if err := s.checkPassword(password); err != nil {
		return "", "", err
	}
	hash, err = localdir.HashPassword(password, s.opt.Hash, nil)
	return n, hash, err
}

// AddUser creates a built-in directory user.
func (s *Service) AddUser(ctx context.Context, name, password string) error {
	n, h, err := s.credentials(ctx, name, password)
	if err != nil {
		return err
	}
	now := s.opt.Now().UTC()
	if err := s.st.CreateUser(ctx, store.User{Name: n, PasswordHash: h, CreatedAt: now, UpdatedAt: now}); err != nil {
		return err
	}
	s.audit(ctx, "user.add", n)
	return nil
}

// SetPassword replaces a user's password.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	n, h, err := s.credentials(ctx, name, password)
	if err != nil {
		return err
	}
	err = s.st.UpdateUser(ctx, n, func(u *store.User) error {
		u.PasswordHash, u.UpdatedAt = h, s.opt.Now().UTC()
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(ctx, "user.passwd", n)
	return nil
}

// DeleteUser removes a user and their devices.
func (s *Service) DeleteUser(ctx context.Context, name string) error {
	n, _, err := s.user(ctx, name, needAdmin)
	if err != nil {
		return err
	}
	if err := s.st.DeleteUser(ctx, n); err != nil {
		return err
	}
	s.audit(ctx, "user.del", n)
	return nil
}

// ListUsers lists users with their lock state and device count.
func (s *Service) ListUsers(ctx context.Context) ([]UserInfo, error) {
	if _, err := s.authorize(ctx, "", needStaff); err != nil {
		return nil, err
	}
	us, err := s.st.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	now := s.opt.Now()
	out := make([]UserInfo, 0, len(us))
	for _, u := range us {
		l, err := s.st.Lockout(ctx, u.Name)
		if err != nil {
			return nil, err
		}
		es, err := s.st.Enrollments(ctx, u.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, UserInfo{Name: u.Name, Disabled: u.Disabled, LockedOut: l.Active(now),
			Failures: l.Failures, Devices: len(es), CreatedAt: u.CreatedAt, HasPassword: u.PasswordHash != "",
			Directory: cmp.Or(u.Directory, "builtin"), Profile: u.Profile})
	}
	return out, nil
}

// LockUser disables a user until UnlockUser.
func (s *Service) LockUser(ctx context.Context, name string) error {
	return s.setDisabled(ctx, name, true, "user.lock")
}

// UnlockUser re-enables a user and clears any failure lockout.
func (s *Service) UnlockUser(ctx context.Context, name string) error {
	n, _, err := s.user(ctx, name, needStaff)
	if err != nil {
		return err
	}
	err = s.setDisabled(ctx, n, false, "user.unlock")
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// A lockout counter exists for any name that failed, known or not.
	if cerr := s.st.ClearFailures(ctx, n); cerr != nil {
		return cerr
	}
	// Unlocking also lifts a push suspension (after denials or a report):
	// the help desk has spoken with the user.
	if s.opt.ResumePush != nil {
		s.opt.ResumePush(n)
	}
	return err
}

func (s *Service) setDisabled(ctx context.Context, name string, disabled bool, action string) error {
	n, _, err := s.user(ctx, name, needStaff)
	if err != nil {
		return err
	}
	err = s.st.UpdateUser(ctx, n, func(u *store.User) error {
		u.Disabled, u.UpdatedAt = disabled, s.opt.Now().UTC()
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(ctx, action, n)
	return nil
}

// EnrollTOTP adds an authenticator-app device and returns its seed, once.
func (s *Service) EnrollTOTP(ctx context.Context, r TOTPRequest) (TOTPResult, error) {
	n, _, err := s.user(ctx, r.User, needStaff)
	if err != nil {
		return TOTPResult{}, err
	}
	if r.Label = strings.TrimSpace(r.Label); r.Label != "" && !validLabel(r.Label) {
		return TOTPResult{}, fmt.Errorf("%w: a device name is 1-%d characters, no control characters", ErrInvalid, maxLabelLen)
	}
	digits, alg := r.Digits, r.Algorithm
	if digits == 0 {
		digits = s.opt.Digits
	}
	if alg == "" {
		alg = s.opt.Algorithm
	}
	p, err := totp.NewEnrollment(n, totp.EnrollOptions{Issuer: s.opt.Issuer, Label: r.Label,
		Digits: digits, Algorithm: alg, Now: s.opt.Now()})
	if err != nil {
		return TOTPResult{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// Checked before ensureUser: a refused request creates no record.
	if err := s.ensureUser(ctx, n); err != nil {
		return TOTPResult{}, err
	}
	if err := s.st.AddEnrollment(ctx, p.Enrollment); err != nil {
		return TOTPResult{}, err
	}
	s.audit(ctx, "totp.enroll "+p.Enrollment.ID, n)
	return TOTPResult{ID: p.Enrollment.ID, Secret: p.Secret, URI: p.URI}, nil
}

// ensureUser checks that the user has a record; with an external
// directory, a user who never logged in yet gets one (without a password:
// the directory keeps that), so devices can be enrolled ahead of a first login.
func (s *Service) ensureUser(ctx context.Context, n string) error {
	_, err := s.st.GetUser(ctx, n)
	if !errors.Is(err, store.ErrNotFound) || s.opt.Directory == "" {
		return err
	}
	now := s.opt.Now().UTC()
	err = s.st.CreateUser(ctx, store.User{Name: n, Directory: s.opt.Directory, CreatedAt: now, UpdatedAt: now})
	if err != nil && !errors.Is(err, store.ErrExists) {
		return err
	}
	if err == nil {
		s.audit(ctx, "user.add directory="+s.opt.Directory, n)
	}
	return nil
}

// ListDevices lists a user's enrollments without secrets.
func (s *Service) ListDevices(ctx context.Context, user string) ([]Device, error) {
	n, _, err := s.user(ctx, user, needSelfOrStaff)
	if err != nil {
		return nil, err
	}
	if _, err := s.st.GetUser(ctx, n); err != nil {
		return nil, err
	}
	return s.devices(ctx, n)
}

// RemoveDevice deletes one enrollment. Staff may remove any device; a
// user their own (the site asks them for a fresh code from another device
// first, through ProveFactor).
func (s *Service) RemoveDevice(ctx context.Context, user, id string) error {
	n, _, err := s.user(ctx, user, needSelfOrStaff)
	if err != nil {
		return err
	}
	if err := s.st.DeleteEnrollment(ctx, n, id); err != nil {
		return err
	}
	s.audit(ctx, "device.remove "+id, n)
	return nil
}

// AuditTail returns the newest n audit records, oldest first.
func (s *Service) AuditTail(ctx context.Context, n int) ([]store.AuditRecord, error) {
	if _, err := s.authorize(ctx, "", needStaff); err != nil {
		return nil, err
	}
	if n <= 0 || n > 100000 {
		return nil, fmt.Errorf("%w: n must be 1-100000", ErrInvalid)
	}
	return s.st.RecentAudit(ctx, n)
}
