package admin

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"radiusmfa/auth"
	"radiusmfa/factors"
	"radiusmfa/factors/delivery"
	"radiusmfa/factors/factortest"
	"radiusmfa/factors/otc"
	"radiusmfa/factors/phone"
	"radiusmfa/store"
)

// withCodes returns a service over c's store that sends codes of kinds
// (every kind when none is named) through one outbox, at most perUser in
// 15 minutes, numbers read with rules.
func (c *console) withCodes(t *testing.T, perUser int, rules phone.Rules, kinds ...string) (*Service, *factortest.Outbox) {
	t.Helper()
	if len(kinds) == 0 {
		kinds = []string{auth.KindSMS, auth.KindVoice, auth.KindEmail}
	}
	box := &factortest.Outbox{}
	providers := map[string]delivery.Provider{}
	for _, k := range kinds {
		providers[k] = box
	}
	snd, err := otc.NewSender(c.st, otc.SenderOptions{Codes: otc.Options{Now: c.clk.Now}, Providers: providers,
		PerUser: perUser, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c.sharing(func(o *Options) { o.Codes, o.PhoneRules = snd, rules }), box
}

func deviceByID(t *testing.T, devs []Device, id string) Device {
	t.Helper()
	for _, d := range devs {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("no device %s in %+v", id, devs)
	return Device{}
}

func TestAddContact(t *testing.T) {
	c := newConsole(t, nil)
	svc := c.sharing(func(o *Options) { o.PhoneRules = phone.Rules{DefaultRegion: "US", Allowed: []string{"US", "CA"}} })
	id, err := svc.AddContact(asHelp, " Alice", auth.KindSMS, "(585) 555-0123", "")
	if err != nil {
		t.Fatal(err)
	}
	e := c.enrollment(t, "alice", id)
	if dest, _ := otc.Destination(e); dest != "+15855550123" || e.Kind != auth.KindSMS || e.CreatedBy != "hd" || e.Label != "Phone •••-•••-0123" {
		t.Errorf("stored %+v (to %q): want alice's sms device to +15855550123, by hd", e, dest)
	}
	if a := c.lastAdmin(t); a.Detail != "sms.add "+id || a.User != "alice" || a.Client != "hd" {
		t.Errorf("audit %+v", a)
	}
	d := deviceByID(t, c.devices(t, "alice"), id)
	if d.To != "•••-•••-0123" || !d.ExpiresAt.IsZero() || d.Expired {
		t.Errorf("listed %+v: want the masked number and no expiry", d)
	}
	// The same number again is refused; for calls it is another device.
	if _, err := svc.AddContact(asAdmin, "alice", auth.KindSMS, "+1 585 555 0123", "again"); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "already has this phone") {
		t.Errorf("a duplicate: %v", err)
	}
	if _, err := svc.AddContact(asAdmin, "alice", auth.KindVoice, "+1 585 555 0123", "desk"); err != nil {
		t.Errorf("the same number for calls: %v", err)
	}
	mail, err := svc.AddContact(asAdmin, "alice", auth.KindEmail, "Alice.Smith@Example.COM", "")
	if err != nil {
		t.Fatal(err)
	}
	if dest, _ := otc.Destination(c.enrollment(t, "alice", mail)); dest != "Alice.Smith@example.com" {
		t.Errorf("stored address %q", dest)
	}
	if d := deviceByID(t, c.devices(t, "alice"), mail); d.To != "Ali•••@example.com" || d.Label != "Email Ali•••@example.com" {
		t.Errorf("listed %+v", d)
	}
	// What is wrong with a refused request is said.
	for _, bad := range []struct{ kind, dest, want string }{
		{auth.KindSMS, "+49 30 1234567", "not allowed (DE); allowed: US, CA"},
		{auth.KindSMS, "555-0123", "not a valid phone number"},
		{auth.KindVoice, "call me", "not a valid phone number"},
		{auth.KindEmail, "alice at example", "not a valid email address"},
		{"fax", "+1 585 555 0123", "sms, voice or email"},
	} {
		_, err := svc.AddContact(asAdmin, "alice", bad.kind, bad.dest, "")
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s %q: %v, want ErrInvalid saying %q", bad.kind, bad.dest, err, bad.want)
		}
	}
	if _, err := svc.AddContact(asAdmin, "alice", auth.KindSMS, "+1 650 253 0000", "bad\u202eLabel"); !errors.Is(err, ErrInvalid) {
		t.Errorf("a label with a bidi override: %v", err)
	}
	if _, err := svc.AddContact(asAdmin, "ghost", auth.KindSMS, "+1 650 253 0000", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown user: %v", err)
	}
	// Only staff: a user adds their own phone by proving it (BeginContact).
	if _, err := svc.AddContact(asAlice, "alice", auth.KindSMS, "+1 650 253 0000", ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("alice adding her own phone unproven: %v", err)
	}
}

// The help desk disables, enables and deletes phones and addresses as any
// other device, and a code outstanding is no expiry of the device.
func TestContactDevicesAreManaged(t *testing.T) {
	c := newConsole(t, nil)
	svc, box := c.withCodes(t, 0, phone.Rules{})
	id, err := svc.AddContact(asAdmin, "alice", auth.KindSMS, "+1 650 253 0000", "work phone")
	if err != nil {
		t.Fatal(err)
	}
	snd := svc.opt.Codes.(*otc.Sender)
	if _, err := snd.SendCode(anon, c.enrollment(t, "alice", id)); err != nil || box.Last(t).Code == "" {
		t.Fatalf("sending a code: %v", err)
	}
	if e := c.enrollment(t, "alice", id); e.ExpiresAt.IsZero() {
		t.Fatal("the code sent left no expiry in the store: the next check proves nothing")
	}
	c.clk.Add(time.Hour) // the code expired; the device did not
	if d := deviceByID(t, c.devices(t, "alice"), id); !d.ExpiresAt.IsZero() || d.Expired || d.To != "•••-•••-0000" {
		t.Errorf("listed %+v: want no expiry and the masked number", d)
	}
	if err := svc.SetDeviceDisabled(asHelp, "alice", id, true); err != nil {
		t.Fatal(err)
	}
	if _, err := snd.SendCode(anon, c.enrollment(t, "alice", id)); err == nil {
		t.Error("a code was sent to a disabled phone")
	}
	if err := svc.SetDeviceDisabled(asHelp, "alice", id, false); err != nil {
		t.Fatal(err)
	}
	if err := svc.RemoveDevice(asHelp, "alice", id); err != nil {
		t.Fatal(err)
	}
	if a := c.lastAdmin(t); a.Detail != "device.remove "+id {
		t.Errorf("audit %+v", a)
	}
	if d, err := svc.UserDetail(asHelp, "alice"); err != nil || len(d.DeviceList) != 1 {
		t.Errorf("after removing the phone: %+v, %v", d.DeviceList, err)
	}
}

func TestBeginAndConfirmContact(t *testing.T) {
	c := newConsole(t, nil)
	svc, box := c.withCodes(t, 0, phone.Rules{DefaultRegion: "US"}, auth.KindSMS, auth.KindEmail)
	if got := svc.SentKinds(); strings.Join(got, ",") != "sms,email" {
		t.Errorf("SentKinds %v", got)
	}
	if got := c.svc.SentKinds(); len(got) != 0 {
		t.Errorf("SentKinds without codes: %v", got)
	}
	// Only the user themself; only kinds the server sends.
	if _, err := svc.BeginContact(asAdmin, "alice", auth.KindSMS, "+1 650 253 0000", ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("an admin proving alice's phone: %v", err)
	}
	if _, err := svc.BeginContact(asAlice, "alice", auth.KindVoice, "+1 650 253 0000", ""); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "no codes by phone call") {
		t.Errorf("calls, not sent: %v", err)
	}
	if _, err := c.svc.BeginContact(asAlice, "alice", auth.KindSMS, "+1 650 253 0000", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("no codes at all: %v", err)
	}
	if _, err := svc.BeginContact(asAlice, "alice", auth.KindSMS, "12", ""); !errors.Is(err, ErrInvalid) || len(box.Sent()) != 0 {
		t.Errorf("a bad number: %v, %d sent", err, len(box.Sent()))
	}
	proof, err := svc.BeginContact(asAlice, "alice", auth.KindSMS, "650 253 0000", "")
	if err != nil {
		t.Fatal(err)
	}
	if proof.To != "by text message to •••-•••-0000" || len(c.devices(t, "alice")) != 1 {
		t.Fatalf("proof to %q, devices %+v: want nothing stored yet", proof.To, c.devices(t, "alice"))
	}
	if m := box.Sent()[0]; m.To != "+16502530000" || m.Channel != delivery.SMS {
		t.Errorf("sent %+v", m)
	}
	code := box.Last(t).Code
	if _, err := svc.ConfirmContact(asBob, proof, code, ConfirmOptions{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("bob confirming alice's phone: %v", err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if _, err := svc.ConfirmContact(asAlice, proof, wrong, ConfirmOptions{}); !errors.Is(err, factors.ErrInvalidCode) || errors.Is(err, otc.ErrExpired) {
		t.Errorf("a wrong code: %v", err)
	}
	// A right code, too late: expired, so the site offers a new one.
	c.clk.Add(otc.DefaultTTL + time.Second)
	if _, err := svc.ConfirmContact(asAlice, proof, code, ConfirmOptions{}); !errors.Is(err, otc.ErrExpired) {
		t.Errorf("an expired code: %v", err)
	}
	proof, err = svc.BeginContact(asAlice, "alice", auth.KindSMS, "+1 650 253 0000", "my phone")
	if err != nil {
		t.Fatal(err)
	}
	// From a session signed in a while ago: a proof of another device too.
	if _, err := svc.ConfirmContact(asAlice, proof, box.Last(t).Code, ConfirmOptions{NeedProof: true, Proof: "123456"}); !errors.Is(err, ErrBadProof) {
		t.Errorf("a wrong proof: %v", err)
	}
	id, err := svc.ConfirmContact(asAlice, proof, box.Last(t).Code, ConfirmOptions{NeedProof: true, Proof: c.code(t, c.totpSecret, 0)})
	if err != nil {
		t.Fatal(err)
	}
	d := deviceByID(t, c.devices(t, "alice"), id)
	if d.Kind != auth.KindSMS || d.Label != "my phone" || d.To != "•••-•••-0000" || d.CreatedBy != "" || !d.ExpiresAt.IsZero() {
		t.Errorf("stored %+v", d)
	}
	if a := c.lastAdmin(t); a.Detail != "sms.enroll "+id || a.Client != "alice" {
		t.Errorf("audit %+v", a)
	}
	// The proof is spent with its device: it adds no second one.
	if _, err := svc.ConfirmContact(asAlice, proof, box.Last(t).Code, ConfirmOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("the proof confirmed twice: %v", err)
	}
	if _, err := svc.BeginContact(asAlice, "alice", auth.KindSMS, "+16502530000", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("a number alice has: %v", err)
	}
	// bob's first device is an email address; beside another, a first
	// device is refused.
	mail, err := svc.BeginContact(asBob, "bob", auth.KindEmail, "bob@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ConfirmContact(asBob, mail, box.Last(t).Code, ConfirmOptions{First: true}); err != nil {
		t.Fatal(err)
	}
	if ds := c.devices(t, "bob"); len(ds) != 1 || ds[0].Kind != auth.KindEmail || ds[0].To != "b•••@example.com" {
		t.Errorf("bob's devices %+v", ds)
	}
	second, err := svc.BeginContact(asBob, "bob", auth.KindSMS, "+1 585 555 0123", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ConfirmContact(asBob, second, box.Last(t).Code, ConfirmOptions{First: true}); !errors.Is(err, ErrAccountChanged) {
		t.Errorf("a first device beside another: %v", err)
	}
	// Another user's proof is refused.
	if _, err := svc.ConfirmContact(asAlice, second, box.Last(t).Code, ConfirmOptions{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("alice confirming bob's proof: %v", err)
	}
}

// A send refused by the rate limit or failed at the provider says so.
func TestBeginContactSendFailures(t *testing.T) {
	c := newConsole(t, nil)
	svc, box := c.withCodes(t, 2, phone.Rules{})
	for range 2 {
		if _, err := svc.BeginContact(asAlice, "alice", auth.KindSMS, "+1 650 253 0000", ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.BeginContact(asAlice, "alice", auth.KindSMS, "+1 650 253 0000", ""); !errors.Is(err, auth.ErrCodeLimited) {
		t.Errorf("over the limit: %v", err)
	}
	box.Fail(errors.New("gateway down"))
	if _, err := svc.BeginContact(asBob, "bob", auth.KindEmail, "bob@example.com", ""); !errors.Is(err, auth.ErrCodeNotSent) {
		t.Errorf("provider down: %v", err)
	}
}
