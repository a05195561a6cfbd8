package admin

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"slices"

	"radiusmfa/factors/push"
	"radiusmfa/store"
)

// PairRequest is what the approver app sends to pair a phone.
type PairRequest struct {
	User         string
	Name         string // shown in the device list and the challenge menu
	PublicKey    string // SPKI of the app's P-256 key, base64
	Subscription []byte // the browser's PushSubscription JSON
}

// PairApprover stores a phone as a push approver of the user themself (the
// site calls it with the principal a pairing token stood for). Adding a
// device beside others is the user's own act, as with an authenticator app.
func (s *Service) PairApprover(ctx context.Context, r PairRequest) (string, error) {
	n, _, err := s.user(ctx, r.User, needSelf)
	if err != nil {
		return "", err
	}
	pub, err := push.ParsePublicKey(r.PublicKey)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	sub, err := push.ParseSubscription(r.Subscription)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	name := r.Name
	if name == "" {
		name = push.DefaultName
	}
	if !validLabel(name) {
		return "", fmt.Errorf("%w: a device name is 1-%d characters, no control characters", ErrInvalid, maxLabelLen)
	}
	e, err := push.NewEnrollment(n, name, pub, sub, s.opt.Now())
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := s.st.AddEnrollment(ctx, e); err != nil {
		return "", err
	}
	s.audit(ctx, "push.pair "+e.ID, n)
	return e.ID, nil
}

// ApproverKey returns the public key of the user's push approver id, for
// the site to check a request the app signed: the signature, not a
// principal, is what authenticates the app, so it makes no check of its
// own. A disabled approver has no key.
func (s *Service) ApproverKey(ctx context.Context, user, id string) (*ecdsa.PublicKey, error) {
	n, err := s.userName(user)
	if err != nil {
		return nil, err
	}
	es, err := s.st.Enrollments(ctx, n)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(es, func(e store.Enrollment) bool { return e.ID == id })
	if i < 0 {
		return nil, fmt.Errorf("%w: approver %q of user %q", store.ErrNotFound, id, n)
	}
	e := es[i]
	if e.Disabled || e.Kind != push.Kind {
		return nil, fmt.Errorf("%w: approver %q of user %q", store.ErrNotFound, id, n)
	}
	d, err := push.DeviceOf(e)
	if err != nil {
		return nil, errors.Join(store.ErrNotFound, err)
	}
	if d.Channel != push.ChannelWebPush {
		// An ntfy approver holds no key: nothing it could sign.
		return nil, fmt.Errorf("%w: approver app %q of user %q", store.ErrNotFound, id, n)
	}
	return d.PublicKey, nil
}
