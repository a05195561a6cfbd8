package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"radiusmfa/store"
)

// KindPush is the enrollment kind of a push approver (a paired phone).
const KindPush = "push"

// PushVerdict is how one push ended.
type PushVerdict int

const (
	PushApproved PushVerdict = iota + 1
	PushDenied
	// PushReported is "Deny and report": the user did not start this login.
	PushReported
	PushTimedOut
	// PushCancelled: the server withdrew the push before an answer (push
	// suspended for the user, or their access reduced meanwhile).
	PushCancelled
)

// PushContext is what the user's phone shows about the login.
type PushContext struct {
	User             string
	Client           string
	NASIdentifier    string
	NASIPAddress     string
	CallingStationID string
	Time             time.Time
}

// ErrPushUnavailable is returned (wrapped) by a Pusher that will not send
// a push now: too many for this user, push suspended after denials, or
// the device's subscription is gone. The login may still use a code.
var ErrPushUnavailable = errors.New("auth: push is not available for this user now")

// Pusher sends one approval request to a paired phone and returns once it
// is delivered; the login then waits on the returned PushWait.
type Pusher interface {
	Push(ctx context.Context, en store.Enrollment, c PushContext) (PushWait, error)
}

// PushWait is a delivered push a login waits on, one way or the other.
type PushWait interface {
	// Wait blocks until the user answers, the push expires or ctx is done
	// (PushTimedOut).
	Wait(ctx context.Context) PushVerdict
	// Then returns at once and calls fn once, on a goroutine of its own,
	// with the verdict Wait would have returned.
	Then(ctx context.Context, fn func(PushVerdict))
}

// NumberPusher is a Pusher that can also send a push with a number to
// match: it returns at once with the number, which the login shows in an
// Access-Challenge, and the answer to that challenge waits on the push.
type NumberPusher interface {
	Pusher
	PushNumbered(ctx context.Context, en store.Enrollment, c PushContext) (PushWait, int, error)
}

// SetPusher installs push approval (nil: none). Set before serving.
func (e *Engine) SetPusher(p Pusher) { e.pusher = p }

// Public messages of push logins.
const (
	MsgPushDenied      = "Login denied on your phone"
	MsgPushTimedOut    = "No answer on your phone: try again, or append a code to your password"
	MsgPushUnavailable = "Push approval is not available now: append a code to your password, e.g. password,123456"
)

// Push reasons.
const (
	ReasonPushDenied      Reason = "push_denied"
	ReasonPushReported    Reason = "push_reported" // "Deny and report": a fraud event
	ReasonPushTimedOut    Reason = "push_timed_out"
	ReasonPushUnavailable Reason = "push_unavailable"
	ReasonNoPushDevice    Reason = "no_push_device"
)

// Keyword is what a password's suffix asks for instead of a code: a push
// (KindPush) or a code sent by text message, call or email (KindSMS,
// KindVoice, KindEmail), to the user's first device of that kind (N 0),
// second (1) or third (2).
type Keyword struct {
	Kind string
	N    int
}

// keywordKinds maps the keyword words to the kinds they ask for.
var keywordKinds = map[string]string{"push": KindPush, "sms": KindSMS, "phone": KindVoice, "email": KindEmail}

// SplitKeyword splits "password<delim>push" (or sms, phone, email; each
// with 2 or 3 after it for the second or third device) like SplitPasscode
// splits a code. ok is false when s ends in no keyword.
func SplitKeyword(s, delim string) (password string, kw Keyword, ok bool) {
	i := strings.LastIndex(s, delim)
	if delim == "" || i < 0 {
		return s, Keyword{}, false
	}
	word := strings.ToLower(s[i+len(delim):])
	n := 0
	if k := len(word) - 1; k > 0 && (word[k] == '2' || word[k] == '3') {
		n, word = int(word[k]-'1'), word[:k]
	}
	kind, known := keywordKinds[word]
	if !known {
		return s, Keyword{}, false
	}
	return s[:i], Keyword{Kind: kind, N: n}, true
}

// pushDevices are the usable push approvers, the preferred one first.
func pushDevices(usable []store.Enrollment) []store.Enrollment {
	return devicesOf(usable, func(kind string) bool { return kind == KindPush })
}

// devicesOf are the usable devices of the kinds of, the preferred one
// first, then in the order they were added (the store lists them by ID,
// which is random).
func devicesOf(usable []store.Enrollment, of func(kind string) bool) []store.Enrollment {
	var out []store.Enrollment
	for _, en := range usable {
		if of(en.Kind) {
			out = append(out, en)
		}
	}
	slices.SortStableFunc(out, func(a, b store.Enrollment) int {
		switch {
		case a.Preferred && !b.Preferred:
			return -1
		case b.Preferred && !a.Preferred:
			return 1
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	return out
}

// prefersPush reports whether a login with no code should push: the user
// has an approver and has not preferred a device of another kind.
func prefersPush(usable []store.Enrollment) bool {
	if len(pushDevices(usable)) == 0 {
		return false
	}
	for _, en := range usable {
		if en.Preferred && en.Kind != KindPush {
			return false
		}
	}
	return true
}

// push sends one push to en and returns a Pending decision that decides on
// its answer. A denial counts toward lockout (someone holds the password);
// a timeout does not.
func (e *Engine) push(ctx context.Context, d Decision, en store.Enrollment, r Request, counted bool, attrs []Attribute) Decision {
	w, err := e.pusher.Push(ctx, en, e.pushContext(d, r))
	if err != nil {
		return pushRefused(d, err)
	}
	return e.awaitPush(d, w, counted, attrs)
}

// awaitPush is the Pending decision of a login waiting on the push w.
func (e *Engine) awaitPush(d Decision, w PushWait, counted bool, attrs []Attribute) Decision {
	return Awaiting(d, w, func(ctx context.Context, v PushVerdict) Decision {
		return e.pushVerdict(ctx, d, v, counted, attrs)
	})
}

// pushContext is what the phone is shown of the login d decides.
func (e *Engine) pushContext(d Decision, r Request) PushContext {
	return PushContext{User: d.User, Client: r.Client, NASIdentifier: r.NASIdentifier,
		NASIPAddress: r.NASIPAddress, CallingStationID: r.CallingStationID, Time: e.now()}
}

// pushRefused decides on a push that could not be sent: push_unavailable
// (append a code) for the Pusher's refusals, an internal error otherwise.
func pushRefused(d Decision, err error) Decision {
	if errors.Is(err, ErrPushUnavailable) {
		d.Outcome, d.Reason, d.Message = Reject, ReasonPushUnavailable, MsgPushUnavailable
		return d
	}
	return internal(d, fmt.Errorf("push: %w", err))
}

// pushVerdict decides on a push's verdict, as push does.
func (e *Engine) pushVerdict(ctx context.Context, d Decision, v PushVerdict, counted bool, attrs []Attribute) Decision {
	switch v {
	case PushApproved:
		d = e.accept(ctx, d, KindPush, ReasonOK, counted)
		d.Attributes = attrs
		return d
	case PushDenied:
		d = e.fail(ctx, d, ReasonPushDenied)
	case PushReported:
		d = e.fail(ctx, d, ReasonPushReported)
	case PushCancelled:
		d.Outcome, d.Reason, d.Message = Reject, ReasonPushUnavailable, MsgPushUnavailable
		return d
	default:
		d.Outcome, d.Reason, d.Message = Reject, ReasonPushTimedOut, MsgPushTimedOut
		return d
	}
	if d.Message == e.failMsg {
		d.Message = MsgPushDenied
	}
	return d
}
