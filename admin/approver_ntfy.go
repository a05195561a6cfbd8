package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"radiusmfa/factors/push"
	"radiusmfa/store"
)

// NtfyPairing is a new ntfy approver: the topic its app subscribes to is
// shown to the user once, on the page that made it.
type NtfyPairing struct {
	ID    string
	Topic string
}

// PairNtfy stores an ntfy approver of the user themself, with a new secret
// topic, whose approval links point at site (the origin of the site the
// user paired on). Adding a device is the user's own act, as with the
// approver app.
func (s *Service) PairNtfy(ctx context.Context, user, name, site string) (NtfyPairing, error) {
	n, _, err := s.user(ctx, user, needSelf)
	if err != nil {
		return NtfyPairing{}, err
	}
	if name == "" {
		name = push.DefaultNtfyName
	}
	if !validLabel(name) {
		return NtfyPairing{}, fmt.Errorf("%w: a device name is 1-%d characters, no control characters", ErrInvalid, maxLabelLen)
	}
	e, d, err := push.NewNtfyEnrollment(n, name, site, s.opt.Now())
	if err != nil {
		return NtfyPairing{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := s.st.AddEnrollment(ctx, e); err != nil {
		return NtfyPairing{}, err
	}
	s.audit(ctx, "push.pair "+e.ID+" (ntfy)", n)
	return NtfyPairing{ID: e.ID, Topic: d.Topic}, nil
}

// LinkApprover reports, for the site's approval links, whether id is an
// enabled ntfy approver of user: the link, not a principal, authorises the
// answer, so it makes no check of its own. A disabled or removed approver
// answers nothing.
func (s *Service) LinkApprover(ctx context.Context, user, id string) error {
	n, err := s.userName(user)
	if err != nil {
		return err
	}
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(es, func(e store.Enrollment) bool { return e.ID == id })
	if i < 0 || es[i].Disabled || es[i].Kind != push.Kind {
		return fmt.Errorf("%w: ntfy approver %q of user %q", store.ErrNotFound, id, n)
	}
	d, err := push.DeviceOf(es[i])
	if err != nil {
		return errors.Join(store.ErrNotFound, err)
	}
	if d.Channel != push.ChannelNtfy {
		return fmt.Errorf("%w: ntfy approver %q of user %q", store.ErrNotFound, id, n)
	}
	return nil
}
