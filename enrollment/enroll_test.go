package enrollment

import (
	"context"
	"encoding/base32"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"radiusmfa/store"
)

var secretRe = regexp.MustCompile(`<code id="secret">([A-Z2-7 ]+)</code>`)

// codeFor computes the code of the secret shown on the page at t.
func codeFor(t *testing.T, page string, at time.Time) string {
	t.Helper()
	m := secretRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no secret on the page:\n%s", page)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	if _, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret); err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	code, err := pqtotp.GenerateCodeCustom(secret, at, pqtotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestEnrollTOTP(t *testing.T) {
	fx := newSiteFixture(t)
	// bob has the right password and no device: enrollment only.
	c := sessionOf(t, fx.do("POST", "/signin", url.Values{"user": {"bob"}, "password": {"pw"}}))
	if w := fx.do("GET", "/enroll", nil); w.Code != http.StatusSeeOther {
		t.Fatalf("GET /enroll without a session: %d", w.Code)
	}
	w := fx.do("GET", "/enroll", nil, c)
	page := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(page, `src="data:image/png;base64,`) {
		t.Fatalf("GET /enroll: %d\n%s", w.Code, page)
	}
	// The same secret until confirmed.
	if again := fx.do("GET", "/enroll", nil, c).Body.String(); secretRe.FindString(again) != secretRe.FindString(page) {
		t.Error("reloading the page made a new secret")
	}
	// A wrong code stores nothing.
	wrong := codeFor(t, page, fx.now.Add(-10*time.Minute))
	if w := fx.do("POST", "/enroll", url.Values{"code": {wrong}}, c); w.Code != http.StatusBadRequest || len(fx.devices(t, "bob")) != 0 {
		t.Fatalf("wrong code: %d, devices %v", w.Code, fx.devices(t, "bob"))
	}
	code := codeFor(t, page, fx.now)
	if w := fx.do("POST", "/enroll", url.Values{"code": {code}}, c); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/me?done=enrolled" {
		t.Fatalf("right code: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	devs := fx.devices(t, "bob")
	if len(devs) != 1 || devs[0].Kind != "totp" || devs[0].User != "bob" || len(devs[0].Secret) != 20 ||
		devs[0].Counter != uint64(fx.now.Unix()/30) {
		t.Fatalf("stored device %+v: want bob's totp with the confirming step already used", devs)
	}
	// The secret is never shown again, and the session is now a full one.
	w = fx.do("GET", "/me", nil, c)
	if strings.Contains(w.Body.String(), "no device yet") || !strings.Contains(w.Body.String(), "Authenticator app") {
		t.Errorf("after enrolling: %s", w.Body)
	}
	if next := fx.do("GET", "/enroll", nil, c).Body.String(); secretRe.FindString(next) == secretRe.FindString(page) {
		t.Error("the enrolled secret was shown again")
	}
	recs, err := fx.st.RecentAudit(context.Background(), 1)
	if err != nil || len(recs) != 1 || recs[0].User != "bob" || recs[0].Kind != "admin" || recs[0].Client != "bob" ||
		!strings.HasPrefix(recs[0].Detail, "totp.enroll ") {
		t.Errorf("audit: %+v, %v", recs, err)
	}
}

func TestEnrollGivesUpAfterWrongCodes(t *testing.T) {
	fx := newSiteFixture(t)
	c := sessionOf(t, fx.do("POST", "/signin", url.Values{"user": {"bob"}, "password": {"pw"}}))
	first := fx.do("GET", "/enroll", nil, c).Body.String()
	var w interface{ Result() *http.Response }
	for range maxConfirmTries {
		w = fx.do("POST", "/enroll", url.Values{"code": {"000000"}}, c)
	}
	if r := w.Result(); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after %d wrong codes: %d, want a fresh start", maxConfirmTries, r.StatusCode)
	}
	if again := fx.do("GET", "/enroll", nil, c).Body.String(); secretRe.FindString(again) == secretRe.FindString(first) {
		t.Error("the secret survived too many wrong codes")
	}
	if len(fx.devices(t, "bob")) != 0 {
		t.Error("a device was stored")
	}
}

// TestEnrollRechecksTheAccount: a session outlives the state it was
// granted for, so confirming re-reads the account.
func TestEnrollRechecksTheAccount(t *testing.T) {
	fx := newSiteFixture(t)
	// An enrollment-only session cannot add a device beside one enrolled
	// meanwhile (by the user elsewhere, or by an admin).
	c := sessionOf(t, fx.do("POST", "/signin", url.Values{"user": {"bob"}, "password": {"pw"}}))
	page := fx.do("GET", "/enroll", nil, c).Body.String()
	if err := fx.st.AddEnrollment(context.Background(), store.Enrollment{ID: "real", User: "bob", Kind: "totp",
		Secret: make([]byte, 20), Digits: 6, Algorithm: "SHA1", Period: 30}); err != nil {
		t.Fatal(err)
	}
	w := fx.do("POST", "/enroll", url.Values{"code": {codeFor(t, page, fx.now)}}, c)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signin" || len(fx.devices(t, "bob")) != 1 {
		t.Fatalf("second device through a stale enrollment-only session: %d %q, devices %v", w.Code, w.Header().Get("Location"), fx.devices(t, "bob"))
	}
	if w := fx.do("GET", "/me", nil, c); w.Code != http.StatusSeeOther {
		t.Error("the stale session was not ended")
	}
	// A locked account adds nothing, even from a full session.
	c = sessionOf(t, fx.do("POST", "/signin", url.Values{"user": {"alice"}, "password": {"pw"}, "code": {"123456"}}))
	page = fx.do("GET", "/enroll", nil, c).Body.String()
	if err := fx.st.UpdateUser(context.Background(), "alice", func(u *store.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if w := fx.do("POST", "/enroll", url.Values{"code": {codeFor(t, page, fx.now)}}, c); w.Header().Get("Location") != "/signin" || len(fx.devices(t, "alice")) != 1 {
		t.Fatalf("a locked account enrolled: %d, devices %v", w.Code, fx.devices(t, "alice"))
	}
	// A full session whose device the help desk disabled adds nothing.
	if err := fx.st.UpdateUser(context.Background(), "alice", func(u *store.User) error { u.Disabled = false; return nil }); err != nil {
		t.Fatal(err)
	}
	c = sessionOf(t, fx.do("POST", "/signin", url.Values{"user": {"alice"}, "password": {"pw"}, "code": {"123456"}}))
	page = fx.do("GET", "/enroll", nil, c).Body.String()
	if err := fx.st.UpdateEnrollment(context.Background(), "alice", "d1", func(e *store.Enrollment) error { e.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if w := fx.do("POST", "/enroll", url.Values{"code": {codeFor(t, page, fx.now)}}, c); w.Header().Get("Location") != "/signin" || len(fx.devices(t, "alice")) != 1 {
		t.Fatalf("a session of a disabled device enrolled: %d, devices %v", w.Code, fx.devices(t, "alice"))
	}
}

func TestEnrollConcurrentConfirmsStoreOneDevice(t *testing.T) {
	fx := newSiteFixture(t)
	c := sessionOf(t, fx.do("POST", "/signin", url.Values{"user": {"bob"}, "password": {"pw"}}))
	page := fx.do("GET", "/enroll", nil, c).Body.String()
	code := codeFor(t, page, fx.now)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { fx.do("POST", "/enroll", url.Values{"code": {code}}, c) })
	}
	wg.Wait()
	if n := len(fx.devices(t, "bob")); n != 1 {
		t.Fatalf("%d devices stored from one secret, want 1", n)
	}
}

func TestSessionsPerUserAreBounded(t *testing.T) {
	fx := newSiteFixture(t)
	var cookies []*http.Cookie
	for range maxUserSessions + 1 {
		cookies = append(cookies, sessionOf(t, fx.do("POST", "/signin", url.Values{"user": {"alice"}, "password": {"pw"}, "code": {"123456"}})))
		fx.now = fx.now.Add(time.Second)
	}
	if w := fx.do("GET", "/me", nil, cookies[0]); w.Code != http.StatusSeeOther {
		t.Error("the oldest session survived past the per-user bound")
	}
	if w := fx.do("GET", "/me", nil, cookies[len(cookies)-1]); w.Code != http.StatusOK {
		t.Error("the newest session was ended")
	}
}
