package otc_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"radiusmfa/auth"
	"radiusmfa/factors"
	"radiusmfa/factors/delivery"
	"radiusmfa/factors/factortest"
	"radiusmfa/factors/otc"
	phonenumber "radiusmfa/factors/phone"
	"radiusmfa/store"
)

type senderFixture struct {
	s   *otc.Sender
	db  *factortest.DB
	clk *clock
	box map[string]*factortest.Outbox
	reg *prometheus.Registry
}

func newSender(t *testing.T, o otc.SenderOptions) *senderFixture {
	t.Helper()
	f := &senderFixture{db: factortest.OpenBolt(t), clk: &clock{t: time.Date(2026, 11, 23, 9, 14, 0, 0, time.UTC)},
		box: map[string]*factortest.Outbox{auth.KindSMS: {}, auth.KindVoice: {}, auth.KindEmail: {}}, reg: prometheus.NewRegistry()}
	o.Codes.Now = f.clk.Now
	o.Providers = map[string]delivery.Provider{}
	for k, b := range f.box {
		o.Providers[k] = b
	}
	o.Registerer, o.Log = f.reg, slog.New(slog.DiscardHandler)
	s, err := otc.NewSender(f.db, o)
	if err != nil {
		t.Fatal(err)
	}
	f.s = s
	return f
}

// device stores a device of kind sending to dest for user.
func (f *senderFixture) device(t *testing.T, user, id, kind, dest string) store.Enrollment {
	t.Helper()
	e, err := otc.NewEnrollment(user, id, kind, "", dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.db.Add(t, e)
	return f.db.Stored(t, e)
}

func (f *senderFixture) verify(t *testing.T, e store.Enrollment, code string) error {
	t.Helper()
	for _, fac := range f.s.Factors() {
		if fac.Kind() == e.Kind {
			return fac.Verify(ctx, f.db.Stored(t, e), code)
		}
	}
	t.Fatalf("no factor of kind %s", e.Kind)
	return nil
}

func TestSenderSendsEachKind(t *testing.T) {
	f := newSender(t, otc.SenderOptions{Issuer: "Example VPN"})
	cases := []struct {
		kind, dest, to, describe string
	}{
		{auth.KindSMS, "+15855553816", "by text message to •••-•••-3816", "Text message to •••-•••-3816"},
		{auth.KindVoice, "+442079460456", "by phone call to +44 ••••••0456", "Phone call to +44 ••••••0456"},
		{auth.KindEmail, "ckim@example.com", "by email to cki•••@example.com", "Email to cki•••@example.com"},
	}
	for i, c := range cases {
		e := f.device(t, "alice", fmt.Sprint("d", i), c.kind, c.dest)
		if got := f.s.Describe(e); got != c.describe {
			t.Errorf("Describe(%s) = %q", c.kind, got)
		}
		sent, err := f.s.SendCode(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if sent.To != c.to || !sent.Expires.Equal(f.clk.Now().Add(10*time.Minute)) {
			t.Errorf("%s: sent %+v", c.kind, sent)
		}
		m := f.box[c.kind].Last(t)
		if m.To != c.dest || string(m.Channel) != c.kind || !factors.IsDigits(m.Code, 6) {
			t.Fatalf("%s: message %+v", c.kind, m)
		}
		switch c.kind {
		case auth.KindSMS:
			if want := "Your Example VPN code is " + m.Code + ". It expires in 10 minutes."; m.Text != want {
				t.Errorf("text message %q", m.Text)
			}
		case auth.KindVoice:
			if want := "Your Example VPN code is " + otc.Spoken(m.Code) + "."; m.Text != want || !strings.Contains(m.Text, m.Code[:1]+", "+m.Code[1:2]) {
				t.Errorf("call %q", m.Text)
			}
		case auth.KindEmail:
			if m.Subject != "Your Example VPN sign-in code" || !strings.Contains(m.Text, m.Code) ||
				!strings.Contains(m.HTML, "<strong>"+m.Code+"</strong>") {
				t.Errorf("email %q %q %q", m.Subject, m.Text, m.HTML)
			}
		}
		if err := f.verify(t, e, m.Code); err != nil {
			t.Fatalf("%s: the sent code: %v", c.kind, err)
		}
		if err := f.verify(t, e, m.Code); !errors.Is(err, factors.ErrInvalidCode) && !errors.Is(err, factors.ErrReplayed) {
			t.Fatalf("%s: the sent code twice: %v", c.kind, err)
		}
	}
	for _, k := range []string{auth.KindSMS, auth.KindVoice, auth.KindEmail} {
		if n := counter(t, f.reg, "radiusmfa_codes_sent_total", k); n != 1 {
			t.Errorf("sent %s counted %v", k, n)
		}
	}
}

// counter reads one channel's value of a counter family.
func counter(t *testing.T, reg *prometheus.Registry, name, channel string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "channel" && l.GetValue() == channel {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

func TestSenderResendReplaces(t *testing.T) {
	f := newSender(t, otc.SenderOptions{})
	e := f.device(t, "alice", "p1", auth.KindSMS, "+15855553816")
	f.s.SendCode(ctx, e)
	first := f.box[auth.KindSMS].Last(t).Code
	f.s.SendCode(ctx, e)
	second := f.box[auth.KindSMS].Last(t).Code
	if first != second {
		if err := f.verify(t, e, first); !errors.Is(err, factors.ErrInvalidCode) {
			t.Fatalf("the replaced code: %v", err)
		}
	}
	if err := f.verify(t, e, second); err != nil {
		t.Fatalf("the new code: %v", err)
	}
}

func TestSenderRateLimits(t *testing.T) {
	f := newSender(t, otc.SenderOptions{PerUser: 3, Window: 10 * time.Minute, HourlyBudget: 5})
	a := f.device(t, "alice", "a1", auth.KindSMS, "+15855553816")
	b := f.device(t, "bob", "b1", auth.KindEmail, "bob@example.com")
	for i := range 3 {
		if _, err := f.s.SendCode(ctx, a); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	_, err := f.s.SendCode(ctx, a)
	if !errors.Is(err, auth.ErrCodeLimited) || strings.Contains(err.Error(), "budget") {
		t.Fatalf("a fourth send to alice: %v", err)
	}
	// Bob has his own limit, but the server's budget is shared.
	for i := range 2 {
		if _, err := f.s.SendCode(ctx, b); err != nil {
			t.Fatalf("bob's send %d: %v", i+1, err)
		}
	}
	if _, err := f.s.SendCode(ctx, b); !errors.Is(err, auth.ErrCodeLimited) || !strings.Contains(err.Error(), "budget") {
		t.Fatalf("past the budget: %v", err)
	}
	if n := counter(t, f.reg, "radiusmfa_codes_limited_total", auth.KindSMS); n != 1 {
		t.Errorf("limited sms counted %v", n)
	}
	// The window ends for alice; the hour is not over for the budget.
	f.clk.Add(10 * time.Minute)
	if _, err := f.s.SendCode(ctx, a); !errors.Is(err, auth.ErrCodeLimited) || !strings.Contains(err.Error(), "budget") {
		t.Fatalf("alice after her window, within the hour: %v", err)
	}
	f.clk.Add(50 * time.Minute)
	if _, err := f.s.SendCode(ctx, a); err != nil {
		t.Fatalf("after the hour: %v", err)
	}
}

func TestSenderProviderFailure(t *testing.T) {
	f := newSender(t, otc.SenderOptions{PerUser: 2})
	e := f.device(t, "alice", "p1", auth.KindSMS, "+15855553816")
	f.box[auth.KindSMS].Fail(errors.New("gateway: HTTP 503"))
	for range 3 { // more than the limit: failed sends give the user's share back
		_, err := f.s.SendCode(ctx, e)
		if !errors.Is(err, auth.ErrCodeNotSent) || !strings.Contains(err.Error(), "HTTP 503") {
			t.Fatalf("failed send: %v", err)
		}
	}
	if n := counter(t, f.reg, "radiusmfa_codes_send_failures_total", auth.KindSMS); n != 3 {
		t.Errorf("failures counted %v", n)
	}
	f.box[auth.KindSMS].Fail(nil)
	if _, err := f.s.SendCode(ctx, e); err != nil {
		t.Fatalf("once the gateway is back: %v", err)
	}
	// A refusal (a number the provider will not text) keeps its place:
	// one user could otherwise spend the server's hourly budget.
	f.box[auth.KindSMS].Fail(fmt.Errorf("twilio: 400: %w", delivery.ErrRefused))
	if _, err := f.s.SendCode(ctx, e); !errors.Is(err, auth.ErrCodeNotSent) {
		t.Fatalf("refused: %v", err)
	}
	if _, err := f.s.SendCode(ctx, e); !errors.Is(err, auth.ErrCodeLimited) {
		t.Fatalf("after a refusal, at the limit of 2: %v", err)
	}
}

func TestSenderRefusesAKindItDoesNotSend(t *testing.T) {
	f := newSender(t, otc.SenderOptions{})
	e := f.device(t, "alice", "t1", "totp", "+15855553816")
	if _, err := f.s.SendCode(ctx, e); err == nil || errors.Is(err, auth.ErrCodeNotSent) {
		t.Fatalf("a totp device: %v", err)
	}
	if _, err := otc.NewSender(f.db, otc.SenderOptions{SMSMessage: "{{.Nope}}",
		Providers: map[string]delivery.Provider{auth.KindSMS: &factortest.Outbox{}}}); err == nil {
		t.Fatal("a message with an unknown field was taken")
	}
}

func TestSenderProof(t *testing.T) {
	f := newSender(t, otc.SenderOptions{})
	p, err := f.s.SendProof(ctx, "alice", auth.KindEmail, "ckim@example.com", "Work email")
	if err != nil {
		t.Fatal(err)
	}
	code := f.box[auth.KindEmail].Last(t).Code
	if p.To != "by email to cki•••@example.com" || p.Enrollment.Kind != auth.KindEmail || p.Enrollment.User != "alice" ||
		p.Enrollment.Label != "Work email" || p.Enrollment.ID == "" {
		t.Fatalf("proof %+v", p)
	}
	if dest, _ := otc.Destination(p.Enrollment); dest != "ckim@example.com" {
		t.Fatalf("destination %q", dest)
	}
	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
	if err := f.s.CheckProof(p, wrong); !errors.Is(err, factors.ErrInvalidCode) {
		t.Fatalf("wrong code: %v", err)
	}
	if err := f.s.CheckProof(p, code); err != nil {
		t.Fatalf("right code: %v", err)
	}
	f.clk.Add(10 * time.Minute)
	if err := f.s.CheckProof(p, code); !errors.Is(err, otc.ErrExpired) {
		t.Fatalf("after 10 minutes: %v", err)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestSyncDirectory(t *testing.T) {
	f := newSender(t, otc.SenderOptions{Directory: otc.DirectoryOptions{Phone: true, Mail: true},
		PhoneRules: phonenumber.Rules{DefaultRegion: "US"}})
	if err := f.db.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	own := f.device(t, "alice", "own", auth.KindSMS, "+15855550001")
	got, err := f.s.SyncDirectory(ctx, "alice", store.Profile{Phone: "(585) 555-3816", Mail: "Alice@Example.COM"}, []store.Enrollment{own})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := f.db.Enrollments(ctx, "alice")
	if len(got) != 3 || len(stored) != 3 {
		t.Fatalf("devices %d, stored %d", len(got), len(stored))
	}
	dests := map[string]string{}
	for _, e := range stored {
		d, _ := otc.Destination(e)
		if e.ID != own.ID && e.CreatedBy != otc.FromDirectory {
			t.Errorf("made by %q", e.CreatedBy)
		}
		dests[e.Kind+" "+e.CreatedBy] = d
	}
	if dests["sms directory"] != "+15855553816" || dests["email directory"] != "Alice@example.com" {
		t.Fatalf("destinations %v", dests)
	}
	// Nothing changed: nothing written.
	again, err := f.s.SyncDirectory(ctx, "alice", store.Profile{Phone: "+1 585 555 3816", Mail: "Alice@EXAMPLE.com"}, stored)
	if err != nil || len(again) != 3 {
		t.Fatalf("again: %d %v", len(again), err)
	}
	after, _ := f.db.Enrollments(ctx, "alice")
	for i := range after {
		if after[i].ID != stored[i].ID {
			t.Fatalf("a device was replaced with nothing changed")
		}
	}
	// The help desk disables the directory phone; the number changes; the
	// new device is disabled too. The mail attribute goes: its device is
	// disabled, not removed.
	var phoneID, mailID string
	for _, e := range after {
		if e.CreatedBy == otc.FromDirectory && e.Kind == auth.KindSMS {
			phoneID = e.ID
		}
		if e.CreatedBy == otc.FromDirectory && e.Kind == auth.KindEmail {
			mailID = e.ID
		}
	}
	if err := f.db.UpdateEnrollment(ctx, "alice", phoneID, func(e *store.Enrollment) error { e.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	cur, _ := f.db.Enrollments(ctx, "alice")
	got, err = f.s.SyncDirectory(ctx, "alice", store.Profile{Phone: "+1 585 555 9999"}, cur)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ = f.db.Enrollments(ctx, "alice")
	if len(got) != 3 || len(stored) != 3 {
		t.Fatalf("after the change: %d devices, %d stored", len(got), len(stored))
	}
	for _, e := range stored {
		switch {
		case e.CreatedBy == otc.FromDirectory && e.Kind == auth.KindSMS:
			if d, _ := otc.Destination(e); d != "+15855559999" || !e.Disabled || e.ID == phoneID {
				t.Fatalf("the new directory phone: %s %v %s", d, e.Disabled, e.ID)
			}
		case e.ID == mailID:
			if !e.Disabled {
				t.Fatal("the directory address that went is still enabled")
			}
		}
	}
	// A number that is not one disables the directory phone; alice keeps
	// her own, and no device is removed.
	got, _ = f.s.SyncDirectory(ctx, "alice", store.Profile{Phone: "call reception"}, stored)
	if len(got) != 3 {
		t.Fatalf("an unreadable number: %d devices", len(got))
	}
	for _, e := range got {
		if e.ID != own.ID && !e.Disabled {
			t.Fatalf("directory device %s (%s) still enabled", e.ID, e.Kind)
		}
	}
}

// A number the user added themself is not added again from the directory.
func TestSyncDirectoryKeepsTheUsersOwn(t *testing.T) {
	f := newSender(t, otc.SenderOptions{Directory: otc.DirectoryOptions{Phone: true},
		PhoneRules: phonenumber.Rules{DefaultRegion: "US"}})
	own := f.device(t, "alice", "own", auth.KindSMS, "+15855553816")
	got, err := f.s.SyncDirectory(ctx, "alice", store.Profile{Phone: "585-555-3816"}, []store.Enrollment{own})
	if err != nil || len(got) != 1 || got[0].ID != own.ID {
		t.Fatalf("got %d devices, %v", len(got), err)
	}
	if stored, _ := f.db.Enrollments(ctx, "alice"); len(stored) != 1 {
		t.Fatalf("stored %d devices", len(stored))
	}
}
