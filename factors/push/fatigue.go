package push

import (
	"slices"
	"time"
)

// userState is the Hub's state for one user: pending pushes and the push-fatigue
// counters. It is dropped once idle (see idle).
type userState struct {
	pending []*entry    // oldest first; at most MaxPerUser
	begun   []time.Time // starts of the pushes within the rate window, oldest first
	// run counts denied or unanswered pushes since the last approval.
	run       int
	suspended bool
}

// Invariant: at most PerWindow pushes begin for a user in any span of
// Window (a sliding window: each push counts until Window after it began).
// Refused Begins do not count. (TestInvariantRateSlidingWindow)

// mayBegin forgets the starts that left the window and reports whether
// one more push fits in it.
func (u *userState) mayBegin(now time.Time, window time.Duration, perWindow int) bool {
	cut := 0
	for cut < len(u.begun) && !now.Before(u.begun[cut].Add(window)) {
		cut++
	}
	u.begun = slices.Delete(u.begun, 0, cut)
	return len(u.begun) < perWindow
}

func (u *userState) remove(e *entry) {
	if i := slices.Index(u.pending, e); i >= 0 {
		u.pending = slices.Delete(u.pending, i, i+1)
	}
}

// Invariant: once push is suspended for a user, none of their pushes can be
// approved until Resume: Begin refuses, and those still pending are settled
// Denied at once. (TestInvariantSuspensionCancelsPending)

// count applies the fatigue rules to one settled push and reports whether
// it suspended push for the user: an approval ends the run; a denial or a
// push left unanswered lengthens it, and a run of suspendAfter suspends; a
// report suspends at once.
func (u *userState) count(v Verdict, suspendAfter int) (suspended bool) {
	if u.suspended {
		return false
	}
	switch v {
	case Approved:
		u.run = 0
	case Denied, TimedOut:
		u.run++
		u.suspended = u.run >= suspendAfter
	case Reported:
		u.run++
		u.suspended = true
	}
	return u.suspended
}

// idle reports whether u holds nothing worth keeping at now.
func (u *userState) idle(now time.Time, window time.Duration) bool {
	return len(u.pending) == 0 && !u.suspended && u.run == 0 &&
		(len(u.begun) == 0 || !now.Before(u.begun[len(u.begun)-1].Add(window)))
}

// pruneUsersLocked drops idle users, at most once per Window, so the map
// does not keep every user who ever had a push.
func (h *Hub) pruneUsersLocked(now time.Time) {
	if now.Before(h.pruneAt) {
		return
	}
	h.pruneAt = now.Add(h.o.Window)
	for name, u := range h.users {
		if u.idle(now, h.o.Window) {
			delete(h.users, name)
		}
	}
}

// Suspended reports whether push approval is suspended for user.
func (h *Hub) Suspended(user string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.users[user]
	return u != nil && u.suspended
}

// Resume lifts a suspension of push approval for user (an admin's action)
// and starts their run of denied or unanswered pushes afresh. The rate
// window is kept.
func (h *Hub) Resume(user string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if u := h.users[user]; u != nil {
		u.suspended = false
		u.run = 0
	}
}
