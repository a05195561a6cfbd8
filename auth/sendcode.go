package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"radiusmfa/store"
)

// Kinds of device whose codes the server sends.
const (
	KindSMS   = "sms"   // a text message to a phone
	KindVoice = "voice" // a phone call that reads the code out
	KindEmail = "email"
)

// SentKinds are the kinds of device whose codes are sent, in menu order.
func SentKinds() []string { return []string{KindSMS, KindVoice, KindEmail} }

// IsSentKind reports whether devices of kind get their codes sent.
func IsSentKind(kind string) bool {
	return kind == KindSMS || kind == KindVoice || kind == KindEmail
}

// CodeSender sends one-time codes to a user's phone or email address.
// The codes are checked by the Factor of the device's kind.
type CodeSender interface {
	// SendCode sends a new code for en, which replaces any code sent
	// before, and tells where it went. It fails with an error wrapping
	// ErrCodeLimited or ErrCodeNotSent when nothing was sent.
	SendCode(ctx context.Context, en store.Enrollment) (SentCode, error)
	// Describe names en for a menu with its destination masked: "Text
	// message to •••-•••-3816".
	Describe(en store.Enrollment) string
}

// DirectoryDevices is a CodeSender that also keeps devices for the phone
// number and address a directory holds (when the admin trusts them).
type DirectoryDevices interface {
	// SyncDirectory makes the user's directory devices match the profile
	// and returns the user's devices as they then are.
	SyncDirectory(ctx context.Context, user string, p store.Profile, have []store.Enrollment) ([]store.Enrollment, error)
}

// SentCode is where a code went and how long it works.
type SentCode struct {
	To      string // "by text message to •••-•••-3816"
	Expires time.Time
}

// Refusals of a CodeSender.
var (
	// ErrCodeLimited: the user, or the server as a whole, was sent as many
	// codes as the rate limits allow for now.
	ErrCodeLimited = errors.New("auth: too many codes sent")
	// ErrCodeNotSent: the delivery provider failed.
	ErrCodeNotSent = errors.New("auth: the code could not be sent")
)

// SetCodeSender installs sent codes (nil: none). Set before serving; the
// kinds it sends are usable only with their Factors given to NewEngine.
func (e *Engine) SetCodeSender(s CodeSender) { e.sender = s }

// Public messages of sent codes.
const (
	// MsgCodeSent follows a keyword: the login is refused, and the next
	// one carries the code.
	MsgCodeSent      = "A code was sent %s. Sign in again with your password followed by the code, e.g. password%s123456"
	MsgEnterSentCode = "Enter the code sent %s (reply r for a new code)"
	MsgCodeLimited   = "Too many codes were sent: wait a few minutes, or use another method"
	MsgCodeNotSent   = "Could not send the code: try another method"
	MsgCodeExpired   = "That code has expired: ask for a new one"
	MsgNoCodeDevice  = "You have no device of that kind: choose another way to get a code"
)

// Reasons of sent codes.
const (
	ReasonCodeSent        Reason = "code_sent"        // a keyword sent a code; the login ends here
	ReasonCodeLimited     Reason = "code_limited"     // no code sent: rate limit or hourly budget
	ReasonCodeNotSent     Reason = "code_not_sent"    // no code sent: the provider failed
	ReasonNoCodeDevice    Reason = "no_code_device"   // a keyword named a device the user does not have
	ReasonExpiredPasscode Reason = "expired_passcode" // the right sent code, after its expiry
)

// sends reports whether keyword kw can be acted on by this engine.
func (e *Engine) sends(kw Keyword) bool {
	if kw.Kind == KindPush {
		return e.pusher != nil
	}
	_, known := e.factors[kw.Kind]
	return known && e.sender != nil
}

// sentDevices are the usable devices whose codes are sent, the preferred
// first.
func sentDevices(usable []store.Enrollment) []store.Enrollment {
	return devicesOf(usable, IsSentKind)
}

// sendByKeyword sends a code to the device a keyword named and ends the
// login with a Reply-Message saying where it went: the user signs in
// again with the code appended. Not a failure: the password was right.
func (e *Engine) sendByKeyword(ctx context.Context, d Decision, kw Keyword, usable []store.Enrollment, interactive bool) Decision {
	devs := devicesOf(usable, func(kind string) bool { return kind == kw.Kind })
	switch {
	case kw.N < len(devs):
	case interactive:
		// The site's buttons offer every kind the server sends: a user
		// without one is told, not counted (the password was right).
		d.Outcome, d.Reason, d.Message = Reject, ReasonNoCodeDevice, MsgNoCodeDevice
		return d
	default:
		return e.fail(ctx, d, ReasonNoCodeDevice)
	}
	sent, err := e.sender.SendCode(ctx, devs[kw.N])
	if err != nil {
		return codeNotSent(d, err)
	}
	d.Outcome, d.Reason, d.Message = Reject, ReasonCodeSent, fmt.Sprintf(MsgCodeSent, sent.To, e.policy.Delimiter)
	return d
}

// codeNotSent is the refusal of a login whose code could not be sent.
func codeNotSent(d Decision, err error) Decision {
	switch {
	case errors.Is(err, ErrCodeLimited):
		// Routine, and logged by the sender: not an error line per login.
		d.Outcome, d.Reason, d.Message = Reject, ReasonCodeLimited, MsgCodeLimited
	case errors.Is(err, ErrCodeNotSent):
		d.Outcome, d.Reason, d.Message, d.Err = Reject, ReasonCodeNotSent, MsgCodeNotSent, err
	default:
		return internal(d, fmt.Errorf("sending a code: %w", err))
	}
	return d
}

// sendChallenge sends a code to en and answers with an Access-Challenge
// asking for it; the answer may be the code, or r (or 0) for a new one.
// When nothing could be sent and the user has other methods, the menu
// comes back with what went wrong, so they can pick another.
func (e *Engine) sendChallenge(ctx context.Context, d Decision, en store.Enrollment, p *pendingChallenge, usable []store.Enrollment) Decision {
	next := *p
	next.step, next.sent = stepSentCode, en.ID
	sent, err := e.sender.SendCode(ctx, en)
	if err != nil {
		failed := codeNotSent(d, err)
		if failed.Reason == ReasonInternalError || len(e.menuOptions(usable)) < 2 {
			return failed
		}
		next.step, next.sent = stepMenu, ""
		d = e.challenge(d, &next, failed.Message+". "+e.menu(usable))
		if d.Outcome == Challenge {
			d.Reason, d.Err = failed.Reason, failed.Err
		}
		return d
	}
	// An email may take longer to arrive than a challenge lives: the
	// answer may come as long as the code works.
	return e.challengeUntil(d, &next, fmt.Sprintf(MsgEnterSentCode, sent.To), sent.Expires)
}

// isResend reports whether an answer to a sent code asks for a new one.
func isResend(answer string) bool {
	return answer == "r" || answer == "R" || answer == "0"
}
