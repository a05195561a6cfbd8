package auth

import "context"

// later is what a Pending decision waits on: a delivered push, and how its
// verdict becomes the final decision (finish, then after when set). A held
// login keeps it until the user answers, so it is one object.
type later struct {
	wait   PushWait
	finish func(ctx context.Context, v PushVerdict) Decision
	after  func(Decision) Decision
}

// decide is the final decision on the verdict v.
func (l *later) decide(ctx context.Context, v PushVerdict) Decision {
	d := l.finish(ctx, v)
	if l.after != nil {
		d = l.after(d)
	}
	return d
}

// Awaiting returns d as a Pending decision that waits on w and is decided
// by finish once w has its verdict. The engine makes one for each login
// that waits on a push; another Decider (a transport's test) may too.
func Awaiting(d Decision, w PushWait, finish func(ctx context.Context, v PushVerdict) Decision) Decision {
	d.Outcome, d.Reason, d.Message, d.State = Pending, "", "", nil
	d.later = &later{wait: w, finish: finish}
	return d
}

// then makes a Pending decision pass its final decision through fn before
// anyone sees it (the attempt's bookkeeping). A decision that is not
// Pending is returned as it is. The Pending decision is changed in place:
// it was made by Awaiting for this decision only and not yet handed on.
func (d Decision) then(fn func(Decision) Decision) Decision {
	if d.later == nil {
		return d
	}
	if prev := d.later.after; prev != nil {
		d.later.after = func(d Decision) Decision { return fn(prev(d)) }
	} else {
		d.later.after = fn
	}
	return d
}

// Await hands the final decision to fn exactly once. For a Pending
// decision it returns at once and fn runs on another goroutine when the
// user answers, the wait times out or ctx is done (a timeout), with no
// goroutine blocked meanwhile; ctx must stay alive until then. Any other
// decision is final: fn is called with it before Await returns.
//
// A Pending decision must be waited on exactly once, by Await or Wait: the
// attempt stays in progress (counting toward the lockout budget) until its
// final decision is made.
func (d Decision) Await(ctx context.Context, fn func(Decision)) {
	if d.later == nil {
		fn(d)
		return
	}
	l := d.later
	l.wait.Then(ctx, func(v PushVerdict) { fn(l.decide(ctx, v)) })
}

// Wait blocks until a Pending decision is final and returns the final
// decision; it returns any other decision as it is. See Await.
func (d Decision) Wait(ctx context.Context) Decision {
	if d.later == nil {
		return d
	}
	return d.later.decide(ctx, d.later.wait.Wait(ctx))
}
