package auth

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"radiusmfa/store"
)

var (
	nasA = netip.MustParseAddrPort("192.0.2.1:40000")
	nasB = netip.MustParseAddrPort("192.0.2.2:40000")
)

// challengeFixture is the engine fixture with a client "vpn" in mode m.
func challengeFixture(t *testing.T, m ChallengeMode) *fixture {
	t.Helper()
	return newFixture(t, Policy{ClientChallenge: map[string]ChallengeMode{"vpn": m}, ChallengeTTL: 30 * time.Second,
		Groups: GroupPolicy{Reply: []ReplyRule{{Attributes: []Attribute{{Name: "Class", Value: "staff", Type: 25, Data: []byte("staff")}}}}}})
}

func (fx *fixture) ask(user, pw string, state []byte, client string, src netip.AddrPort) Decision {
	return fx.request(Request{UserName: user, Password: pw, State: state, Client: client, Source: src})
}

// request is Decide as a transport sees it: a Pending decision is followed
// to its final one (Await).
func (fx *fixture) request(r Request) Decision {
	return final(fx.e.Decide(context.Background(), r))
}

func TestChallengeAuto(t *testing.T) {
	fx := challengeFixture(t, ChallengeAuto)
	d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	if d.Outcome != Challenge || d.Reason != ReasonChallengeSent || len(d.State) < 16 || d.Message != MsgEnterCode {
		t.Fatalf("password alone: %v/%s state %d bytes %q", d.Outcome, d.Reason, len(d.State), d.Message)
	}
	if strings.Contains(string(d.State), "pa,ss") {
		t.Fatal("the State holds the password")
	}
	if l := fx.store.locks["alice"]; l.Failures != 0 {
		t.Errorf("a challenge counted as a failure: %+v", l)
	}
	// The answer: the code alone, with the State; the Accept carries what
	// policy granted at the password.
	ok := fx.ask("alice", "111111", d.State, "vpn", nasA)
	if ok.Outcome != Accept || ok.Factor != "totp" || len(ok.Attributes) != 1 || ok.Attributes[0].Value != "staff" {
		t.Fatalf("answer: %v/%s attrs %v", ok.Outcome, ok.Reason, ok.Attributes)
	}
	// A State answers once.
	if again := fx.ask("alice", "111111", d.State, "vpn", nasA); again.Outcome != Reject || again.Reason != ReasonBadState {
		t.Fatalf("replayed State: %v/%s", again.Outcome, again.Reason)
	}
	// append-only and the site get no challenge.
	if d := fx.ask("alice", "pa,ss", nil, "other", nasA); d.Outcome != Reject || d.Reason != ReasonPasscodeRequired {
		t.Errorf("client without challenge: %v/%s", d.Outcome, d.Reason)
	}
	if d := fx.e.Decide(context.Background(), Request{UserName: "alice", Password: "pa,ss", Client: "vpn", Interactive: true}); d.Outcome != Reject {
		t.Errorf("the site got %v", d.Outcome)
	}
	// A wrong password gets no challenge: the same reply as ever.
	if d := fx.ask("alice", "wrong", nil, "vpn", nasA); d.Outcome != Reject || d.Reason != ReasonBadCredentials {
		t.Errorf("wrong password: %v/%s", d.Outcome, d.Reason)
	}
}

func TestChallengeStateIsBound(t *testing.T) {
	fx := challengeFixture(t, ChallengeAuto)
	fx.store.enrolled["bob"] = []store.Enrollment{{ID: "b1", User: "bob", Kind: "totp"}}
	fx.primary.users["bob"] = "bobpw"
	cases := []struct {
		name, user, client string
		src                netip.AddrPort
	}{
		{"another user", "bob", "vpn", nasA},
		{"another client", "alice", "other", nasA},
		{"another address", "alice", "vpn", nasB},
	}
	for _, c := range cases {
		d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
		got := fx.ask(c.user, "111111", d.State, c.client, c.src)
		if got.Outcome != Reject || got.Reason != ReasonBadState {
			t.Errorf("%s: %v/%s", c.name, got.Outcome, got.Reason)
		}
		// Refused before the code is looked at: it still works.
		if fx.e.factors["totp"].(*fakeFactor).used["a1"] {
			t.Fatalf("%s: the code was consumed", c.name)
		}
	}
	if got := fx.ask("alice", "111111", []byte("made-up-state-of-some-length"), "vpn", nasA); got.Reason != ReasonBadState {
		t.Errorf("made-up State: %s", got.Reason)
	}
}

func TestChallengeExpires(t *testing.T) {
	fx := challengeFixture(t, ChallengeAuto)
	d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	fx.now = fx.now.Add(30 * time.Second)
	if got := fx.ask("alice", "111111", d.State, "vpn", nasA); got.Outcome != Reject || got.Reason != ReasonChallengeExpired {
		t.Fatalf("after the TTL: %v/%s", got.Outcome, got.Reason)
	}
}

func TestChallengeWrongCodeCounts(t *testing.T) {
	fx := challengeFixture(t, ChallengeAuto)
	d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	if got := fx.ask("alice", "222222", d.State, "vpn", nasA); got.Outcome != Reject || got.Reason != ReasonBadPasscode {
		t.Fatalf("wrong code: %v/%s", got.Outcome, got.Reason)
	}
	if l := fx.store.locks["alice"]; l.Failures != 1 {
		t.Errorf("a wrong answer was not counted: %+v", l)
	}
	// A lock placed after the challenge was sent holds for its answer.
	d = fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	fx.store.locks["alice"] = store.Lockout{Failures: 9, Locked: true}
	if got := fx.ask("alice", "111111", d.State, "vpn", nasA); got.Outcome != Reject || got.Reason != ReasonLockedOut {
		t.Fatalf("answer while locked: %v/%s", got.Outcome, got.Reason)
	}
}

func TestChallengeMenu(t *testing.T) {
	fx := challengeFixture(t, ChallengeMenu)
	d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	if d.Outcome != Challenge || !strings.Contains(d.Message, "1. Passcode (authenticator app)") {
		t.Fatalf("menu: %v %q", d.Outcome, d.Message)
	}
	// "1" asks for the code with a new State; the old one is spent.
	next := fx.ask("alice", "1", d.State, "vpn", nasA)
	if next.Outcome != Challenge || next.Message != MsgEnterCode || string(next.State) == string(d.State) {
		t.Fatalf("choice 1: %v %q", next.Outcome, next.Message)
	}
	if ok := fx.ask("alice", "111111", next.State, "vpn", nasA); ok.Outcome != Accept {
		t.Fatalf("code after the menu: %v/%s", ok.Outcome, ok.Reason)
	}
	// A code typed straight at the menu works too; a number naming no
	// method is a failure.
	fx2 := challengeFixture(t, ChallengeMenu)
	d = fx2.ask("alice", "pa,ss", nil, "vpn", nasA)
	if ok := fx2.ask("alice", "111111", d.State, "vpn", nasA); ok.Outcome != Accept {
		t.Fatalf("code at the menu: %v/%s", ok.Outcome, ok.Reason)
	}
	d = fx2.ask("alice", "pa,ss", nil, "vpn", nasA)
	if bad := fx2.ask("alice", "7", d.State, "vpn", nasA); bad.Outcome != Reject || bad.Reason != ReasonBadChoice {
		t.Fatalf("choice 7: %v/%s", bad.Outcome, bad.Reason)
	}
}

// One user's pending challenges are bounded: a new one ends the oldest.
func TestChallengesPerUserAreBounded(t *testing.T) {
	fx := challengeFixture(t, ChallengeAuto)
	var states [][]byte
	for range maxUserChallenges + 1 {
		states = append(states, fx.ask("alice", "pa,ss", nil, "vpn", nasA).State)
		fx.now = fx.now.Add(time.Second)
	}
	if n := fx.e.challenges.pending(); n != maxUserChallenges {
		t.Fatalf("%d pending, want %d", n, maxUserChallenges)
	}
	if d := fx.ask("alice", "111111", states[0], "vpn", nasA); d.Reason != ReasonBadState {
		t.Errorf("the oldest State still answers: %s", d.Reason)
	}
	if d := fx.ask("alice", "111111", states[len(states)-1], "vpn", nasA); d.Outcome != Accept {
		t.Errorf("the newest State: %v/%s", d.Outcome, d.Reason)
	}
}

func TestParseChallengeMode(t *testing.T) {
	for in, want := range map[string]ChallengeMode{"auto": ChallengeAuto, " Challenge": ChallengeMenu, "append-only": ChallengeAppendOnly} {
		if got, err := ParseChallengeMode(in); err != nil || got != want {
			t.Errorf("ParseChallengeMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseChallengeMode("push"); err == nil {
		t.Error("ParseChallengeMode(push) = nil error")
	}
}

// A late answer is told it came too late, even after other challenges
// swept the table.
func TestChallengeExpiredSurvivesASweep(t *testing.T) {
	fx := challengeFixture(t, ChallengeAuto)
	d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	fx.now = fx.now.Add(31 * time.Second)
	fx.primary.users["bob"] = "bobpw"
	fx.store.enrolled["bob"] = []store.Enrollment{{ID: "b1", User: "bob", Kind: "totp"}}
	fx.ask("bob", "bobpw", nil, "vpn", nasA) // sweeps
	if got := fx.ask("alice", "111111", d.State, "vpn", nasA); got.Reason != ReasonChallengeExpired || got.Message != MsgTooLong {
		t.Fatalf("late answer after a sweep: %s %q", got.Reason, got.Message)
	}
}

// An answer re-checks the account: a user disabled, or whose devices were
// all disabled, since the challenge was sent gets no Accept; a bad menu
// choice counts toward lockout.
func TestChallengeAnswerRechecks(t *testing.T) {
	fx := challengeFixture(t, ChallengeAuto)
	d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	fx.store.users = map[string]store.User{"alice": {Name: "alice", Disabled: true}}
	if got := fx.ask("alice", "111111", d.State, "vpn", nasA); got.Outcome != Reject || got.Reason != ReasonAccountDisabled {
		t.Fatalf("disabled meanwhile: %v/%s", got.Outcome, got.Reason)
	}
	delete(fx.store.users, "alice")
	d = fx.ask("alice", "pa,ss", nil, "vpn", nasA)
	fx.store.enrolled["alice"][0].Disabled = true
	if got := fx.ask("alice", "111111", d.State, "vpn", nasA); got.Outcome != Reject || got.Reason != ReasonNoUsableFactor {
		t.Fatalf("device disabled meanwhile: %v/%s", got.Outcome, got.Reason)
	}
	fx.store.enrolled["alice"][0].Disabled = false

	menu := challengeFixture(t, ChallengeMenu)
	d = menu.ask("alice", "pa,ss", nil, "vpn", nasA)
	if got := menu.ask("alice", "4", d.State, "vpn", nasA); got.Reason != ReasonBadChoice || menu.store.locks["alice"].Failures != 1 {
		t.Fatalf("bad choice: %s, failures %d", got.Reason, menu.store.locks["alice"].Failures)
	}
}

// A State is printable text: a NAS that keeps it as a C string (ocserv
// through radcli) would cut it at a zero byte and get bad_state back.
func TestStateIsText(t *testing.T) {
	fx := challengeFixture(t, ChallengeAuto)
	for range 200 {
		d := fx.ask("alice", "pa,ss", nil, "vpn", nasA)
		if len(d.State) != 43 {
			t.Fatalf("State of %d bytes", len(d.State))
		}
		for _, c := range d.State {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				t.Fatalf("State %q holds %#x", d.State, c)
			}
		}
	}
}
