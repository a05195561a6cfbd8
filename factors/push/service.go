package push

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"radiusmfa/auth"
	"radiusmfa/store"
)

// Sender delivers an (encrypted) payload to a subscription: Web Push.
type Sender interface {
	Send(ctx context.Context, sub Subscription, payload []byte) error
}

// ErrGone is what a Sender returns (wrapped) for a subscription the push
// service no longer knows: the device must pair again.
var ErrGone = errors.New("push: subscription gone")

// ServiceOptions configure the Service.
type ServiceOptions struct {
	// Timeout is how long a push may wait for its answer on logins
	// through client; it must stay below that client's RADIUS timeout.
	Timeout func(client string) time.Duration
	// Gone is told of a device whose subscription expired (disable it).
	Gone func(user, deviceID string)
	// Ntfy publishes the pushes of ntfy devices, whose notifications carry
	// approval links signed with Links; nil: those devices get no push
	// (push_unavailable).
	Ntfy  Publisher
	Links *LinkKey
	// Locate, if set, names where a login's Calling-Station-Id is, as
	// "Berlin, Germany", for Context.Location; "" when it cannot tell.
	// It must not block: it runs before each push is sent.
	Locate func(callingStationID string) string
}

// Service is push approval for the engine: it begins a push in the Hub,
// delivers it, and waits for the answer. It implements auth.Pusher.
type Service struct {
	hub  *Hub
	send Sender
	o    ServiceOptions
}

var _ auth.Pusher = (*Service)(nil)

// NewService joins a Hub and a Sender.
func NewService(h *Hub, s Sender, o ServiceOptions) *Service {
	if o.Timeout == nil {
		o.Timeout = func(string) time.Duration { return 25 * time.Second }
	}
	return &Service{hub: h, send: s, o: o}
}

// Hub is the service's hub (for the approver's web endpoints).
func (s *Service) Hub() *Hub { return s.hub }

// Payload is what the phone receives: enough to show the request in the
// notification; the answer is signed over Nonce, User, verdict and time.
type Payload struct {
	V       int       `json:"v"`
	Nonce   string    `json:"nonce"`
	User    string    `json:"user"`
	Context Context   `json:"context"`
	Expires time.Time `json:"expires"`
}

// Push implements auth.Pusher: it begins and delivers one push and returns
// at once; the login waits on the result.
func (s *Service) Push(ctx context.Context, en store.Enrollment, c auth.PushContext) (auth.PushWait, error) {
	w, _, err := s.begin(ctx, en, c, false)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// PushNumbered implements auth.NumberPusher: it sends a push whose app asks
// the user to pick the returned number among three, and returns at once;
// the login shows the number and waits on the result.
func (s *Service) PushNumbered(ctx context.Context, en store.Enrollment, c auth.PushContext) (auth.PushWait, int, error) {
	w, n, err := s.begin(ctx, en, c, true)
	if err != nil {
		return nil, 0, err // not a nil *entry in a non-nil interface
	}
	return w, n, nil
}

// A login waits on its push's Hub entry, an auth.PushWait itself: no
// object of its own per held login.

// Wait implements auth.PushWait.
func (e *entry) Wait(ctx context.Context) auth.PushVerdict {
	return engineVerdict(e.hub.wait(ctx, e))
}

// Then implements auth.PushWait.
func (e *entry) Then(ctx context.Context, fn func(auth.PushVerdict)) {
	e.hub.mu.Lock()
	e.hub.thenLocked(ctx, e, callback{eng: fn})
}

// engineVerdict is the engine's name for a Hub's verdict.
func engineVerdict(v Verdict) auth.PushVerdict {
	switch v {
	case Approved:
		return auth.PushApproved
	case Denied:
		return auth.PushDenied
	case Reported:
		return auth.PushReported
	case Cancelled:
		return auth.PushCancelled
	}
	return auth.PushTimedOut
}

// begin starts and delivers one push; with numbered, its context carries a
// number to match.
func (s *Service) begin(ctx context.Context, en store.Enrollment, c auth.PushContext, numbered bool) (*entry, int, error) {
	dev, err := DeviceOf(en)
	if err != nil {
		return nil, 0, fmt.Errorf("push: device %s of %s: %w", en.ID, en.User, err)
	}
	ttl := s.o.Timeout(c.Client)
	if dl, ok := ctx.Deadline(); ok && !numbered {
		ttl = min(ttl, time.Until(dl))
	}
	// The NAS sends these strings: they reach the phone one line each,
	// with nothing that could fake another line or reorder the text.
	pc := Context{User: c.User, Client: c.Client, NASIdentifier: displayText(c.NASIdentifier), NASIPAddress: c.NASIPAddress,
		CallingStationID: displayText(c.CallingStationID), Time: c.Time}
	if s.o.Locate != nil && c.CallingStationID != "" {
		pc.Location = s.o.Locate(c.CallingStationID)
	}
	if numbered {
		if pc.Number, err = PickNumber(rand.Reader); err != nil {
			return nil, 0, err
		}
	}
	p, err := s.beginOn(en, dev, pc, ttl)
	switch {
	case errors.Is(err, ErrRateLimited), errors.Is(err, ErrSuspended), errors.Is(err, ErrTooMany):
		return nil, 0, fmt.Errorf("%w: %w", auth.ErrPushUnavailable, err)
	case err != nil:
		return nil, 0, err
	}
	if err := s.deliver(ctx, dev, p); err != nil {
		s.hub.Cancel(p)
		if errors.Is(err, ErrGone) && s.o.Gone != nil {
			s.o.Gone(en.User, en.ID)
		}
		return nil, 0, fmt.Errorf("%w: delivery failed: %w", auth.ErrPushUnavailable, err)
	}
	return p.entry, pc.Number, nil
}

// maxDisplayText bounds a NAS-supplied string shown on the phone, in bytes.
const maxDisplayText = 128

// displayText makes s, a string a NAS sent, safe to show on one line: line
// breaks and other control characters, line and paragraph separators and
// bidirectional-text controls become spaces, and it is cut to
// maxDisplayText bytes on a character boundary.
func displayText(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), r == '\u2028', r == '\u2029', unicode.Is(unicode.Bidi_Control, r):
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) > maxDisplayText {
		s = strings.ToValidUTF8(s[:maxDisplayText], "")
	}
	return s
}
