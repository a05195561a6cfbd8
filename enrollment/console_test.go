package enrollment

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"radiusmfa/admin"
	"radiusmfa/auth"
	"radiusmfa/store"
)

// consoleSite is the real site with an admin (root), a help-desk operator
// (helen) and a plain user (alice, one authenticator app), all signed in.
type consoleSite struct {
	*realSite
	root, helen, alice *http.Cookie
	aliceSecret        string
	aliceDevice        string
}

func newConsoleSite(t *testing.T) *consoleSite {
	t.Helper()
	fx := newRealSite(t)
	fx.addUser("root", "admin")
	fx.addUser("helen", "helpdesk")
	fx.addUser("alice")
	_, rootSecret := fx.addTOTP("root")
	_, helenSecret := fx.addTOTP("helen")
	id, aliceSecret := fx.addTOTP("alice")
	return &consoleSite{realSite: fx, aliceSecret: aliceSecret, aliceDevice: id,
		root: fx.signInTOTP("root", rootSecret), helen: fx.signInTOTP("helen", helenSecret),
		alice: fx.signInTOTP("alice", aliceSecret)}
}

// radius decides a login as a RADIUS client would send it: password, then
// the delimiter and code when code is not empty.
func (fx *consoleSite) radius(user, code string) auth.Decision {
	fx.t.Helper()
	pw := user + testPasswordSuffix
	if code != "" {
		pw += "," + code
	}
	return fx.engine.Decide(context.Background(), auth.Request{UserName: user, Password: pw, Client: "vpn-gw",
		Source: netip.MustParseAddrPort("127.0.0.1:40000")})
}

// aliceCode is alice's current code, then the clock moves on.
func (fx *consoleSite) aliceCode() string {
	c := fx.code(fx.aliceSecret)
	fx.tick()
	return c
}

func (fx *consoleSite) settings() store.Settings {
	fx.t.Helper()
	st, err := fx.st.Settings(context.Background())
	if err != nil {
		fx.t.Fatal(err)
	}
	return st
}

func (fx *consoleSite) devices(user string) []store.Enrollment {
	fx.t.Helper()
	es, err := fx.st.Enrollments(context.Background(), user)
	if err != nil {
		fx.t.Fatal(err)
	}
	return es
}

// wantAdminAudit checks that the newest audit record is the console action
// detail (a prefix) on user, made by actor.
func (fx *consoleSite) wantAdminAudit(actor, user, detail string) {
	fx.t.Helper()
	rec := fx.lastAudit(1)[0]
	if rec.Kind != "admin" || rec.Client != actor || rec.User != user || !strings.HasPrefix(rec.Detail, detail) {
		fx.t.Fatalf("newest audit record %+v: want admin %q by %s on %s", rec, detail, actor, user)
	}
}

func wantStatus(t *testing.T, w *httptest.ResponseRecorder, status int, what string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("%s: status %d, want %d: %s", what, w.Code, status, w.Body)
	}
}

func wantRedirect(t *testing.T, w *httptest.ResponseRecorder, to string) {
	t.Helper()
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != to {
		t.Fatalf("status %d, location %q; want 303 to %q: %s", w.Code, w.Header().Get("Location"), to, w.Body)
	}
}

// consoleRequests is every console route, with a form that would succeed
// for an admin.
func consoleRequests(device string) []struct {
	method, path string
	form         url.Values
} {
	dev := "/console/users/alice/devices/" + device
	return []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/console", nil},
		{"GET", "/console/users?q=ali", nil},
		{"GET", "/console/users/alice", nil},
		{"POST", "/console/users/alice/unlock", url.Values{}},
		{"POST", "/console/users/alice/reset", url.Values{"confirm": {"yes"}}},
		{"POST", "/console/users/alice/bypass", url.Values{"uses": {"1"}, "ttl": {"1h"}}},
		{"POST", dev + "/disable", url.Values{}},
		{"POST", dev + "/enable", url.Values{}},
		{"GET", dev + "/delete", nil},
		{"POST", dev + "/delete", url.Values{"confirm": {"yes"}}},
		{"GET", "/console/enforcement", nil},
		{"POST", "/console/enforcement", url.Values{"mode": {"off"}}},
		{"GET", "/console/clients", nil},
		{"GET", "/console/audit", nil},
		{"GET", "/console/audit.csv", nil},
	}
}

func TestConsoleWithoutSessionSignsIn(t *testing.T) {
	fx := newConsoleSite(t)
	for _, rq := range consoleRequests(fx.aliceDevice) {
		w := fx.do(rq.method, rq.path, rq.form)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signin" {
			t.Errorf("%s %s without a session: status %d, location %q", rq.method, rq.path, w.Code, w.Header().Get("Location"))
		}
	}
}

// refusedEverywhere checks that session c gets 404 from every console route
// and changed nothing.
func refusedEverywhere(t *testing.T, fx *consoleSite, c *http.Cookie) {
	t.Helper()
	before := fx.lastAudit(1)[0].Seq
	for _, rq := range consoleRequests(fx.aliceDevice) {
		if w := fx.do(rq.method, rq.path, rq.form, c); w.Code != http.StatusNotFound {
			t.Errorf("%s %s: status %d, want 404", rq.method, rq.path, w.Code)
		}
	}
	es := fx.devices("alice")
	if len(es) != 1 || es[0].Disabled {
		t.Errorf("alice's devices changed: %+v", es)
	}
	if st := fx.settings(); st.Enforcement.Mode != "" || st.UpdatedBy != "" {
		t.Errorf("settings changed: %+v", st)
	}
	for _, r := range fx.lastAudit(1000) {
		if r.Seq > before && r.Kind == "admin" {
			t.Errorf("refused requests left an admin record: %+v", r)
		}
	}
}

func TestConsolePlainUserGetsNotFound(t *testing.T) {
	fx := newConsoleSite(t)
	refusedEverywhere(t, fx, fx.alice)
	// An enrollment-only session (no device yet) has no console either.
	fx.addUser("bob")
	refusedEverywhere(t, fx, fx.signIn("bob", ""))
}

func TestConsoleBypassSignInGetsNoConsole(t *testing.T) {
	fx := newConsoleSite(t)
	res, err := fx.svc.IssueBypass(local(), admin.BypassRequest{User: "root", Uses: 1})
	if err != nil {
		t.Fatal(err)
	}
	// An admin who signed in with a help-desk code is a user on the site,
	// not an admin: whoever holds the code must not hold the console.
	refusedEverywhere(t, fx, fx.signIn("root", res.Code))
}

func TestConsolePages(t *testing.T) {
	fx := newConsoleSite(t)
	// alice reports her own sign-in: the overview lists it.
	signin := fx.lastAudit(1)[0]
	if signin.User != "alice" || signin.Kind != "web" {
		t.Fatalf("newest record %+v: want alice's sign-in", signin)
	}
	if err := fx.svc.ReportLogin(admin.WithPrincipal(context.Background(), admin.Principal{Name: "alice"}), "alice", signin.Seq); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who  string
		path string
		want []string
	}{
		{"root", "/console", []string{`href="/console" aria-current="page"`, "this wasn&#39;t me: login", `href="/console/users/alice"`, "default (the configuration"}},
		{"helen", "/console/users?q=ALI", []string{`href="/console/users/alice"`, `<caption>Users matching`}},
		{"helen", "/console/users", []string{`id="q"`}},
		{"helen", "/console/users/alice", []string{"User alice", "phone", "/console/users/alice/devices/" + fx.aliceDevice + "/disable",
			"/console/users/alice/unlock", `name="ttl"`, `id="confirm-reset"`, "Recent activity", "sign-in"}},
		{"helen", "/console/users/alice/devices/" + fx.aliceDevice + "/delete", []string{"Delete a device of alice?", `name="confirm" value="yes"`}},
		{"root", "/console/enforcement", []string{`action="/console/enforcement"`, `name="group_name"`, `name="client_mode"`, `type="datetime-local"`, `value="totp"`}},
		{"helen", "/console/enforcement", []string{"Only an admin may change"}},
		{"helen", "/console/clients", []string{"vpn-gw", "127.0.0.1/32"}},
		{"helen", "/console/audit", []string{"<caption>Audit records", "sign-in", `href="/console/audit.csv"`}},
	} {
		cookie := map[string]*http.Cookie{"root": fx.root, "helen": fx.helen}[c.who]
		w := fx.do("GET", c.path, nil, cookie)
		wantStatus(t, w, http.StatusOK, c.who+" GET "+c.path)
		for _, s := range c.want {
			if !strings.Contains(w.Body.String(), s) {
				t.Errorf("%s GET %s: no %q in the page", c.who, c.path, s)
			}
		}
		if strings.Contains(w.Body.String(), "style=") || strings.Contains(w.Body.String(), "<script") {
			t.Errorf("%s: inline style or script (the CSP forbids both)", c.path)
		}
	}
	if w := fx.do("GET", "/console/enforcement", nil, fx.helen); strings.Contains(w.Body.String(), `<form method="post" action="/console/enforcement"`) {
		t.Error("the help desk gets the enforcement form")
	}
	if w := fx.do("GET", "/console/users/nobody", nil, fx.root); w.Code != http.StatusNotFound {
		t.Errorf("unknown user: status %d", w.Code)
	}
}

func TestConsoleDoneShowsOnlyFixedTexts(t *testing.T) {
	fx := newConsoleSite(t)
	w := fx.do("GET", "/console/users/alice?done=disabled", nil, fx.helen)
	if !strings.Contains(w.Body.String(), consoleDone["disabled"]) {
		t.Error("no confirmation for done=disabled")
	}
	w = fx.do("GET", "/console/users/alice?done="+url.QueryEscape("Call 555-0100 for help"), nil, fx.helen)
	if strings.Contains(w.Body.String(), "555-0100") || strings.Contains(w.Body.String(), `class="ok"`) {
		t.Error("the page echoes the query's text")
	}
}

func TestConsoleRefusesCrossOriginPosts(t *testing.T) {
	fx := newConsoleSite(t)
	r := httptest.NewRequest("POST", "https://site.example/console/users/alice/devices/"+fx.aliceDevice+"/disable", strings.NewReader(""))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.AddCookie(fx.root)
	w := httptest.NewRecorder()
	fx.h.ServeHTTP(w, r)
	wantStatus(t, w, http.StatusForbidden, "cross-site POST")
	if fx.devices("alice")[0].Disabled {
		t.Fatal("a cross-site POST disabled the device")
	}
}

func TestConsoleClientsFlagsMissingMessageAuthenticator(t *testing.T) {
	var b strings.Builder
	err := templates.ExecuteTemplate(&b, "console_clients.html", struct {
		Nav     navView
		Clients []consoleClientRow
	}{navView{User: "helen", Console: true, Active: "clients"}, []consoleClientRow{
		{ClientInfo: admin.ClientInfo{Name: "old-switch", Requests: 9, WithoutMessageAuthenticator: 4}, NoMA: true},
		{ClientInfo: admin.ClientInfo{Name: "vpn-gw", Requests: 3, WithMessageAuthenticator: 3}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "4 — sent without Message-Authenticator") {
		t.Errorf("old-switch not flagged: %s", b.String())
	}
	if strings.Count(b.String(), "sent without Message-Authenticator") != 1 {
		t.Error("a client with Message-Authenticator is flagged")
	}
}
