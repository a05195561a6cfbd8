package admin

import (
	"errors"
	"testing"
	"time"

	"radiusmfa/factors"
	"radiusmfa/store"
)

func TestSelfEnrollTOTP(t *testing.T) {
	c := newConsole(t, func(o *Options) { o.Skew = 1 })
	// Only the user themself: not another user, not even an admin.
	for _, ctx := range []struct {
		name string
		p    Principal
	}{{"bob", Principal{Name: "bob"}}, {"admin", Principal{Name: "boss", Role: RoleAdmin}}} {
		if _, err := c.svc.BeginTOTP(WithPrincipal(anon, ctx.p), "alice", "x"); !errors.Is(err, ErrForbidden) {
			t.Errorf("BeginTOTP for alice as %s: %v", ctx.name, err)
		}
	}
	offer, err := c.svc.BeginTOTP(asAlice, "alice", "tablet")
	if err != nil {
		t.Fatal(err)
	}
	if offer.Secret == "" || offer.Enrollment.User != "alice" {
		t.Fatalf("offer %+v", offer)
	}
	// Nothing is stored before the confirmation.
	if n := len(c.devices(t, "alice")); n != 1 {
		t.Fatalf("%d devices after BeginTOTP, want the 1 from before", n)
	}
	if _, err := c.svc.ConfirmTOTP(asBob, offer, c.code(t, offer.Secret, 0), ConfirmOptions{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("bob confirming alice's offer: %v", err)
	}
	if _, err := c.svc.ConfirmTOTP(asAlice, offer, c.code(t, offer.Secret, -5), ConfirmOptions{}); !errors.Is(err, factors.ErrInvalidCode) {
		t.Errorf("an old code: %v", err)
	}
	// A first-device confirmation refuses beside alice's existing device.
	if _, err := c.svc.ConfirmTOTP(asAlice, offer, c.code(t, offer.Secret, 0), ConfirmOptions{First: true}); !errors.Is(err, ErrAccountChanged) {
		t.Errorf("first device beside another: %v", err)
	}
	id, err := c.svc.ConfirmTOTP(asAlice, offer, c.code(t, offer.Secret, 0), ConfirmOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := c.enrollment(t, "alice", id)
	if e.Counter != uint64(c.clk.Now().Unix()/30) || e.Label != "tablet" {
		t.Errorf("stored %+v: want the confirming step used up", e)
	}
	if a := c.lastAdmin(t); a.Client != "alice" || a.Detail != "totp.enroll "+id {
		t.Errorf("audit %+v", a)
	}
	// With every device disabled, a session cannot add one...
	for _, d := range c.devices(t, "alice") {
		if err := c.svc.SetDeviceDisabled(asAdmin, "alice", d.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	offer2, _ := c.svc.BeginTOTP(asAlice, "alice", "new phone")
	if _, err := c.svc.ConfirmTOTP(asAlice, offer2, c.code(t, offer2.Secret, 0), ConfirmOptions{}); !errors.Is(err, ErrAccountChanged) {
		t.Errorf("no enabled device: %v", err)
	}
	// ...unless it signed in with a bypass code that has not expired.
	if _, err := c.svc.IssueBypass(asAdmin, BypassRequest{User: "alice", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.ConfirmTOTP(asAlice, offer2, c.code(t, offer2.Secret, 0), ConfirmOptions{}); err != nil {
		t.Errorf("with a live bypass code: %v", err)
	}
	// A disabled account adds nothing.
	if err := c.svc.LockUser(asAdmin, "alice"); err != nil {
		t.Fatal(err)
	}
	offer3, _ := c.svc.BeginTOTP(asAlice, "alice", "x")
	if _, err := c.svc.ConfirmTOTP(asAlice, offer3, c.code(t, offer3.Secret, 0), ConfirmOptions{}); !errors.Is(err, ErrAccountChanged) {
		t.Errorf("disabled account: %v", err)
	}
	// bob's first device, beside a bypass code that expired unused: the
	// spent code does not make him enrolled, and goes.
	if _, err := c.svc.IssueBypass(asAdmin, BypassRequest{User: "bob", TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	c.clk.Add(2 * time.Minute)
	offer4, _ := c.svc.BeginTOTP(asBob, "bob", "phone")
	if _, err := c.svc.ConfirmTOTP(asBob, offer4, c.code(t, offer4.Secret, 0), ConfirmOptions{First: true}); err != nil {
		t.Errorf("bob's first device: %v", err)
	}
	if ds := c.devices(t, "bob"); len(ds) != 1 || ds[0].Kind != "totp" {
		t.Errorf("bob's devices: %+v", ds)
	}
	// An offer made for someone else is refused even by its holder's name.
	forged := offer4
	forged.User = "alice"
	if _, err := c.svc.ConfirmTOTP(asAlice, forged, c.code(t, offer4.Secret, 1), ConfirmOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("an offer re-addressed to alice: %v", err)
	}
}

// With push running, "push" is a method an admin may allow; without, not.
func TestPushIsAMethodWhenRunning(t *testing.T) {
	off := newConsole(t, nil)
	if err := off.svc.SetEnforcement(asAdmin, store.Enforcement{Methods: []string{"push"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("push allowed without push running: %v", err)
	}
	on := newConsole(t, func(o *Options) { o.Push = true })
	if err := on.svc.SetEnforcement(asAdmin, store.Enforcement{Methods: []string{"push", "totp"}}); err != nil {
		t.Errorf("push not allowable with push running: %v", err)
	}
}

// Unlocking a user lifts their push suspension too.
func TestUnlockResumesPush(t *testing.T) {
	var resumed []string
	c := newConsole(t, func(o *Options) { o.Push, o.ResumePush = true, func(u string) { resumed = append(resumed, u) } })
	if err := c.svc.UnlockUser(asHelp, "Alice"); err != nil {
		t.Fatal(err)
	}
	if len(resumed) != 1 || resumed[0] != "alice" {
		t.Errorf("resumed %v, want [alice]", resumed)
	}
}
