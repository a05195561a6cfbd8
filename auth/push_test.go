package auth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"radiusmfa/store"
)

// fakePusher answers with a scripted verdict and records the pushes.
type fakePusher struct {
	mu      sync.Mutex
	verdict PushVerdict
	err     error
	sent    []string // device ids
	ctxs    []PushContext
}

func (f *fakePusher) Push(_ context.Context, en store.Enrollment, c PushContext) (PushWait, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, en.ID)
	f.ctxs = append(f.ctxs, c)
	if f.err != nil {
		return nil, f.err
	}
	return verdictWait{f.verdict}, nil
}

// verdictWait is a delivered push already answered with v.
type verdictWait struct{ v PushVerdict }

func (w verdictWait) Wait(context.Context) PushVerdict { return w.v }
func (w verdictWait) Then(_ context.Context, fn func(PushVerdict)) {
	go fn(w.v)
}

// final is the decision a transport ends with: for a Pending decision, the
// one its Await delivers.
func final(d Decision) Decision {
	got := make(chan Decision, 1)
	d.Await(context.Background(), func(f Decision) { got <- f })
	return <-got
}

func pushFixture(t *testing.T, m ChallengeMode, v PushVerdict) (*fixture, *fakePusher) {
	t.Helper()
	fx := challengeFixture(t, m)
	fx.store.enrolled["alice"] = append(fx.store.enrolled["alice"],
		store.Enrollment{ID: "p1", User: "alice", Kind: KindPush, Label: "Pixel 7"},
		store.Enrollment{ID: "p2", User: "alice", Kind: KindPush, Label: "iPad"})
	p := &fakePusher{verdict: v}
	fx.e.SetPusher(p)
	return fx, p
}

func TestPushAutoApproved(t *testing.T) {
	fx, p := pushFixture(t, ChallengeAuto, PushApproved)
	d := fx.request(Request{UserName: "alice", Password: "pa,ss", Client: "vpn", Source: nasA,
		NASIdentifier: "gw1", CallingStationID: "203.0.113.7"})
	if d.Outcome != Accept || d.Factor != KindPush || len(d.Attributes) != 1 {
		t.Fatalf("auto with an approver: %v/%s factor %q", d.Outcome, d.Reason, d.Factor)
	}
	if len(p.sent) != 1 || p.sent[0] != "p1" {
		t.Fatalf("pushes %v, want one to p1", p.sent)
	}
	if c := p.ctxs[0]; c.User != "alice" || c.Client != "vpn" || c.NASIdentifier != "gw1" || c.CallingStationID != "203.0.113.7" {
		t.Errorf("push context %+v", c)
	}
}

func TestPushVerdicts(t *testing.T) {
	for _, c := range []struct {
		v       PushVerdict
		reason  Reason
		counted bool
	}{
		{PushDenied, ReasonPushDenied, true},
		{PushReported, ReasonPushReported, true},
		{PushTimedOut, ReasonPushTimedOut, false},
		{PushCancelled, ReasonPushUnavailable, false},
	} {
		fx, _ := pushFixture(t, ChallengeAuto, c.v)
		d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
		if d.Outcome != Reject || d.Reason != c.reason {
			t.Errorf("verdict %d: %v/%s", c.v, d.Outcome, d.Reason)
		}
		if got := fx.store.locks["alice"].Failures > 0; got != c.counted {
			t.Errorf("verdict %d counted %v, want %v", c.v, got, c.counted)
		}
	}
	fx, p := pushFixture(t, ChallengeAuto, PushApproved)
	p.err = fmt.Errorf("suspended: %w", ErrPushUnavailable)
	if d := fx.ask("alice", "pa,ss", nil, "vpn", nasA); d.Reason != ReasonPushUnavailable || d.Message != MsgPushUnavailable {
		t.Errorf("unavailable: %s %q", d.Reason, d.Message)
	}
}

func TestPushKeywords(t *testing.T) {
	fx, p := pushFixture(t, ChallengeAppendOnly, PushApproved)
	if d := fx.ask("alice", "pa,ss,push2", nil, "vpn", nasA); d.Outcome != Accept || p.sent[len(p.sent)-1] != "p2" {
		t.Fatalf("push2: %v/%s sent %v", d.Outcome, d.Reason, p.sent)
	}
	if d := fx.ask("alice", "pa,ss,push", nil, "vpn", nasA); d.Outcome != Accept || p.sent[len(p.sent)-1] != "p1" {
		t.Fatalf("push: %v/%s sent %v", d.Outcome, d.Reason, p.sent)
	}
	if d := fx.ask("alice", "pa,ss,push3", nil, "vpn", nasA); d.Reason != ReasonNoPushDevice {
		t.Fatalf("push3 with two approvers: %s", d.Reason)
	}
	// A wrong password with a keyword pushes nothing.
	n := len(p.sent)
	if d := fx.ask("alice", "wrong,push", nil, "vpn", nasA); d.Reason != ReasonBadCredentials || len(p.sent) != n {
		t.Fatalf("wrong password: %s, pushes %d → %d", d.Reason, n, len(p.sent))
	}
	// The site never pushes: its form has a code field.
	d := fx.e.Decide(context.Background(), Request{UserName: "alice", Password: "pa,ss,push", Client: "web", Interactive: true})
	if d.Outcome == Accept || d.Outcome == Pending || len(p.sent) != n {
		t.Fatalf("the site pushed: %v", d.Outcome)
	}
}

func TestPushPreferredDevice(t *testing.T) {
	fx, p := pushFixture(t, ChallengeAuto, PushApproved)
	fx.store.enrolled["alice"][2].Preferred = true // the iPad
	fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	if p.sent[0] != "p2" {
		t.Errorf("pushed to %s, want the preferred p2", p.sent[0])
	}
	// A preferred authenticator app: auto asks for the code instead.
	fx.store.enrolled["alice"][2].Preferred = false
	fx.store.enrolled["alice"][0].Preferred = true
	if d := fx.ask("alice", "pa,ss", nil, "vpn", nasA); d.Outcome != Challenge || len(p.sent) != 1 {
		t.Errorf("preferred app: %v, pushes %d", d.Outcome, len(p.sent))
	}
}

func TestPushFromMenu(t *testing.T) {
	fx, p := pushFixture(t, ChallengeMenu, PushApproved)
	d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	if d.Outcome != Challenge || !strings.Contains(d.Message, "1. Push to Pixel 7. 2. Push to iPad. 3. Passcode") {
		t.Fatalf("menu %q", d.Message)
	}
	if ok := fx.ask("alice", "2", d.State, "vpn", nasA); ok.Outcome != Accept || ok.Factor != KindPush || p.sent[0] != "p2" {
		t.Fatalf("choice 2: %v/%s sent %v", ok.Outcome, ok.Reason, p.sent)
	}
	d = fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	next := fx.ask("alice", "3", d.State, "vpn", nasA)
	if next.Outcome != Challenge || next.Message != MsgEnterCode {
		t.Fatalf("choice 3: %v %q", next.Outcome, next.Message)
	}
}

func TestSplitKeyword(t *testing.T) {
	for in, want := range map[string]struct {
		pw string
		kw Keyword
		ok bool
	}{
		"pw,push": {"pw", Keyword{KindPush, 0}, true}, "pw,PUSH2": {"pw", Keyword{KindPush, 1}, true},
		"a,b,push3": {"a,b", Keyword{KindPush, 2}, true}, "pw,sms": {"pw", Keyword{KindSMS, 0}, true},
		"pw,sms2": {"pw", Keyword{KindSMS, 1}, true}, "pw,Phone": {"pw", Keyword{KindVoice, 0}, true},
		"pw,phone2": {"pw", Keyword{KindVoice, 1}, true}, "pw,email": {"pw", Keyword{KindEmail, 0}, true},
		"pw,email3": {"pw", Keyword{KindEmail, 2}, true},
		"pw,push4":  {"pw,push4", Keyword{}, false}, "pw": {"pw", Keyword{}, false}, "pwpush": {"pwpush", Keyword{}, false},
		"pw,2": {"pw,2", Keyword{}, false}, "pw,sms1": {"pw,sms1", Keyword{}, false}, "pw,voice": {"pw,voice", Keyword{}, false},
	} {
		pw, kw, ok := SplitKeyword(in, ",")
		if pw != want.pw || kw != want.kw || ok != want.ok {
			t.Errorf("SplitKeyword(%q) = %q %+v %v", in, pw, kw, ok)
		}
	}
}

// numberPusher is a fakePusher that also sends numbered pushes; the verdict
// comes when the answer waits.
type numberPusher struct {
	fakePusher
	numbered int
	waited   chan struct{}
}

type fakeWait struct {
	p *numberPusher
}

func (w fakeWait) Wait(context.Context) PushVerdict {
	close(w.p.waited)
	return w.p.verdict
}

func (w fakeWait) Then(_ context.Context, fn func(PushVerdict)) {
	close(w.p.waited)
	go fn(w.p.verdict)
}

func (n *numberPusher) PushNumbered(_ context.Context, en store.Enrollment, c PushContext) (PushWait, int, error) {
	n.numbered++
	n.sent = append(n.sent, en.ID)
	return fakeWait{n}, 42, nil
}

func TestPushNumberMatching(t *testing.T) {
	for _, c := range []struct {
		v    PushVerdict
		want Outcome
	}{{PushApproved, Accept}, {PushDenied, Reject}} {
		fx, _ := pushFixture(t, ChallengeMenu, c.v)
		np := &numberPusher{fakePusher: fakePusher{verdict: c.v}, waited: make(chan struct{})}
		fx.e.SetPusher(np)
		fx.e.policy.ClientNumberMatch = map[string]bool{"vpn": true}
		d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
		shown := fx.ask("alice", "1", d.State, "vpn", nasA)
		if shown.Outcome != Challenge || !strings.Contains(shown.Message, "Your number is 42") || np.numbered != 1 {
			t.Fatalf("after choosing push: %v %q (numbered %d)", shown.Outcome, shown.Message, np.numbered)
		}
		final := fx.ask("alice", "", shown.State, "vpn", nasA)
		if final.Outcome != c.want {
			t.Fatalf("verdict %d: %v/%s", c.v, final.Outcome, final.Reason)
		}
		select {
		case <-np.waited:
		default:
			t.Fatal("the answer did not wait on the push")
		}
		if c.want == Accept && (final.Factor != KindPush || len(final.Attributes) != 1) {
			t.Errorf("accept: factor %q attrs %v", final.Factor, final.Attributes)
		}
	}
}

// heldPusher delivers pushes whose verdict comes later, on answer.
type heldPusher struct{ answer chan PushVerdict }

func (h heldPusher) Push(context.Context, store.Enrollment, PushContext) (PushWait, error) {
	return heldWait(h), nil
}

type heldWait heldPusher

func (w heldWait) Wait(context.Context) PushVerdict { return <-w.answer }
func (w heldWait) Then(_ context.Context, fn func(PushVerdict)) {
	go func() { fn(<-w.answer) }()
}

func (a *attempts) inProgress(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n[name]
}

// A push login returns Pending at once and stays an attempt in progress
// (counted against the lockout budget) until the user answers; the final
// decision carries the policy's attributes.
func TestPushPendingUntilAnswered(t *testing.T) {
	for _, c := range []struct {
		v    PushVerdict
		want Outcome
	}{{PushApproved, Accept}, {PushDenied, Reject}, {PushTimedOut, Reject}} {
		fx, _ := pushFixture(t, ChallengeAuto, PushApproved)
		hp := heldPusher{answer: make(chan PushVerdict)}
		fx.e.SetPusher(hp)
		d := fx.e.Decide(context.Background(), Request{UserName: "alice", Password: "pa,ss", Client: "vpn", Source: nasA})
		if d.Outcome != Pending || d.Message != "" || d.State != nil {
			t.Fatalf("push login: %v/%s %q, want Pending with no message", d.Outcome, d.Reason, d.Message)
		}
		if n := fx.e.active.inProgress("alice"); n != 1 {
			t.Fatalf("attempts in progress while the push waits: %d, want 1", n)
		}
		got := make(chan Decision, 1)
		d.Await(context.Background(), func(f Decision) { got <- f })
		select {
		case f := <-got:
			t.Fatalf("decided before the answer: %v", f.Outcome)
		default:
		}
		hp.answer <- c.v
		f := <-got
		if f.Outcome != c.want {
			t.Fatalf("verdict %d: %v/%s, want %v", c.v, f.Outcome, f.Reason, c.want)
		}
		if c.want == Accept && (f.Factor != KindPush || len(f.Attributes) != 1) {
			t.Errorf("accept: factor %q attributes %v", f.Factor, f.Attributes)
		}
		if n := fx.e.active.inProgress("alice"); n != 0 {
			t.Fatalf("attempts in progress after the answer: %d, want 0", n)
		}
	}
}

// Wait gives the same final decision as Await, blocking.
func TestPushPendingWait(t *testing.T) {
	fx, _ := pushFixture(t, ChallengeAuto, PushApproved)
	hp := heldPusher{answer: make(chan PushVerdict, 1)}
	fx.e.SetPusher(hp)
	d := fx.e.Decide(context.Background(), Request{UserName: "alice", Password: "pa,ss", Client: "vpn", Source: nasA})
	hp.answer <- PushApproved
	if f := d.Wait(context.Background()); f.Outcome != Accept || fx.e.active.inProgress("alice") != 0 {
		t.Fatalf("Wait: %v/%s, in progress %d", f.Outcome, f.Reason, fx.e.active.inProgress("alice"))
	}
	// A decision that is not Pending is its own final decision.
	r := Decision{Outcome: Reject, Reason: ReasonBadCredentials}
	if f := r.Wait(context.Background()); f.Outcome != Reject || f.Reason != ReasonBadCredentials {
		t.Fatalf("Wait of a Reject: %v/%s", f.Outcome, f.Reason)
	}
	called := false
	r.Await(context.Background(), func(f Decision) { called = f.Reason == ReasonBadCredentials })
	if !called {
		t.Fatal("Await of a final decision did not call back before returning")
	}
}
