package enrollment

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"radiusmfa/admin"
	"radiusmfa/auth"
	"radiusmfa/store"
	"radiusmfa/store/bolt"
)

// fakeEngine accepts alice with "pw,123456", knows bob (no device) with
// "pw", and records what it was asked.
type fakeEngine struct {
	mu   sync.Mutex
	reqs []auth.Request
}

func (f *fakeEngine) Decide(_ context.Context, r auth.Request) auth.Decision {
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()
	switch {
	case r.UserName == "alice" && r.Password == "pw,123456":
		return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK, User: "alice", Factor: "totp"}
	case r.UserName == "alice" && r.Password == "pw":
		return auth.Decision{Outcome: auth.Reject, Reason: auth.ReasonPasscodeRequired, User: "alice", Message: auth.MsgFailed}
	case r.UserName == "bob" && r.Password == "pw":
		return auth.Decision{Outcome: auth.Reject, Reason: auth.ReasonNotEnrolled, User: "bob", Message: "enroll"}
	case r.UserName == "dora" && r.Password == "pw,87654321":
		// A directory admin signing in with a bypass code.
		return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK, User: "dora", Factor: auth.KindBypass, Groups: []string{"VPN-Admins"}}
	case r.UserName == "busy":
		return auth.Decision{Outcome: auth.Drop, Reason: auth.ReasonOverloaded}
	}
	return auth.Decision{Outcome: auth.Reject, Reason: auth.ReasonBadCredentials, User: r.UserName, Message: auth.MsgFailed}
}

type auditRecorder struct {
	mu   sync.Mutex
	recs []store.AuditRecord
}

func (a *auditRecorder) Record(r store.AuditRecord) {
	a.mu.Lock()
	a.recs = append(a.recs, r)
	a.mu.Unlock()
}

type siteFixture struct {
	h     http.Handler
	eng   *fakeEngine
	st    *bolt.DB
	audit *auditRecorder
	now   time.Time
}

// newSiteFixture is the site over a fake engine (alice: "pw,123456"; bob:
// "pw" and no device) and a real store and service: alice has the device
// "Pixel", bob none.
func newSiteFixture(t *testing.T) *siteFixture {
	fx := &siteFixture{eng: &fakeEngine{}, audit: &auditRecorder{}, now: time.Unix(1_800_000_000, 0)}
	clock := func() time.Time { return fx.now }
	st, err := bolt.Open(filepath.Join(t.TempDir(), "site.db"), make([]byte, 32), bolt.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fx.st = st
	for _, u := range []store.User{{Name: "alice"}, {Name: "bob"}, {Name: "dora", Directory: "ldap"}} {
		u.CreatedAt = fx.now
		if err := st.CreateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddEnrollment(context.Background(), store.Enrollment{ID: "d1", User: "alice", Kind: "totp", Label: "Pixel",
		Secret: make([]byte, 20), Digits: 6, Algorithm: "SHA1", Period: 30, CreatedAt: fx.now}); err != nil {
		t.Fatal(err)
	}
	svc := admin.NewService(st, admin.Options{Issuer: "test", Digits: 6, Algorithm: "SHA1", Skew: 1, Now: clock})
	fx.h = Handler(Config{}, Deps{Auth: fx.eng, Admin: svc, Audit: fx.audit, Now: clock,
		Roles: Roles{AdminGroups: []string{"vpn-admins"}}}, slog.New(slog.DiscardHandler))
	return fx
}

// devices returns user's stored devices.
func (fx *siteFixture) devices(t *testing.T, user string) []store.Enrollment {
	t.Helper()
	es, err := fx.st.Enrollments(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func (fx *siteFixture) do(method, path string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	return serve(fx.h, method, path, form, cookies...)
}

func sessionOf(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				t.Fatalf("session cookie %+v: want Secure, HttpOnly, SameSite=Strict, Path=/", c)
			}
			return c
		}
	}
	t.Fatalf("no session cookie set (status %d)", w.Code)
	return nil
}

func TestSignInAndDevices(t *testing.T) {
	fx := newSiteFixture(t)
	// Not signed in: /me sends to the form.
	if w := fx.do("GET", "/me", nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signin" {
		t.Fatalf("GET /me without a session: %d %q", w.Code, w.Header().Get("Location"))
	}
	if w := fx.do("GET", "/signin", nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `name="password"`) {
		t.Fatalf("GET /signin: %d", w.Code)
	}
	w := fx.do("POST", "/signin", url.Values{"user": {"alice"}, "password": {"pw"}, "code": {"123456"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/me" {
		t.Fatalf("sign-in: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	c1 := sessionOf(t, w)
	got := fx.eng.reqs[len(fx.eng.reqs)-1]
	if got.Client != webClient || got.Password != "pw,123456" || got.Source.Addr().String() != "192.0.2.10" {
		t.Errorf("engine asked %+v", got)
	}
	w = fx.do("GET", "/me", nil, c1)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Pixel") || !strings.Contains(w.Body.String(), ">alice<") {
		t.Fatalf("GET /me: %d\n%s", w.Code, w.Body)
	}
	// A new sign-in gets a new session id.
	c2 := sessionOf(t, fx.do("POST", "/signin", url.Values{"user": {"alice"}, "password": {"pw"}, "code": {"123456"}}))
	if c2.Value == c1.Value {
		t.Error("a second sign-in reused the session id")
	}
	// Sign-out ends the session on the server, not only in the browser.
	if w := fx.do("POST", "/signout", nil, c1); w.Code != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", w.Code)
	}
	if w := fx.do("GET", "/me", nil, c1); w.Code != http.StatusSeeOther {
		t.Error("the session survived sign-out")
	}
	if w := fx.do("GET", "/me", nil, c2); w.Code != http.StatusOK {
		t.Error("signing out one session ended another")
	}
	// Idle and absolute timeouts.
	fx.now = fx.now.Add(IdleTimeout + time.Second)
	if w := fx.do("GET", "/me", nil, c2); w.Code != http.StatusSeeOther {
		t.Error("an idle session was still valid")
	}
	c3 := sessionOf(t, fx.do("POST", "/signin", url.Values{"user": {"alice"}, "password": {"pw"}, "code": {"123456"}}))
	for range int(AbsoluteTimeout/(IdleTimeout-time.Minute)) + 1 {
		fx.now = fx.now.Add(IdleTimeout - time.Minute)
		fx.do("GET", "/me", nil, c3)
	}
	if w := fx.do("GET", "/me", nil, c3); w.Code != http.StatusSeeOther {
		t.Error("a session outlived its absolute timeout")
	}
	if n := len(fx.audit.recs); n != 3 || fx.audit.recs[0].Kind != "web" || fx.audit.recs[0].Outcome != "accept" {
		t.Errorf("audit: %+v", fx.audit.recs)
	}
}

func TestSignInFailures(t *testing.T) {
	fx := newSiteFixture(t)
	for _, c := range []struct {
		form   url.Values
		status int
		want   string
	}{
		{url.Values{"user": {"alice"}, "password": {"wrong"}, "code": {"123456"}}, http.StatusUnauthorized, msgSignInFailed},
		// A right password without the code gets the same reply as a wrong
		// one: the page must not confirm a password.
		{url.Values{"user": {"alice"}, "password": {"pw"}}, http.StatusUnauthorized, msgSignInFailed},
		{url.Values{"user": {"alice"}, "password": {""}}, http.StatusBadRequest, "Enter your user name"},
		{url.Values{"user": {"alice"}, "password": {"pw"}, "code": {"12ab56"}}, http.StatusBadRequest, "Enter your user name"},
		{url.Values{"user": {"busy"}, "password": {"pw"}}, http.StatusServiceUnavailable, "busy"},
	} {
		w := fx.do("POST", "/signin", c.form)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("%v: %d, want %d with %q\n%s", c.form, w.Code, c.status, c.want, w.Body)
		}
		for _, ck := range w.Result().Cookies() {
			if ck.Name == sessionCookie {
				t.Errorf("%v: a failed sign-in set a session", c.form)
			}
		}
	}
	// The user name is echoed into the form, escaped.
	w := fx.do("POST", "/signin", url.Values{"user": {`<script>x</script>`}, "password": {"x"}})
	if strings.Contains(w.Body.String(), "<script>x") {
		t.Error("the user name was not escaped")
	}
	// A right password without any device opens an enrollment-only session.
	w = fx.do("POST", "/signin", url.Values{"user": {"bob"}, "password": {"pw"}})
	c := sessionOf(t, w)
	if w := fx.do("GET", "/me", nil, c); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "no device yet") {
		t.Errorf("bob's page: %d\n%s", w.Code, w.Body)
	}
	// A forged or unknown cookie is no session.
	if w := fx.do("GET", "/me", nil, &http.Cookie{Name: sessionCookie, Value: "forged"}); w.Code != http.StatusSeeOther {
		t.Error("a forged cookie was accepted")
	}
	// Cross-site form posts never reach the engine.
	before := len(fx.eng.reqs)
	r := httptest.NewRequest("POST", "https://site.example/signin", strings.NewReader("user=alice&password=pw&code=123456"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	fx.h.ServeHTTP(rec, r)
	if rec.Code != http.StatusForbidden || len(fx.eng.reqs) != before {
		t.Errorf("cross-site sign-in: %d, engine asked %d times", rec.Code, len(fx.eng.reqs)-before)
	}
}

// A directory admin who signs in with a bypass code gets no console, but
// keeps the admin role noted in the store, which keeps the help desk off
// their account.
func TestBypassSignInKeepsTheNotedRole(t *testing.T) {
	fx := newSiteFixture(t)
	c := sessionOf(t, fx.do("POST", "/signin", url.Values{"user": {"dora"}, "password": {"pw"}, "code": {"8765 4321"}}))
	if w := fx.do("GET", "/console", nil, c); w.Code != http.StatusNotFound {
		t.Errorf("console after a bypass sign-in: %d, want 404", w.Code)
	}
	u, err := fx.st.GetUser(context.Background(), "dora")
	if err != nil || len(u.Roles) != 1 || u.Roles[0] != "admin" {
		t.Fatalf("dora's noted roles %v, %v: want [admin]", u.Roles, err)
	}
}
