package auth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"radiusmfa/factors"
	"radiusmfa/store"
)

// fakeSender "sends" codes 100001, 100002… and remembers the last one
// per device, which its factors then accept once until it expires.
type fakeSender struct {
	mu    sync.Mutex
	now   func() time.Time
	n     int
	last  map[string]string // device ID → code
	until map[string]time.Time
	sent  []string // device IDs, in order
	err   error    // returned instead of sending
}

func (s *fakeSender) SendCode(_ context.Context, en store.Enrollment) (SentCode, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return SentCode{}, s.err
	}
	s.n++
	s.last[en.ID] = fmt.Sprintf("1%05d", s.n)
	s.until[en.ID] = s.now().Add(10 * time.Minute)
	s.sent = append(s.sent, en.ID)
	return SentCode{To: "to " + en.Label, Expires: s.until[en.ID]}, nil
}

func (s *fakeSender) Describe(en store.Enrollment) string { return "Code to " + en.Label }

func (s *fakeSender) code(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[id]
}

// sentFactor checks the codes of one kind against the fakeSender.
type sentFactor struct {
	kind string
	s    *fakeSender
}

func (f sentFactor) Kind() string { return f.kind }
func (f sentFactor) Verify(_ context.Context, e store.Enrollment, code string) error {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	switch {
	case e.Kind != f.kind || f.s.last[e.ID] == "" || f.s.last[e.ID] != code:
		return factors.ErrInvalidCode
	case !f.s.now().Before(f.s.until[e.ID]):
		return fmt.Errorf("expired: %w %w", factors.ErrExpired, factors.ErrInvalidCode)
	}
	delete(f.s.last, e.ID)
	return nil
}

// sentFixture: alice has an authenticator app, a phone for text messages
// (sms-1), and an email address (mail-1); carol has only a phone.
func sentFixture(t *testing.T, m ChallengeMode) (*fixture, *fakeSender) {
	t.Helper()
	fx := challengeFixture(t, m)
	s := &fakeSender{now: func() time.Time { return fx.now }, last: map[string]string{}, until: map[string]time.Time{}}
	fx.store.enrolled["alice"] = []store.Enrollment{{ID: "a1", User: "alice", Kind: "totp"},
		{ID: "sms-1", User: "alice", Kind: KindSMS, Label: "•••-•••-3816"},
		{ID: "mail-1", User: "alice", Kind: KindEmail, Label: "ali•••@example.com"}}
	fx.store.enrolled["carol"] = []store.Enrollment{{ID: "sms-c", User: "carol", Kind: KindSMS, Label: "+44 ••••••3456"}}
	fx.primary.users["carol"] = "carolpw"
	fx.e = NewEngine(fx.primary, fx.store, []factors.Factor{&fakeFactor{used: map[string]bool{}},
		sentFactor{KindSMS, s}, sentFactor{KindEmail, s}}, fx.e.policy, func() time.Time { return fx.now })
	fx.e.SetCodeSender(s)
	return fx, s
}

func TestKeywordSendsACode(t *testing.T) {
	fx, s := sentFixture(t, ChallengeAppendOnly)
	d := fx.ask("alice", "pa,ss,sms", nil, "vpn", nasA)
	if d.Outcome != Reject || d.Reason != ReasonCodeSent || !strings.Contains(d.Message, "to •••-•••-3816") ||
		!strings.Contains(d.Message, "password,123456") {
		t.Fatalf("pa,ss,sms: %v/%s %q", d.Outcome, d.Reason, d.Message)
	}
	if l := fx.store.locks["alice"]; l.Failures != 0 {
		t.Errorf("sending a code counted as a failure: %+v", l)
	}
	code := s.code("sms-1")
	if ok := fx.ask("alice", "pa,ss,"+code, nil, "vpn", nasA); ok.Outcome != Accept || ok.Factor != KindSMS {
		t.Fatalf("the sent code: %v/%s", ok.Outcome, ok.Reason)
	}
	if again := fx.ask("alice", "pa,ss,"+code, nil, "vpn", nasA); again.Outcome != Reject {
		t.Fatalf("the sent code twice: %v/%s", again.Outcome, again.Reason)
	}
	if d := fx.ask("alice", "pa,ss,EMAIL", nil, "vpn", nasA); d.Reason != ReasonCodeSent || s.sent[len(s.sent)-1] != "mail-1" {
		t.Fatalf("pa,ss,EMAIL: %s, sent %v", d.Reason, s.sent)
	}
	// A second phone alice does not have: counted like a wrong code.
	if d := fx.ask("alice", "pa,ss,sms2", nil, "vpn", nasA); d.Outcome != Reject || d.Reason != ReasonNoCodeDevice {
		t.Fatalf("pa,ss,sms2: %v/%s", d.Outcome, d.Reason)
	}
	if l := fx.store.locks["alice"]; l.Failures != 2 { // with the replay above
		t.Errorf("sms2 without a second phone: %+v", l)
	}
	delete(fx.store.locks, "alice")
	// A voice keyword with no voice factor running is part of the password.
	if d := fx.ask("alice", "pa,ss,phone", nil, "vpn", nasA); d.Reason != ReasonBadCredentials {
		t.Fatalf("pa,ss,phone without calls: %s", d.Reason)
	}
	// A wrong password sends nothing.
	n := len(s.sent)
	if d := fx.ask("alice", "wrong,sms", nil, "vpn", nasA); d.Reason != ReasonBadCredentials || len(s.sent) != n {
		t.Fatalf("wrong password: %s, sent %v", d.Reason, s.sent)
	}
}

func TestKeywordSendRefused(t *testing.T) {
	fx, s := sentFixture(t, ChallengeAppendOnly)
	s.err = fmt.Errorf("provider said no: %w", ErrCodeNotSent)
	d := fx.ask("alice", "pa,ss,sms", nil, "vpn", nasA)
	if d.Outcome != Reject || d.Reason != ReasonCodeNotSent || d.Message != MsgCodeNotSent || d.Err == nil {
		t.Fatalf("failed send: %v/%s %q %v", d.Outcome, d.Reason, d.Message, d.Err)
	}
	s.err = fmt.Errorf("5 in 15m: %w", ErrCodeLimited)
	if d := fx.ask("alice", "pa,ss,sms", nil, "vpn", nasA); d.Reason != ReasonCodeLimited || d.Message != MsgCodeLimited {
		t.Fatalf("limited: %s %q", d.Reason, d.Message)
	}
	s.err = fmt.Errorf("store broke")
	if d := fx.ask("alice", "pa,ss,sms", nil, "vpn", nasA); d.Reason != ReasonInternalError {
		t.Fatalf("broken: %s", d.Reason)
	}
	if l := fx.store.locks["alice"]; l.Failures != 0 {
		t.Errorf("a refused send counted as a failure: %+v", l)
	}
}

func TestMenuSendsAndResends(t *testing.T) {
	fx, s := sentFixture(t, ChallengeMenu)
	d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	want := "Choose how to sign in: 1. Code to •••-•••-3816. 2. Code to ali•••@example.com. 3. Passcode (authenticator app)."
	if d.Outcome != Challenge || !strings.HasPrefix(d.Message, want) {
		t.Fatalf("menu: %v %q", d.Outcome, d.Message)
	}
	d = fx.ask("alice", "1", d.State, "vpn", nasA)
	if d.Outcome != Challenge || d.Message != fmt.Sprintf(MsgEnterSentCode, "to •••-•••-3816") || len(s.sent) != 1 {
		t.Fatalf("choice 1: %v %q, sent %v", d.Outcome, d.Message, s.sent)
	}
	first := s.code("sms-1")
	for _, r := range []string{"r", "0"} {
		d = fx.ask("alice", r, d.State, "vpn", nasA)
		if d.Outcome != Challenge || d.Reason != ReasonChallengeSent || s.sent[len(s.sent)-1] != "sms-1" {
			t.Fatalf("%q: %v/%s sent %v", r, d.Outcome, d.Reason, s.sent)
		}
	}
	if len(s.sent) != 3 || s.code("sms-1") == first {
		t.Fatalf("resent: %v", s.sent)
	}
	// The code of the first send was replaced.
	state := d.State
	if got := fx.ask("alice", first, state, "vpn", nasA); got.Outcome != Reject || got.Reason != ReasonBadPasscode {
		t.Fatalf("a replaced code: %v/%s", got.Outcome, got.Reason)
	}
	if l := fx.store.locks["alice"]; l.Failures != 1 {
		t.Errorf("a wrong sent code was not counted: %+v", l)
	}
	d = fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	d = fx.ask("alice", "2", d.State, "vpn", nasA)
	ok := fx.ask("alice", s.code("mail-1"), d.State, "vpn", nasA)
	if ok.Outcome != Accept || ok.Factor != KindEmail || len(ok.Attributes) != 1 {
		t.Fatalf("emailed code: %v/%s %v", ok.Outcome, ok.Reason, ok.Attributes)
	}
}

func TestMenuSendFailureShowsTheMenuAgain(t *testing.T) {
	fx, s := sentFixture(t, ChallengeMenu)
	d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	s.err = fmt.Errorf("gateway down: %w", ErrCodeNotSent)
	d = fx.ask("alice", "1", d.State, "vpn", nasA)
	if d.Outcome != Challenge || d.Reason != ReasonCodeNotSent || d.Err == nil ||
		!strings.HasPrefix(d.Message, MsgCodeNotSent+". Choose how to sign in: 1.") {
		t.Fatalf("failed send: %v/%s %q", d.Outcome, d.Reason, d.Message)
	}
	// The user picks the authenticator app instead.
	d = fx.ask("alice", "3", d.State, "vpn", nasA)
	if ok := fx.ask("alice", "111111", d.State, "vpn", nasA); ok.Outcome != Accept || ok.Factor != "totp" {
		t.Fatalf("another method: %v/%s", ok.Outcome, ok.Reason)
	}
	// With no other method, the login ends with the reason.
	d = fx.ask("carol", "carolpw", nil, "vpn", nasA)
	if d.Outcome != Challenge {
		t.Fatalf("carol's menu: %v/%s", d.Outcome, d.Reason)
	}
	if d = fx.ask("carol", "1", d.State, "vpn", nasA); d.Outcome != Reject || d.Message != MsgCodeNotSent {
		t.Fatalf("carol's failed send: %v/%s %q", d.Outcome, d.Reason, d.Message)
	}
}

func TestAutoSendsToThePreferredPhone(t *testing.T) {
	fx, s := sentFixture(t, ChallengeAuto)
	// Carol has only a phone: auto sends to it at once.
	d := fx.ask("carol", "carolpw", nil, "vpn", nasA)
	if d.Outcome != Challenge || d.Message != fmt.Sprintf(MsgEnterSentCode, "to +44 ••••••3456") {
		t.Fatalf("carol: %v %q", d.Outcome, d.Message)
	}
	if ok := fx.ask("carol", s.code("sms-c"), d.State, "vpn", nasA); ok.Outcome != Accept || ok.Factor != KindSMS {
		t.Fatalf("carol's code: %v/%s", ok.Outcome, ok.Reason)
	}
	// Alice has an app too and prefers nothing: asked for a code.
	if d := fx.ask("alice", "pa,ss", nil, "vpn", nasA); d.Message != MsgEnterCode || len(s.sent) != 1 {
		t.Fatalf("alice: %q, sent %v", d.Message, s.sent)
	}
	// Preferring her email address, she is sent a code there.
	fx.store.enrolled["alice"][2].Preferred = true
	if d := fx.ask("alice", "pa,ss", nil, "vpn", nasA); d.Outcome != Challenge || s.sent[len(s.sent)-1] != "mail-1" {
		t.Fatalf("alice preferring email: %v %q, sent %v", d.Outcome, d.Message, s.sent)
	}
}

func TestExpiredSentCode(t *testing.T) {
	fx, s := sentFixture(t, ChallengeAppendOnly)
	fx.ask("alice", "pa,ss,sms", nil, "vpn", nasA)
	fx.now = fx.now.Add(10 * time.Minute)
	d := fx.ask("alice", "pa,ss,"+s.code("sms-1"), nil, "vpn", nasA)
	if d.Outcome != Reject || d.Reason != ReasonExpiredPasscode || d.Message != MsgCodeExpired {
		t.Fatalf("expired: %v/%s %q", d.Outcome, d.Reason, d.Message)
	}
	if l := fx.store.locks["alice"]; l.Failures != 1 {
		t.Errorf("an expired code was not counted: %+v", l)
	}
}

func TestResendAfterTheDeviceIsDisabled(t *testing.T) {
	fx, s := sentFixture(t, ChallengeMenu)
	d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	d = fx.ask("alice", "1", d.State, "vpn", nasA)
	fx.store.enrolled["alice"][1].Disabled = true
	if got := fx.ask("alice", "r", d.State, "vpn", nasA); got.Outcome != Reject || got.Reason != ReasonNoUsableFactor || len(s.sent) != 1 {
		t.Fatalf("resend to a disabled phone: %v/%s, sent %v", got.Outcome, got.Reason, s.sent)
	}
}

func TestSiteMayAskForASentCode(t *testing.T) {
	fx, s := sentFixture(t, ChallengeMenu)
	d := fx.e.Decide(context.Background(), Request{UserName: "alice", Password: "pa,ss,email", Client: "web", Interactive: true})
	if d.Outcome != Reject || d.Reason != ReasonCodeSent || len(s.sent) != 1 || s.sent[0] != "mail-1" {
		t.Fatalf("site keyword: %v/%s, sent %v", d.Outcome, d.Reason, s.sent)
	}
	ok := fx.e.Decide(context.Background(), Request{UserName: "alice", Password: "pa,ss," + s.code("mail-1"), Client: "web", Interactive: true})
	if ok.Outcome != Accept || ok.Factor != KindEmail {
		t.Fatalf("site code: %v/%s", ok.Outcome, ok.Reason)
	}
	// The site offers every kind the server sends: carol has no email
	// address, and is told so, not counted.
	d = fx.e.Decide(context.Background(), Request{UserName: "carol", Password: "carolpw,email", Client: "web", Interactive: true})
	if d.Reason != ReasonNoCodeDevice || d.Message != MsgNoCodeDevice || fx.store.locks["carol"].Failures != 0 {
		t.Fatalf("carol's email: %s %q %+v", d.Reason, d.Message, fx.store.locks["carol"])
	}
}

// The challenge for a sent code lives as long as the code: an email may
// take longer to arrive than the challenge lifetime (30 s here).
func TestSentCodeChallengeLivesWithTheCode(t *testing.T) {
	fx, s := sentFixture(t, ChallengeMenu)
	d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	d = fx.ask("alice", "2", d.State, "vpn", nasA)
	fx.now = fx.now.Add(9 * time.Minute)
	if ok := fx.ask("alice", s.code("mail-1"), d.State, "vpn", nasA); ok.Outcome != Accept {
		t.Fatalf("after 9 minutes: %v/%s", ok.Outcome, ok.Reason)
	}
}
