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

func (f *fakePusher) Push(_ context.Context, en store.Enrollment, c PushContext) (PushVerdict, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, en.ID)
	f.ctxs = append(f.ctxs, c)
	return f.verdict, f.err
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
	d := fx.e.Decide(context.Background(), Request{UserName: "alice", Password: "pa,ss", Client: "vpn", Source: nasA,
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
	if d.Outcome == Accept || len(p.sent) != n {
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
		n  int
		ok bool
	}{
		"pw,push": {"pw", 0, true}, "pw,PUSH2": {"pw", 1, true}, "a,b,push3": {"a,b", 2, true},
		"pw,push4": {"pw,push4", 0, false}, "pw": {"pw", 0, false}, "pwpush": {"pwpush", 0, false},
	} {
		pw, n, ok := SplitKeyword(in, ",")
		if pw != want.pw || n != want.n || ok != want.ok {
			t.Errorf("SplitKeyword(%q) = %q %d %v", in, pw, n, ok)
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
