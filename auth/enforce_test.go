package auth

import (
	"context"
	"testing"
	"time"

	"radiusmfa/store"
)

func TestModeForPrecedence(t *testing.T) {
	en, err := CompileEnforcement(store.Enforcement{
		Mode:    "off",
		Groups:  map[string]string{"vpn": "optional", "admins": "required", "cn=ops,ou=groups": "optional"},
		Clients: map[string]string{"firewall": "off", "legacy": "required"},
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := Identity{Groups: []string{"VPN", "admins"}}
	vpn := Identity{Groups: []string{"vpn"}}
	ops := Identity{GroupDNs: []string{"CN=ops, OU=Groups"}}
	none := Identity{}
	cases := []struct {
		name   string
		client string
		id     Identity
		want   Mode
	}{
		{"strictest group wins", "", admin, ModeRequired},
		{"one group", "", vpn, ModeOptional},
		{"group by DN", "", ops, ModeOptional},
		{"no group: global", "", none, ModeOff},
		{"client beats groups", "firewall", admin, ModeOff},
		{"client beats global", "legacy", none, ModeRequired},
	}
	for _, c := range cases {
		if got := en.ModeFor(c.client, c.id, ModeRequired); got != c.want {
			t.Errorf("%s: ModeFor = %q, want %q", c.name, got, c.want)
		}
	}
	var nilEn *Enforcement
	if got := nilEn.ModeFor("x", admin, ModeOptional); got != ModeOptional {
		t.Errorf("no settings: ModeFor = %q, want the default", got)
	}
	noGlobal, _ := CompileEnforcement(store.Enforcement{})
	if got := noGlobal.ModeFor("", none, ModeOff); got != ModeOff {
		t.Errorf("settings without a global mode: ModeFor = %q, want the default", got)
	}
}

func TestCompileEnforcementRefusesBadModes(t *testing.T) {
	for _, s := range []store.Enforcement{
		{Mode: "on"},
		{Groups: map[string]string{"vpn": "maybe"}},
		{Groups: map[string]string{" ": "required"}},
		{Clients: map[string]string{"fw": ""}},
	} {
		if _, err := CompileEnforcement(s); err == nil {
			t.Errorf("CompileEnforcement(%+v) = nil error", s)
		}
	}
	if m, err := ParseMode(" Required "); err != nil || m != ModeRequired {
		t.Errorf("ParseMode(\" Required \") = %q, %v", m, err)
	}
}

func TestEngineModes(t *testing.T) {
	set := func(fx *fixture, s store.Enforcement) {
		t.Helper()
		en, err := CompileEnforcement(s)
		if err != nil {
			t.Fatal(err)
		}
		fx.e.SetEnforcement(en)
	}
	t.Run("off accepts the password of an enrolled user", func(t *testing.T) {
		fx := newFixture(t, Policy{MFA: ModeOff})
		d := fx.decide("alice", "pa,ss")
		if d.Outcome != Accept || d.Reason != ReasonMFAOff || d.Factor != "" {
			t.Fatalf("got %v/%s factor %q, want accept/mfa_off", d.Outcome, d.Reason, d.Factor)
		}
		if d := fx.decide("alice", "wrong"); d.Outcome != Reject || d.Reason != ReasonBadCredentials {
			t.Fatalf("wrong password with MFA off: %v/%s", d.Outcome, d.Reason)
		}
	})
	t.Run("the site asks an enrolled user for a device even when off", func(t *testing.T) {
		fx := newFixture(t, Policy{MFA: ModeOff})
		d := fx.e.Decide(context.Background(), Request{UserName: "alice", Password: "pa,ss", Interactive: true})
		if d.Outcome != Reject || d.Reason != ReasonPasscodeRequired {
			t.Fatalf("got %v/%s, want reject/passcode_required", d.Outcome, d.Reason)
		}
		d = fx.e.Decide(context.Background(), Request{UserName: "nofactor", Password: "pw", Interactive: true})
		if d.Outcome != Accept || d.Reason != ReasonNoFactorAllowed {
			t.Fatalf("no device on the site: got %v/%s", d.Outcome, d.Reason)
		}
	})
	t.Run("optional", func(t *testing.T) {
		fx := newFixture(t, Policy{MFA: ModeOptional})
		if d := fx.decide("alice", "pa,ss"); d.Reason != ReasonPasscodeRequired {
			t.Fatalf("enrolled user without code: %s", d.Reason)
		}
		if d := fx.decide("nofactor", "pw"); d.Outcome != Accept || d.Reason != ReasonNoFactorAllowed {
			t.Fatalf("no device: %v/%s", d.Outcome, d.Reason)
		}
	})
	t.Run("required with a deadline", func(t *testing.T) {
		fx := newFixture(t, Policy{MFA: ModeOff})
		set(fx, store.Enforcement{Mode: "required", Deadline: fx.now.Add(time.Hour)})
		d := fx.decide("nofactor", "pw")
		if d.Outcome != Accept || d.Reason != ReasonEnrollmentGrace || !d.Enroll {
			t.Fatalf("before the deadline: %v/%s enroll=%v", d.Outcome, d.Reason, d.Enroll)
		}
		if want := "enroll first (required from 2023-11-14 23:13 UTC)"; d.Message != want {
			t.Errorf("grace Reply-Message %q, want %q", d.Message, want)
		}
		fx.now = fx.now.Add(time.Hour)
		d = fx.decide("nofactor", "pw")
		if d.Outcome != Reject || d.Reason != ReasonNotEnrolled || !d.Enroll || d.Message != "enroll first" {
			t.Fatalf("at the deadline: %v/%s enroll=%v %q", d.Outcome, d.Reason, d.Enroll, d.Message)
		}
		if d := fx.decide("alice", "pa,ss,111111"); d.Outcome != Accept || d.Factor != "totp" {
			t.Fatalf("enrolled user: %v/%s", d.Outcome, d.Reason)
		}
	})
	t.Run("settings replace the configured mode at run time", func(t *testing.T) {
		fx := newFixture(t, Policy{MFA: ModeRequired})
		set(fx, store.Enforcement{Mode: "off"})
		if d := fx.decide("alice", "pa,ss"); d.Outcome != Accept {
			t.Fatalf("after switching off: %v/%s", d.Outcome, d.Reason)
		}
		fx.e.SetEnforcement(nil)
		if d := fx.decide("alice", "pa,ss"); d.Outcome != Reject {
			t.Fatalf("after clearing: %v/%s", d.Outcome, d.Reason)
		}
	})
	t.Run("a method not allowed is not usable", func(t *testing.T) {
		fx := newFixture(t, Policy{})
		set(fx, store.Enforcement{Methods: []string{"backup"}})
		if d := fx.decide("alice", "pa,ss,111111"); d.Outcome != Reject || d.Reason != ReasonNoUsableFactor {
			t.Fatalf("totp not allowed: %v/%s", d.Outcome, d.Reason)
		}
		set(fx, store.Enforcement{Methods: []string{"totp"}})
		if d := fx.decide("alice", "pa,ss,111111"); d.Outcome != Accept {
			t.Fatalf("totp allowed: %v/%s", d.Outcome, d.Reason)
		}
	})
	t.Run("zero policy is required", func(t *testing.T) {
		fx := newFixture(t, Policy{})
		if d := fx.decide("nofactor", "pw"); d.Reason != ReasonNotEnrolled {
			t.Fatalf("zero policy, no device: %s", d.Reason)
		}
	})
}

func TestAllows(t *testing.T) {
	en, _ := CompileEnforcement(store.Enforcement{Methods: []string{"totp"}})
	if !en.Allows("totp") || en.Allows("backup") || !en.Allows(KindBypass) {
		t.Error("Methods [totp]: totp and bypass allowed, backup not")
	}
	var none *Enforcement
	if !none.Allows("backup") {
		t.Error("no settings allow every kind")
	}
}

// A user whose only enrollments are spent bypass codes has no device: under
// "optional" they get in on the password (and may enroll), rather than being
// locked out by a code that can never work again.
func TestSpentBypassIsNoDevice(t *testing.T) {
	fx := newFixture(t, Policy{MFA: ModeOptional})
	fx.store.enrolled["nofactor"] = []store.Enrollment{
		{ID: "b1", User: "nofactor", Kind: KindBypass, MaxUses: 1, Counter: 1, ExpiresAt: fx.now.Add(time.Hour)},
		{ID: "b2", User: "nofactor", Kind: KindBypass, MaxUses: 3, ExpiresAt: fx.now.Add(-time.Second)},
	}
	if d := fx.decide("nofactor", "pw"); d.Outcome != Accept || d.Reason != ReasonNoFactorAllowed {
		t.Fatalf("spent bypass codes only: %v/%s", d.Outcome, d.Reason)
	}
	// A live one still counts: the user must use it.
	fx.store.enrolled["nofactor"] = append(fx.store.enrolled["nofactor"],
		store.Enrollment{ID: "b3", User: "nofactor", Kind: KindBypass, MaxUses: 1, ExpiresAt: fx.now.Add(time.Hour)})
	if d := fx.decide("nofactor", "pw"); d.Outcome != Reject {
		t.Fatalf("a live bypass code: %v/%s", d.Outcome, d.Reason)
	}
}
