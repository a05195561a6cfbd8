package push

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// thenAsync registers a Then callback and returns where its verdicts
// arrive (buffered for two, so a second call would show).
func (r *rig) thenAsync(ctx context.Context, p *Pending) <-chan Verdict {
	ch := make(chan Verdict, 2)
	r.h.Then(ctx, p, func(v Verdict) { ch <- v })
	return ch
}

func verdictWithin(t *testing.T, ch <-chan Verdict) Verdict {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("Then never called back")
		return 0
	}
}

// Then calls back once with the answer, the expiry, the caller giving up,
// or a withdrawal, like Wait returns; a push settled before Then gets its
// verdict at once.
func TestThen(t *testing.T) {
	t.Run("answer", func(t *testing.T) {
		r := newRig(t, Options{})
		p := r.begin("alice")
		got := r.thenAsync(context.Background(), p)
		if v, err := r.answer(p, AnswerDeny); v != Denied || err != nil {
			t.Fatalf("Answer = %v, %v", v, err)
		}
		if v := verdictWithin(t, got); v != Denied {
			t.Fatalf("Then got %v, want denied", v)
		}
	})
	t.Run("expiry, with no other call into the Hub", func(t *testing.T) {
		r := newRig(t, Options{Now: time.Now})
		p, err := r.h.Begin("alice", "d1", &r.key.PublicKey, Context{}, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if v := verdictWithin(t, r.thenAsync(context.Background(), p)); v != TimedOut {
			t.Fatalf("Then got %v, want timed out", v)
		}
		if _, err := r.h.Answer(answer(t, r.key, *p, AnswerApprove, time.Now())); !errors.Is(err, ErrUnknown) {
			t.Errorf("answer after the expiry: %v", err)
		}
		if ev := r.logged(); len(ev) != 1 || ev[0].Verdict != TimedOut {
			t.Errorf("events %+v", ev)
		}
	})
	t.Run("context done", func(t *testing.T) {
		r := newRig(t, Options{Now: time.Now})
		p, err := r.h.Begin("alice", "d1", &r.key.PublicKey, Context{}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		got := r.thenAsync(ctx, p)
		cancel()
		if v := verdictWithin(t, got); v != TimedOut {
			t.Fatalf("Then got %v, want timed out", v)
		}
		if r.h.Len() != 0 {
			t.Errorf("Len = %d after the caller gave up", r.h.Len())
		}
	})
	t.Run("withdrawn", func(t *testing.T) {
		r := newRig(t, Options{})
		got := r.thenAsync(context.Background(), r.begin("alice"))
		if n := r.h.Withdraw("alice"); n != 1 {
			t.Fatalf("Withdraw = %d", n)
		}
		if v := verdictWithin(t, got); v != Cancelled {
			t.Fatalf("Then got %v, want cancelled", v)
		}
	})
	t.Run("settled before", func(t *testing.T) {
		r := newRig(t, Options{})
		p := r.begin("alice")
		if _, err := r.answer(p, AnswerApprove); err != nil {
			t.Fatal(err)
		}
		if v := verdictWithin(t, r.thenAsync(context.Background(), p)); v != Approved {
			t.Fatalf("Then after the answer got %v", v)
		}
	})
	t.Run("unknown push", func(t *testing.T) {
		r := newRig(t, Options{})
		if v := verdictWithin(t, r.thenAsync(context.Background(), &Pending{Nonce: "nope", User: "alice"})); v != TimedOut {
			t.Fatalf("Then on a push never begun got %v, want timed out", v)
		}
	})
	t.Run("once, with Wait beside it", func(t *testing.T) {
		r := newRig(t, Options{})
		p := r.begin("alice")
		got := r.thenAsync(context.Background(), p)
		waited := r.waitAsync(context.Background(), p)
		if _, err := r.answer(p, AnswerApprove); err != nil {
			t.Fatal(err)
		}
		if a, b := verdictWithin(t, got), verdictWithin(t, waited); a != Approved || b != Approved {
			t.Fatalf("Then %v, Wait %v", a, b)
		}
		select {
		case v := <-got:
			t.Fatalf("Then called back twice (%v)", v)
		case <-time.After(50 * time.Millisecond):
		}
	})
}

// The Hub's one timer settles every push whose time is up, including a
// push nobody waits for, and is armed again for the next one when the push
// it was armed for was settled early or a sooner one begins.
func TestHubTimerExpiresAbandonedPushes(t *testing.T) {
	r := newRig(t, Options{Now: time.Now, MaxPerUser: 5, PerWindow: 5})
	begin := func(ttl time.Duration) *Pending {
		t.Helper()
		p, err := r.h.Begin("alice", "d1", &r.key.PublicKey, Context{}, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := begin(100 * time.Millisecond) // settled early: the timer then fires for nothing
	late := begin(300 * time.Millisecond)
	soon := begin(30 * time.Millisecond) // sooner than the armed expiry
	if _, err := r.h.Answer(answer(t, r.key, *first, AnswerApprove, time.Now())); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(r.logged()) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	ev := r.logged()
	if len(ev) != 3 || ev[0].Nonce != first.Nonce || ev[0].Verdict != Approved ||
		ev[1].Nonce != soon.Nonce || ev[1].Verdict != TimedOut || ev[2].Nonce != late.Nonce || ev[2].Verdict != TimedOut {
		t.Fatalf("events %+v", ev)
	}
	r.h.mu.Lock()
	n := len(r.h.byNonce)
	r.h.mu.Unlock()
	if n != 0 {
		t.Errorf("%d pushes left in the Hub", n)
	}
}

// Logins waiting with Then cost no goroutine until they are settled.
func TestThenHoldsNoGoroutine(t *testing.T) {
	const n = 1000
	r := newRig(t, Options{Now: time.Now, MaxPerUser: n, PerWindow: n})
	before := runtime.NumGoroutine()
	got := make(chan Verdict, n)
	for range n {
		p, err := r.h.Begin("alice", "d1", &r.key.PublicKey, Context{}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		r.h.Then(context.Background(), p, func(v Verdict) { got <- v })
	}
	if after := runtime.NumGoroutine(); after-before > 10 {
		t.Fatalf("%d logins waiting with Then added %d goroutines", n, after-before)
	}
	r.h.Withdraw("alice")
	for range n {
		if v := verdictWithin(t, got); v != Cancelled {
			t.Fatalf("verdict %v, want cancelled", v)
		}
	}
}

// TestThenOneWatchPerContext: the pushes waited on under one context share
// one registration with it, which ends when the last of them is settled;
// when the context is done, exactly the pushes waited on under it are
// settled as unanswered; a push waited on under two contexts leaves both
// watches when it is settled; a context done already settles at once.
func TestThenOneWatchPerContext(t *testing.T) {
	r := newRig(t, Options{Now: time.Now, MaxPerUser: 3, PerWindow: 10})
	watches := func() (n, entries int) {
		r.h.mu.Lock()
		defer r.h.mu.Unlock()
		for _, w := range r.h.watches {
			entries += len(w.entries)
		}
		return len(r.h.watches), entries
	}
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	other, cancelOther := context.WithCancel(context.Background())
	defer cancelOther()
	users := []string{"u1", "u2", "u3", "u4", "u5", "u6"}
	ps := map[string]*Pending{}
	got := map[string]<-chan Verdict{}
	for _, u := range users {
		ps[u] = r.begin(u)
		got[u] = r.thenAsync(base, ps[u])
	}
	// A second context's registration, and a push under both.
	got["u6-other"] = r.thenAsync(other, ps["u6"])
	outside := r.begin("outside")
	gotOutside := r.thenAsync(other, outside)
	if n, e := watches(); n != 2 || e != 6+2 {
		t.Fatalf("%d watches holding %d pushes, want 2 holding 8 (one per context)", n, e)
	}
	if v, err := r.h.Answer(answer(t, r.key, *ps["u1"], AnswerApprove, time.Now())); v != Approved || err != nil {
		t.Fatalf("answer u1: %v %v", v, err)
	}
	if v := verdictWithin(t, got["u1"]); v != Approved {
		t.Fatalf("u1 got %v", v)
	}
	if n, e := watches(); n != 2 || e != 7 {
		t.Fatalf("after one answer: %d watches holding %d pushes, want 2 holding 7", n, e)
	}
	cancelBase()
	for _, u := range users[1:] {
		if v := verdictWithin(t, got[u]); v != TimedOut {
			t.Errorf("%s under the done context got %v, want timed out", u, v)
		}
	}
	if v := verdictWithin(t, got["u6-other"]); v != TimedOut {
		t.Errorf("u6's second waiter got %v, want timed out (one verdict for all)", v)
	}
	if _, ok := r.h.Get(outside.Nonce, "outside"); !ok {
		t.Fatal("a push waited on under another context was settled")
	}
	if n, e := watches(); n != 1 || e != 1 {
		t.Fatalf("after the context ended: %d watches holding %d pushes, want the other context's, holding 1", n, e)
	}
	if v, err := r.h.Answer(answer(t, r.key, *outside, AnswerDeny, time.Now())); v != Denied || err != nil {
		t.Fatalf("answer outside: %v %v", v, err)
	}
	if v := verdictWithin(t, gotOutside); v != Denied {
		t.Errorf("outside got %v", v)
	}
	if n, _ := watches(); n != 0 {
		t.Errorf("%d watches left with nothing pending", n)
	}

	done, cancel := context.WithCancel(context.Background())
	cancel()
	if v := verdictWithin(t, r.thenAsync(done, r.begin("late"))); v != TimedOut {
		t.Errorf("Then under a context done already: %v, want timed out", v)
	}
	if n, _ := watches(); n != 0 {
		t.Errorf("%d watches left after a done context", n)
	}
}
