package push

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMaxPerUser(t *testing.T) {
	r := newRig(t, Options{MaxPerUser: 2})
	p := r.begin("alice")
	r.begin("alice")
	if _, err := r.h.Begin("alice", "d", &r.key.PublicKey, Context{}, time.Minute); !errors.Is(err, ErrTooMany) {
		t.Fatalf("third pending push: %v", err)
	}
	r.begin("bob") // others are not affected
	if _, err := r.answer(p, AnswerApprove); err != nil {
		t.Fatal(err)
	}
	r.begin("alice") // a settled push frees its place
}

func TestMax(t *testing.T) {
	r := newRig(t, Options{Max: 3})
	for i := range 3 {
		r.begin(fmt.Sprint("user", i))
	}
	if _, err := r.h.Begin("dave", "d", &r.key.PublicKey, Context{}, time.Minute); !errors.Is(err, ErrTooMany) {
		t.Fatalf("fourth pending push: %v", err)
	}
	r.clk.Advance(time.Minute) // all three expire and free their places
	r.begin("dave")
	if n := r.h.Len(); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
}

// TestInvariantRateSlidingWindow checks the per-user rate as a sliding
// window, and that refusals do not count.
func TestInvariantRateSlidingWindow(t *testing.T) {
	r := newRig(t, Options{PerWindow: 3, Window: 10 * time.Minute, MaxPerUser: 10})
	begin := r.begin
	approved := func(user string) {
		t.Helper()
		if _, err := r.answer(begin(user), AnswerApprove); err != nil {
			t.Fatal(err)
		}
	}
	refused := func() {
		t.Helper()
		if _, err := r.h.Begin("alice", "d", &r.key.PublicKey, Context{}, time.Minute); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("Begin at %v: %v, want ErrRateLimited", r.clk.Now().Sub(t0), err)
		}
	}
	approved("alice") // 0:00
	r.clk.Advance(4 * time.Minute)
	approved("alice") // 4:00
	approved("alice") // 4:00
	refused()
	approved("bob")
	r.clk.Advance(6*time.Minute - time.Second)
	refused() // 9:59: all three within the last 10 minutes
	r.clk.Advance(time.Second)
	approved("alice") // 10:00: the first left the window
	refused()
	r.clk.Advance(4*time.Minute - time.Second)
	refused() // 13:59; refusals above did not count, or this would be later still
	r.clk.Advance(time.Second)
	approved("alice") // 14:00
	approved("alice")
	refused()
}

func TestSuspendAfterRun(t *testing.T) {
	r := newRig(t, Options{SuspendAfter: 3, MaxPerUser: 5, PerWindow: 20})
	deny := func() {
		t.Helper()
		if v, err := r.answer(r.begin("alice"), AnswerDeny); v != Denied || err != nil {
			t.Fatalf("deny: %v, %v", v, err)
		}
	}
	deny()
	deny()
	if v, err := r.answer(r.begin("alice"), AnswerApprove); v != Approved || err != nil {
		t.Fatalf("approve: %v, %v", v, err)
	}
	deny() // the approval ended the run: this is one in a row
	deny()
	if r.h.Suspended("alice") {
		t.Fatal("suspended after two denials in a row")
	}
	// An unanswered push counts like a denial, waited on or not.
	r.begin("alice")
	r.clk.Advance(time.Minute)
	r.h.Len()
	if !r.h.Suspended("alice") {
		t.Fatal("not suspended after three denied or unanswered in a row")
	}
	if _, err := r.h.Begin("alice", "d", &r.key.PublicKey, Context{}, time.Minute); !errors.Is(err, ErrSuspended) {
		t.Errorf("Begin while suspended: %v", err)
	}
	ev := r.logged()
	last := ev[len(ev)-1]
	if last.Verdict != TimedOut || !last.Suspended {
		t.Errorf("last event %+v", last)
	}
	for _, e := range ev[:len(ev)-1] {
		if e.Suspended {
			t.Errorf("event %+v says suspended", e)
		}
	}
	if r.h.Suspended("bob") {
		t.Error("bob suspended")
	}

	r.h.Resume("alice")
	if r.h.Suspended("alice") {
		t.Fatal("still suspended after Resume")
	}
	// Resume starts the run afresh: two more denials do not suspend.
	deny()
	deny()
	if r.h.Suspended("alice") {
		t.Error("Resume did not reset the run")
	}
	deny()
	if !r.h.Suspended("alice") {
		t.Error("not suspended again after three more")
	}
	r.h.Resume("nobody") // no-op
}

// TestInvariantSuspensionCancelsPending: a push still pending when push is
// suspended cannot be approved afterwards.
func TestInvariantSuspensionCancelsPending(t *testing.T) {
	r := newRig(t, Options{SuspendAfter: 2})
	a := r.begin("alice")
	b := r.begin("alice")
	c := r.begin("alice")
	if _, err := r.answer(a, AnswerDeny); err != nil {
		t.Fatal(err)
	}
	gaveUp, cancel := context.WithCancel(context.Background())
	cancel()
	if v := r.h.Wait(gaveUp, b); v != TimedOut { // the login gave up on it
		t.Fatalf("Wait = %v", v)
	}
	if !r.h.Suspended("alice") {
		t.Fatal("not suspended")
	}
	if v, err := r.answer(c, AnswerApprove); err == nil || v == Approved {
		t.Errorf("approval after suspension: %v, %v", v, err)
	}
	if v := r.h.Wait(context.Background(), c); v != Cancelled {
		t.Errorf("cancelled push ended %v", v)
	}
	if n := r.h.Len(); n != 0 {
		t.Errorf("Len = %d", n)
	}
}

// TestInvariantSettledOnce races answers, waiters giving up and expiry on
// the same pushes: each push is settled once, every waiter of it sees the
// same verdict and at most one answer is accepted.
func TestInvariantSettledOnce(t *testing.T) {
	var settled atomic.Int64
	r := newRig(t, Options{Now: time.Now, Max: 1000, MaxPerUser: 1000, PerWindow: 1000, SuspendAfter: 1000})
	r.h.o.OnEvent = func(Event) { settled.Add(1) }
	const pushes = 50
	var wg sync.WaitGroup
	for i := range pushes {
		p, err := r.h.Begin("alice", "d", &r.key.PublicKey, Context{}, time.Duration(i%5+1)*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		a := answer(t, r.key, *p, []string{AnswerApprove, AnswerDeny}[i%2], time.Now())
		var verdicts [4]Verdict
		var accepted atomic.Int64
		for w := range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(w)*time.Millisecond)
			wg.Go(func() { defer cancel(); verdicts[w] = r.h.Wait(ctx, p) })
		}
		for range 3 {
			wg.Go(func() {
				if v, err := r.h.Answer(a); err == nil {
					accepted.Add(1)
					verdicts[3] = v
				}
			})
		}
		wg.Wait()
		if accepted.Load() > 1 {
			t.Errorf("push %d: %d answers accepted", i, accepted.Load())
		}
		for _, v := range verdicts[:3] {
			if v != verdicts[0] || v == 0 {
				t.Errorf("push %d: waiters saw %v", i, verdicts)
			}
		}
		if accepted.Load() == 1 && verdicts[3] != verdicts[0] {
			t.Errorf("push %d: answer %v, waiters %v", i, verdicts[3], verdicts[0])
		}
	}
	if n := settled.Load(); n != pushes {
		t.Errorf("%d pushes settled %d times", pushes, n)
	}
}

// TestConcurrentUsers: 100 users, each logging in five times, answered by
// their own apps in parallel.
func TestConcurrentUsers(t *testing.T) {
	h := NewHub(Options{})
	var wg sync.WaitGroup
	for u := range 100 {
		wg.Go(func() {
			user := fmt.Sprint("user", u)
			key := newKey(t)
			for i := range 5 {
				p, err := h.Begin(user, "d", &key.PublicKey, Context{Client: "vpn"}, 10*time.Second)
				if err != nil {
					t.Errorf("%s: Begin: %v", user, err)
					return
				}
				want, word := Approved, AnswerApprove
				if i%2 == 1 {
					want, word = Denied, AnswerDeny
				}
				waited := make(chan Verdict, 1)
				go func() { waited <- h.Wait(context.Background(), p) }()
				// The app looks up what to show, then answers.
				shown := h.PendingFor(user)
				if len(shown) != 1 || shown[0].Nonce != p.Nonce {
					t.Errorf("%s: PendingFor = %+v", user, shown)
				}
				if v, err := h.Answer(answer(t, key, shown[0], word, time.Now())); v != want || err != nil {
					t.Errorf("%s: Answer = %v, %v", user, v, err)
				}
				if v := <-waited; v != want {
					t.Errorf("%s: Wait = %v, want %v", user, v, want)
				}
			}
			if h.Suspended(user) {
				t.Errorf("%s suspended", user)
			}
		})
	}
	wg.Wait()
	if n := h.Len(); n != 0 {
		t.Errorf("Len = %d", n)
	}
}

func TestIdleUsersForgotten(t *testing.T) {
	r := newRig(t, Options{Window: 10 * time.Minute})
	for i := range 50 {
		p := r.begin(fmt.Sprint("user", i))
		if _, err := r.answer(p, AnswerApprove); err != nil {
			t.Fatal(err)
		}
	}
	p := r.begin("denier")
	if _, err := r.answer(p, AnswerDeny); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(10 * time.Minute)
	r.begin("newcomer")
	r.h.mu.Lock()
	n := len(r.h.users)
	r.h.mu.Unlock()
	if n != 2 { // the newcomer, and the denier whose run is kept
		t.Errorf("%d users kept, want 2", n)
	}
}

// TestInvariantWithdrawnCannotBeApproved: Withdraw ends a user's pending
// pushes at once, none of them can be approved afterwards, other users'
// pushes stay, and a withdrawal counts toward no suspension.
func TestInvariantWithdrawnCannotBeApproved(t *testing.T) {
	r := newRig(t, Options{SuspendAfter: 1})
	a, b := r.begin("alice"), r.begin("alice")
	other := r.begin("bob")
	waited := make(chan Verdict, 1)
	go func() { waited <- r.h.Wait(context.Background(), a) }()

	if n := r.h.Withdraw("alice"); n != 2 {
		t.Fatalf("Withdraw = %d, want 2", n)
	}
	if v := <-waited; v != Cancelled {
		t.Errorf("waiting login got %v, want cancelled", v)
	}
	if v, err := r.answer(b, AnswerApprove); err == nil || v == Approved {
		t.Errorf("approval after withdrawal: %v, %v", v, err)
	}
	if r.h.Suspended("alice") {
		t.Error("a withdrawal suspended push")
	}
	if _, ok := r.h.Get(other.Nonce, "bob"); !ok {
		t.Error("bob's push went too")
	}
	for _, ev := range r.logged() {
		if ev.User == "alice" && (ev.Verdict != Cancelled || ev.Reason != ReasonWithdrawn || ev.Suspended) {
			t.Errorf("event %+v", ev)
		}
	}
	if n := r.h.Withdraw("nobody"); n != 0 {
		t.Errorf("Withdraw(nobody) = %d", n)
	}
}
