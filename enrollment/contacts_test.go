package enrollment

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"radiusmfa/auth"
	"radiusmfa/factors/delivery"
	"radiusmfa/factors/factortest"
	"radiusmfa/factors/otc"
	phonenumber "radiusmfa/factors/phone"
	"radiusmfa/store"
)

// codesOptions are the codes a test site sends.
type codesOptions struct {
	kinds   []string
	perUser int
	rules   phonenumber.Rules
}

// newCodesSite is newRealSite whose server sends codes of kinds (all when
// none is named) to fx.box, perUser in 15 minutes (0: the default, 5),
// and reads US numbers, accepting only US and Canadian ones.
func newCodesSite(t *testing.T, perUser int, kinds ...string) *realSite {
	t.Helper()
	if len(kinds) == 0 {
		kinds = []string{auth.KindSMS, auth.KindVoice, auth.KindEmail}
	}
	return buildRealSite(t, &codesOptions{kinds: kinds, perUser: perUser,
		rules: phonenumber.Rules{DefaultRegion: "US", Allowed: []string{"US", "CA"}}})
}

// sender is the sender of the codes o names, delivering to a new fx.box;
// nil for no codes.
func (fx *realSite) sender(o *codesOptions) *otc.Sender {
	if o == nil {
		return nil
	}
	fx.box = &factortest.Outbox{}
	providers := map[string]delivery.Provider{}
	for _, k := range o.kinds {
		providers[k] = fx.box
	}
	s, err := otc.NewSender(fx.st, otc.SenderOptions{Codes: otc.Options{Now: fx.clock}, Providers: providers,
		PerUser: o.perUser, PhoneRules: o.rules, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		fx.t.Fatal(err)
	}
	return s
}

// later moves the clock on by d.
func (fx *realSite) later(d time.Duration) {
	fx.mu.Lock()
	fx.now = fx.now.Add(d)
	fx.mu.Unlock()
}

// storedContacts are user's devices of kind.
func (fx *realSite) storedContacts(user, kind string) []store.Enrollment {
	fx.t.Helper()
	es, err := fx.st.Enrollments(context.Background(), user)
	if err != nil {
		fx.t.Fatal(err)
	}
	var out []store.Enrollment
	for _, e := range es {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// expect fails the test unless w has status and its body holds every want.
func expect(t *testing.T, what string, w interface {
	Result() *http.Response
}, status int, body string, want ...string) {
	t.Helper()
	if code := w.Result().StatusCode; code != status {
		t.Errorf("%s: status %d, want %d\n%s", what, code, status, body)
		return
	}
	for _, s := range want {
		if !strings.Contains(body, s) {
			t.Errorf("%s: no %q in\n%s", what, s, body)
		}
	}
}

func TestAddPhone(t *testing.T) {
	fx := newCodesSite(t, 0)
	fx.addUser("alice")
	_, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)
	me := fx.do("GET", "/me", nil, c).Body.String()
	if !strings.Contains(me, `href="/enroll/phone"`) || !strings.Contains(me, `href="/enroll/email"`) {
		t.Fatalf("the account page offers no phone or address:\n%s", me)
	}
	w := fx.do("GET", "/enroll/phone", nil, c)
	expect(t, "the form", w, http.StatusOK, w.Body.String(), `name="to"`, `value="sms" class="check" checked`, `value="voice"`)

	// A refused number comes back with what was typed and what is wrong.
	w = fx.do("POST", "/enroll/phone", url.Values{"to": {"+49 30 1234567"}, "kind": {"voice"}, "label": {"desk"}}, c)
	expect(t, "a German number", w, http.StatusBadRequest, w.Body.String(), `value="&#43;49 30 1234567"`,
		"Numbers of this country are not allowed (DE); allowed: US, CA.", `value="voice" class="check" checked`, `value="desk"`)
	w = fx.do("POST", "/enroll/phone", url.Values{"to": {"555-01"}}, c)
	expect(t, "a short number", w, http.StatusBadRequest, w.Body.String(), `value="555-01"`, "Not a valid phone number")
	if len(fx.box.Sent()) != 0 {
		t.Fatalf("%d codes sent to refused numbers", len(fx.box.Sent()))
	}

	w = fx.do("POST", "/enroll/phone", url.Values{"to": {"(585) 555-0123"}, "kind": {"voice"}, "label": {"desk"}}, c)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/enroll/code" {
		t.Fatalf("sending the code: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	first := fx.box.Last(t)
	if first.To != "+15855550123" || first.Channel != delivery.Voice {
		t.Fatalf("sent %+v", first)
	}
	w = fx.do("GET", "/enroll/code", nil, c)
	expect(t, "the code page", w, http.StatusOK, w.Body.String(), "Enter the code sent by phone call to •••-•••-0123.",
		`action="/enroll/code/resend"`)
	if len(fx.storedContacts("alice", auth.KindVoice)) != 0 {
		t.Fatal("the phone was stored before its code was entered")
	}
	w = fx.do("POST", "/enroll/code", url.Values{"code": {wrongCode(first.Code)}}, c)
	expect(t, "a wrong code", w, http.StatusBadRequest, w.Body.String(), "That code does not match")

	// A new code replaces the first.
	w = fx.do("POST", "/enroll/code/resend", url.Values{}, c)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/enroll/code?sent=again" || len(fx.box.Sent()) != 2 {
		t.Fatalf("resend: %d %q, %d sent", w.Code, w.Header().Get("Location"), len(fx.box.Sent()))
	}
	w = fx.do("GET", "/enroll/code?sent=again", nil, c)
	expect(t, "after resend", w, http.StatusOK, w.Body.String(), "A new code was sent")
	second := fx.box.Last(t)
	if second.Code != first.Code {
		w = fx.do("POST", "/enroll/code", url.Values{"code": {first.Code}}, c)
		expect(t, "the replaced code", w, http.StatusBadRequest, w.Body.String(), "That code does not match")
	}

	// Entered too late: it expired, and the page says to send a new one.
	fx.later(otc.DefaultTTL + time.Second)
	w = fx.do("POST", "/enroll/code", url.Values{"code": {second.Code}}, c)
	expect(t, "an expired code", w, http.StatusBadRequest, w.Body.String(), "That code has expired: send a new one.")
	fx.do("POST", "/enroll/code/resend", url.Values{}, c)
	third := fx.box.Last(t)

	// The session signed in over 5 minutes ago: a current code of the
	// app is asked for too.
	w = fx.do("GET", "/enroll/code", nil, c)
	expect(t, "the code page of an older session", w, http.StatusOK, w.Body.String(), `name="proof"`)
	w = fx.do("POST", "/enroll/code", url.Values{"code": {third.Code}, "proof": {"000000"}}, c)
	expect(t, "no proof", w, http.StatusForbidden, w.Body.String(), "current code from one of your existing devices")
	w = fx.do("POST", "/enroll/code", url.Values{"code": {third.Code}, "proof": {fx.code(secret)}}, c)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/me?done=enrolled" {
		t.Fatalf("confirming: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	stored := fx.storedContacts("alice", auth.KindVoice)
	if len(stored) != 1 || stored[0].Label != "desk" {
		t.Fatalf("stored %+v", stored)
	}
	if a := fx.lastAudit(1)[0]; a.Detail != "voice.enroll "+stored[0].ID || a.Client != "alice" {
		t.Errorf("audit %+v", a)
	}

	// A code sent at a login leaves an expiry in the store: it is the
	// code's, never shown as the phone's.
	if d := fx.radius("alice", "phone"); d.Reason != auth.ReasonCodeSent {
		t.Fatalf("password,phone over RADIUS: %v/%s %q", d.Outcome, d.Reason, d.Message)
	}
	if e := fx.storedContacts("alice", auth.KindVoice)[0]; e.ExpiresAt.IsZero() {
		t.Fatal("no code outstanding")
	}
	fx.tick()
	me = fx.do("GET", "/me", nil, c).Body.String()
	row := rowOf(t, me, stored[0].ID)
	for _, want := range []string{"Phone (calls)", "desk", "to •••-•••-0123", "active", "Rename", "Make preferred", "Remove…"} {
		if !strings.Contains(row, want) {
			t.Errorf("the phone's row has no %q:\n%s", want, row)
		}
	}
	if strings.Contains(row, "until") {
		t.Errorf("the phone's row shows an expiry:\n%s", row)
	}
	// Renamed and preferred as any device.
	if w := fx.do("POST", "/me/devices/"+stored[0].ID+"/prefer", url.Values{}, c); w.Code != http.StatusSeeOther {
		t.Errorf("prefer: %d", w.Code)
	}
	if w := fx.do("POST", "/me/devices/"+stored[0].ID+"/rename", url.Values{"label": {"office"}}, c); w.Code != http.StatusSeeOther {
		t.Errorf("rename: %d", w.Code)
	}
	if e := fx.storedContacts("alice", auth.KindVoice)[0]; e.Label != "office" || !e.Preferred {
		t.Errorf("after rename and prefer: %+v", e)
	}
}

// wrongCode is a code of the same length that is not code.
func wrongCode(code string) string {
	if strings.HasPrefix(code, "0") {
		return "1" + code[1:]
	}
	return "0" + code[1:]
}

// rowOf is the account page's table row of the device id.
func rowOf(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `<tr id="device-`+id+`">`)
	if i < 0 {
		t.Fatalf("no row of device %s in\n%s", id, page)
	}
	row, _, _ := strings.Cut(page[i:], "</tr>")
	return row
}

// Too many wrong codes drop the pending phone: the form comes back filled
// in, to send a new code.
func TestContactGivesUpAfterWrongCodes(t *testing.T) {
	fx := newCodesSite(t, 0, auth.KindSMS)
	fx.addUser("alice")
	_, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)
	if w := fx.do("GET", "/enroll/phone", nil, c); strings.Contains(w.Body.String(), `value="voice"`) ||
		!strings.Contains(w.Body.String(), `name="to"`) {
		t.Errorf("a form offering calls the server does not make:\n%s", w.Body)
	}
	fx.do("POST", "/enroll/phone", url.Values{"to": {"+1 650 253 0000"}}, c)
	code := fx.box.Last(t).Code
	var w interface{ Result() *http.Response }
	var body string
	for range maxConfirmTries {
		rec := fx.do("POST", "/enroll/code", url.Values{"code": {wrongCode(code)}}, c)
		w, body = rec, rec.Body.String()
	}
	expect(t, "the last wrong code", w, http.StatusBadRequest, body, "Too many wrong codes", `value="&#43;16502530000"`)
	if w := fx.do("GET", "/enroll/code", nil, c); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/me" {
		t.Errorf("the dropped phone's code page: %d %q", w.Code, w.Header().Get("Location"))
	}
	if w := fx.do("POST", "/enroll/code", url.Values{"code": {code}}, c); w.Code != http.StatusSeeOther || len(fx.storedContacts("alice", auth.KindSMS)) != 0 {
		t.Errorf("the right code after the phone was dropped: %d, stored %v", w.Code, fx.storedContacts("alice", auth.KindSMS))
	}
	if a := fx.lastAudit(1)[0]; a.Kind != "web" || a.Detail != "sms.enroll refused: too many wrong codes" {
		t.Errorf("audit %+v", a)
	}
}

// A code that could not be sent says why, and keeps what was typed; a
// refused new code keeps the one sent before.
func TestContactSendFailures(t *testing.T) {
	fx := newCodesSite(t, 2)
	fx.addUser("alice")
	_, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)
	fx.box.Fail(errors.New("gateway down"))
	w := fx.do("POST", "/enroll/email", url.Values{"to": {"alice@example.com"}}, c)
	expect(t, "provider down", w, http.StatusServiceUnavailable, w.Body.String(), auth.MsgCodeNotSent, `value="alice@example.com"`)
	fx.box.Fail(nil)
	fx.do("POST", "/enroll/phone", url.Values{"to": {"+1 650 253 0000"}}, c)
	fx.do("POST", "/enroll/code/resend", url.Values{}, c)
	code := fx.box.Last(t).Code
	w = fx.do("POST", "/enroll/code/resend", url.Values{}, c)
	expect(t, "a third code", w, http.StatusTooManyRequests, w.Body.String(), auth.MsgCodeLimited, "Enter the code sent by text message to •••-•••-0000")
	w = fx.do("POST", "/enroll/phone", url.Values{"to": {"+1 585 555 0123"}}, c)
	expect(t, "another phone, over the limit", w, http.StatusTooManyRequests, w.Body.String(), auth.MsgCodeLimited, `value="&#43;1 585 555 0123"`)
	// The second phone's form replaced nothing: the first code still works.
	w = fx.do("POST", "/enroll/code", url.Values{"code": {code}}, c)
	if w.Code != http.StatusSeeOther || len(fx.storedContacts("alice", auth.KindSMS)) != 1 {
		t.Fatalf("the code kept: %d\n%s", w.Code, w.Body)
	}
}

// bob has no device: he signs in on his password and adds an email
// address as his first, which makes his session a full one.
func TestAddEmailAsFirstDevice(t *testing.T) {
	fx := newCodesSite(t, 0, auth.KindEmail)
	fx.addUser("bob")
	c := fx.signIn("bob", "")
	me := fx.do("GET", "/me", nil, c).Body.String()
	if !strings.Contains(me, "no device yet") || !strings.Contains(me, `href="/enroll/email"`) || strings.Contains(me, `href="/enroll/phone"`) {
		t.Fatalf("bob's page:\n%s", me)
	}
	if w := fx.do("GET", "/enroll/phone", nil, c); w.Code != http.StatusNotFound {
		t.Errorf("a phone form without phone codes: %d", w.Code)
	}
	w := fx.do("POST", "/enroll/email", url.Values{"to": {"bob at example"}}, c)
	expect(t, "a bad address", w, http.StatusBadRequest, w.Body.String(), "Not a valid email address", `value="bob at example"`)
	fx.do("POST", "/enroll/email", url.Values{"to": {"Bob.Jones@Example.COM"}}, c)
	m := fx.box.Last(t)
	if m.To != "Bob.Jones@example.com" || m.Channel != delivery.Email {
		t.Fatalf("sent %+v", m)
	}
	w = fx.do("GET", "/enroll/code", nil, c)
	expect(t, "the code page", w, http.StatusOK, w.Body.String(), "Enter the code sent by email to Bob•••@example.com.")
	if strings.Contains(w.Body.String(), `name="proof"`) {
		t.Error("a first device asked for a proof")
	}
	if w := fx.do("POST", "/enroll/code", url.Values{"code": {m.Code}}, c); w.Header().Get("Location") != "/me?done=enrolled" {
		t.Fatalf("confirming: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	me = fx.do("GET", "/me", nil, c).Body.String()
	if strings.Contains(me, "no device yet") || !strings.Contains(me, "to Bob•••@example.com") || !strings.Contains(me, "Email Bob•••@example.com") {
		t.Errorf("bob's page after adding his address:\n%s", me)
	}
	// The address is his second factor now: the password alone is no
	// longer enough.
	if w := fx.do("POST", "/signin", url.Values{"user": {"bob"}, "password": {"bob" + testPasswordSuffix}}); w.Code != http.StatusUnauthorized {
		t.Errorf("password alone after enrolling: %d", w.Code)
	}
}

// A user whose device is a phone signs in on the site: a button has a code
// sent, then the password and the code sign in.
func TestSignInWithSentCode(t *testing.T) {
	fx := newCodesSite(t, 0)
	fx.addUser("alice")
	if _, err := fx.svc.AddContact(local(), "alice", auth.KindSMS, "+1 585 555 0123", ""); err != nil {
		t.Fatal(err)
	}
	w := fx.do("GET", "/signin", nil)
	expect(t, "the form", w, http.StatusOK, w.Body.String(), `value="sms" formnovalidate>Text me a code`,
		`value="voice" formnovalidate>Call me with a code`, `value="email" formnovalidate>Email me a code`)
	pw := "alice" + testPasswordSuffix
	// A wrong password sends nothing.
	w = fx.do("POST", "/signin", url.Values{"user": {"alice"}, "password": {"wrong-password"}, "send": {"sms"}})
	expect(t, "a wrong password", w, http.StatusUnauthorized, w.Body.String(), msgSignInFailed)
	if len(fx.box.Sent()) != 0 {
		t.Fatal("a code was sent after a wrong password")
	}
	// No phone for calls: the user is told (the password was right), and
	// it is not counted toward the lockout.
	w = fx.do("POST", "/signin", url.Values{"user": {"alice"}, "password": {pw}, "send": {"voice"}})
	expect(t, "no such device", w, http.StatusUnauthorized, w.Body.String(), auth.MsgNoCodeDevice)
	if w := fx.do("POST", "/signin", url.Values{"user": {"alice"}, "password": {pw}, "send": {"fax"}}); w.Code != http.StatusBadRequest {
		t.Errorf("an unknown send button: %d", w.Code)
	}
	w = fx.do("POST", "/signin", url.Values{"user": {"alice"}, "password": {pw}, "code": {"123"}, "send": {"sms"}})
	body := w.Body.String()
	expect(t, "text me a code", w, http.StatusOK, body,
		"A code was sent by text message to •••-•••-0123. Enter your password again, and the code.", `value="alice"`)
	if strings.Contains(body, pw) {
		t.Error("the password was echoed into the page")
	}
	for _, ck := range w.Result().Cookies() {
		if ck.Name == sessionCookie {
			t.Error("sending a code started a session")
		}
	}
	m := fx.box.Last(t)
	if m.To != "+15855550123" || m.Channel != delivery.SMS {
		t.Fatalf("sent %+v", m)
	}
	c := fx.signIn("alice", m.Code)
	if w := fx.do("GET", "/me", nil, c); w.Code != http.StatusOK || strings.Contains(w.Body.String(), "no device yet") {
		t.Errorf("after signing in with the code: %d", w.Code)
	}
	// The code is spent.
	if w := fx.do("POST", "/signin", url.Values{"user": {"alice"}, "password": {pw}, "code": {m.Code}}); w.Code != http.StatusUnauthorized {
		t.Errorf("the code used twice: %d", w.Code)
	}
}

// A server that sends no codes offers none of it.
func TestNoCodesNoContacts(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	_, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)
	if me := fx.do("GET", "/me", nil, c).Body.String(); strings.Contains(me, "/enroll/phone") || strings.Contains(me, "/enroll/email") {
		t.Errorf("the account page offers phones:\n%s", me)
	}
	for _, path := range []string{"/enroll/phone", "/enroll/email"} {
		if w := fx.do("GET", path, nil, c); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, w.Code)
		}
		if w := fx.do("POST", path, url.Values{"to": {"+1 650 253 0000"}}, c); w.Code != http.StatusNotFound {
			t.Errorf("POST %s: %d", path, w.Code)
		}
	}
	if w := fx.do("GET", "/enroll/code", nil, c); w.Code != http.StatusSeeOther {
		t.Errorf("GET /enroll/code with nothing pending: %d", w.Code)
	}
	if page := fx.do("GET", "/signin", nil).Body.String(); strings.Contains(page, `name="send"`) {
		t.Errorf("the sign-in form offers to send codes:\n%s", page)
	}
	// Without a session, the pages send to the sign-in form.
	for _, r := range []struct{ method, path string }{{"GET", "/enroll/phone"}, {"POST", "/enroll/code"}, {"POST", "/enroll/code/resend"}} {
		if w := fx.do(r.method, r.path, url.Values{}); w.Header().Get("Location") != "/signin" {
			t.Errorf("%s %s without a session: %d %q", r.method, r.path, w.Code, w.Header().Get("Location"))
		}
	}
}

// The help desk adds a phone from the console, sees where codes go, and
// deletes it.
func TestConsoleContacts(t *testing.T) {
	fx := newCodesSite(t, 0, auth.KindSMS, auth.KindEmail)
	fx.addUser("helen", "helpdesk")
	_, hs := fx.addTOTP("helen")
	fx.addUser("alice")
	c := fx.signInTOTP("helen", hs)
	page := fx.do("GET", "/console/users/alice", nil, c).Body.String()
	if !strings.Contains(page, `<option value="sms">Text message</option>`) || strings.Contains(page, `value="voice"`) {
		t.Fatalf("the console's form:\n%s", page)
	}
	w := fx.do("POST", "/console/users/alice/contacts", url.Values{"kind": {"sms"}, "to": {"+49 30 1234567"}, "label": {"x"}}, c)
	expect(t, "a German number", w, http.StatusBadRequest, w.Body.String(), "not allowed (DE)", `value="&#43;49 30 1234567"`,
		`<option value="sms" selected>`)
	w = fx.do("POST", "/console/users/alice/contacts", url.Values{"kind": {"voice"}, "to": {"+1 650 253 0000"}}, c)
	expect(t, "a kind not sent", w, http.StatusBadRequest, w.Body.String(), "Choose how the codes go")
	w = fx.do("POST", "/console/users/alice/contacts", url.Values{"kind": {"sms"}, "to": {"650 253 0000"}}, c)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/users/alice?done=contact" {
		t.Fatalf("adding: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	stored := fx.storedContacts("alice", auth.KindSMS)
	if len(stored) != 1 || stored[0].CreatedBy != "helen" || len(fx.box.Sent()) != 0 {
		t.Fatalf("stored %+v, %d codes sent", stored, len(fx.box.Sent()))
	}
	page = fx.do("GET", "/console/users/alice?done=contact", nil, c).Body.String()
	if !strings.Contains(page, "to •••-•••-0000") || !strings.Contains(page, "The phone or email address was added") {
		t.Errorf("the user page after adding:\n%s", page)
	}
	id := stored[0].ID
	if w := fx.do("POST", "/console/users/alice/devices/"+id+"/disable", url.Values{}, c); w.Code != http.StatusSeeOther {
		t.Errorf("disable: %d", w.Code)
	}
	if d := fx.radius("alice", "sms"); d.Reason == auth.ReasonCodeSent {
		t.Error("a code was sent to a disabled phone")
	}
	if w := fx.do("GET", "/console/users/alice/devices/"+id+"/delete", nil, c); !strings.Contains(w.Body.String(), "•••-•••-0000") {
		t.Errorf("the delete page does not say where codes go:\n%s", w.Body)
	}
	if w := fx.do("POST", "/console/users/alice/devices/"+id+"/delete", url.Values{"confirm": {"yes"}}, c); w.Code != http.StatusSeeOther {
		t.Errorf("delete: %d", w.Code)
	}
	if n := len(fx.storedContacts("alice", auth.KindSMS)); n != 0 {
		t.Errorf("%d phones left after delete", n)
	}
	// Only staff.
	fx.addUser("bob")
	_, bs := fx.addTOTP("bob")
	bc := fx.signInTOTP("bob", bs)
	if w := fx.do("POST", "/console/users/alice/contacts", url.Values{"kind": {"sms"}, "to": {"+1 650 253 0000"}}, bc); w.Code != http.StatusNotFound {
		t.Errorf("bob adding alice's phone: %d", w.Code)
	}
}

// A code the sign-in form asked for that could not be sent says why.
func TestSignInSendFailures(t *testing.T) {
	fx := newCodesSite(t, 1, auth.KindSMS)
	fx.addUser("alice")
	if _, err := fx.svc.AddContact(local(), "alice", auth.KindSMS, "+1 585 555 0123", ""); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"user": {"alice"}, "password": {"alice" + testPasswordSuffix}, "send": {"sms"}}
	fx.box.Fail(errors.New("gateway down"))
	w := fx.do("POST", "/signin", form)
	expect(t, "provider down", w, http.StatusUnauthorized, w.Body.String(), auth.MsgCodeNotSent, `value="alice"`)
	fx.box.Fail(nil)
	if w := fx.do("POST", "/signin", form); w.Code != http.StatusOK {
		t.Fatalf("the first code: %d\n%s", w.Code, w.Body)
	}
	w = fx.do("POST", "/signin", form)
	expect(t, "over the limit", w, http.StatusTooManyRequests, w.Body.String(), auth.MsgCodeLimited, `value="alice"`)
}
