package push

import (
	"errors"
	"time"
)

// Refusals of Answer.
var (
	// ErrUnknown: no pending push of that nonce for that user (never begun,
	// another user's, already answered, or settled otherwise).
	ErrUnknown      = errors.New("push: no such pending push")
	ErrExpired      = errors.New("push: push expired")
	ErrClockSkew    = errors.New("push: answer time too far from the server's clock")
	ErrBadSignature = errors.New("push: answer signature does not verify")
	ErrBadAnswer    = errors.New("push: answer is not approve, deny or report")
)

// Verdict is how a push ended. The zero Verdict is no verdict and approves
// nothing.
type Verdict int

const (
	Approved Verdict = iota + 1
	Denied
	Reported // denied, and reported by the user as not their login
	TimedOut // unanswered before it expired or before the waiter gave up
	// Cancelled: withdrawn by the server before any answer (undelivered,
	// push suspended for the user, or the user's access reduced). It
	// counts toward no fatigue rule and no lockout.
	Cancelled
)

// String names v as the audit log writes it.
func (v Verdict) String() string {
	switch v {
	case Approved:
		return "approved"
	case Denied:
		return "denied"
	case Reported:
		return "reported"
	case TimedOut:
		return "timed_out"
	case Cancelled:
		return "cancelled"
	}
	return "none"
}

// Answer is the app's signed reply to a push.
type Answer struct {
	Nonce, User string
	Verdict     string    // AnswerApprove, AnswerDeny or AnswerReport
	Time        time.Time // when the app signed, whole seconds
	Signature   []byte    // P1363, over Message(Nonce, User, Verdict, Time), or NumberedMessage with Number
	Number      int       // the number the user picked, with number matching; 0 for none
}

// Event reports a settled push to the server, for the audit log and admin
// alerts.
type Event struct {
	User, DeviceID, Nonce string
	Verdict               Verdict
	// Reason qualifies the verdict: "", ReasonWrongNumber, or why it was
	// Cancelled.
	Reason string
	// Suspended reports that this push suspended push approval for User.
	Suspended bool
	Context   Context
}

// Event reasons.
const (
	ReasonWrongNumber = "wrong_number" // approved with a number not shown at login
	ReasonUndelivered = "undelivered"  // the push service did not take it
	ReasonSuspended   = "suspended"    // still pending when push was suspended for the user
	ReasonWithdrawn   = "withdrawn"    // still pending when the user's access was reduced
)

// Invariant: an answer settles a push only when signed by the key the push
// was begun with, over that push's nonce and user, the verdict and a time
// within ClockSkew of the server's; and only once. (TestReplayedAnswer,
// TestAnswerWithAnotherDevicesKey, TestAnswerForAnotherUsersPush,
// TestClockSkew)

// Answer settles a pending push with the app's signed answer and wakes its
// waiter at once. It is refused, leaving the push pending, when no push of
// that nonce is pending for a.User (ErrUnknown), the verdict is not one of
// the three words (ErrBadAnswer), a.Time is more than ClockSkew from now
// (ErrClockSkew) or the signature is not the device's over Message
// (ErrBadSignature). An expired push is settled TimedOut (ErrExpired).
// With number matching an approval naming a wrong number is Denied.
// On error the Verdict is zero.
func (h *Hub) Answer(a Answer) (Verdict, error) {
	if a.Verdict != AnswerApprove && a.Verdict != AnswerDeny && a.Verdict != AnswerReport {
		return 0, ErrBadAnswer
	}
	h.mu.Lock()
	now := h.o.Now()
	e := h.byNonce[a.Nonce]
	if e == nil || e.p.User != a.User {
		h.mu.Unlock()
		return 0, ErrUnknown
	}
	if !now.Before(e.p.Expires) {
		events := h.settleLocked(e, TimedOut, "")
		h.mu.Unlock()
		h.emit(events)
		return 0, ErrExpired
	}
	h.mu.Unlock()

	if d := a.Time.Sub(now); d > h.o.ClockSkew || d < -h.o.ClockSkew {
		return 0, ErrClockSkew
	}
	// The signature is checked without the lock: it is the slow part, and
	// e.pub and e.p never change.
	msg := Message(a.Nonce, a.User, a.Verdict, a.Time)
	if a.Number != 0 {
		msg = NumberedMessage(a.Nonce, a.User, a.Verdict, a.Number, a.Time)
	}
	if !e.signed() {
		return 0, ErrBadSignature // answered through links only
	}
	pub, err := e.key()
	if err != nil || !Verify(pub, msg, a.Signature) {
		return 0, ErrBadSignature
	}
	v, reason := verdictOf(a.Verdict, a.Number, e.p.Context)

	if !h.settle(e, v, reason) { // answered, expired or cancelled meanwhile
		return 0, ErrUnknown
	}
	return v, nil
}

// verdictOf is the verdict of an answer (one of the three words, already
// checked) naming number, to a push of context c: with number matching an
// approval naming another number is Denied, ReasonWrongNumber.
func verdictOf(answer string, number int, c Context) (Verdict, string) {
	switch {
	case answer == AnswerDeny:
		return Denied, ""
	case answer == AnswerReport:
		return Reported, ""
	case c.Number != 0 && number != c.Number:
		return Denied, ReasonWrongNumber
	}
	return Approved, ""
}
