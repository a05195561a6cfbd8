package enrollment

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

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

func TestConsoleUserSearchRefusesBadQueries(t *testing.T) {
	fx := newConsoleSite(t)
	for _, q := range []string{"", strings.Repeat("a", 65)} {
		w := fx.do("GET", "/console/users?q="+q, nil, fx.helen)
		wantStatus(t, w, http.StatusBadRequest, "query "+q)
		if !strings.Contains(w.Body.String(), "enter 1-64 characters") {
			t.Errorf("query %q: no message from the service: %s", q, w.Body)
		}
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

func TestConsoleDisableDeviceStopsLogins(t *testing.T) {
	fx := newConsoleSite(t)
	if d := fx.radius("alice", fx.aliceCode()); d.Outcome != auth.Accept {
		t.Fatalf("before: %v %s", d.Outcome, d.Reason)
	}
	dev := "/console/users/alice/devices/" + fx.aliceDevice
	wantRedirect(t, fx.do("POST", dev+"/disable", url.Values{}, fx.helen), "/console/users/alice?done=disabled")
	fx.wantAdminAudit("helen", "alice", "device.disable "+fx.aliceDevice)
	if d := fx.radius("alice", fx.aliceCode()); d.Outcome != auth.Reject {
		t.Fatalf("disabled device: %v %s, want reject", d.Outcome, d.Reason)
	}
	if d := fx.radius("alice", ""); d.Outcome == auth.Accept {
		t.Fatal("a user whose devices are all disabled got in on the password")
	}
	if w := fx.do("GET", "/console/users/alice", nil, fx.helen); !strings.Contains(w.Body.String(), dev+"/enable") {
		t.Error("no Enable button for the disabled device")
	}
	wantRedirect(t, fx.do("POST", dev+"/enable", url.Values{}, fx.helen), "/console/users/alice?done=enabled")
	fx.wantAdminAudit("helen", "alice", "device.enable "+fx.aliceDevice)
	if d := fx.radius("alice", fx.aliceCode()); d.Outcome != auth.Accept {
		t.Fatalf("enabled again: %v %s", d.Outcome, d.Reason)
	}
	wantStatus(t, fx.do("POST", "/console/users/alice/devices/nosuch/disable", url.Values{}, fx.helen), http.StatusNotFound, "unknown device")
}

func TestConsoleDeleteDeviceNeedsConfirmation(t *testing.T) {
	fx := newConsoleSite(t)
	path := "/console/users/alice/devices/" + fx.aliceDevice + "/delete"
	w := fx.do("POST", path, url.Values{}, fx.helen)
	wantStatus(t, w, http.StatusBadRequest, "delete without confirmation")
	if len(fx.devices("alice")) != 1 {
		t.Fatal("deleted without confirmation")
	}
	if !strings.Contains(w.Body.String(), `name="confirm" value="yes"`) {
		t.Error("an unconfirmed delete does not ask again")
	}
	wantRedirect(t, fx.do("POST", path, url.Values{"confirm": {"yes"}}, fx.helen), "/console/users/alice?done=deleted")
	if len(fx.devices("alice")) != 0 {
		t.Fatal("the device is still there")
	}
	fx.wantAdminAudit("helen", "alice", "device.remove "+fx.aliceDevice)
	wantStatus(t, fx.do("GET", path, nil, fx.helen), http.StatusNotFound, "confirmation page of a deleted device")
}

func TestConsoleUnlock(t *testing.T) {
	fx := newConsoleSite(t)
	for range 5 {
		fx.engine.Decide(context.Background(), auth.Request{UserName: "alice", Password: "wrong-password,123456", Client: "vpn-gw"})
	}
	if d := fx.radius("alice", fx.aliceCode()); d.Outcome != auth.Reject {
		t.Fatalf("alice is not locked out: %v", d.Outcome)
	}
	if w := fx.do("GET", "/console/users/alice", nil, fx.helen); !strings.Contains(w.Body.String(), "yes, ") {
		t.Error("the user page does not show the lockout")
	}
	wantRedirect(t, fx.do("POST", "/console/users/alice/unlock", url.Values{}, fx.helen), "/console/users/alice?done=unlocked")
	fx.wantAdminAudit("helen", "alice", "user.unlock")
	if l, _ := fx.st.Lockout(context.Background(), "alice"); l.Active(fx.clock()) || l.Failures != 0 {
		t.Fatalf("lockout after unlock: %+v", l)
	}
	if d := fx.radius("alice", fx.aliceCode()); d.Outcome != auth.Accept {
		t.Fatalf("after unlock: %v %s", d.Outcome, d.Reason)
	}
}

func TestConsoleResetEnrollment(t *testing.T) {
	fx := newConsoleSite(t)
	w := fx.do("POST", "/console/users/alice/reset", url.Values{}, fx.helen)
	wantStatus(t, w, http.StatusBadRequest, "reset without confirmation")
	if len(fx.devices("alice")) != 1 || !strings.Contains(w.Body.String(), "Tick the box") {
		t.Fatalf("reset without confirmation: devices %d, page %s", len(fx.devices("alice")), w.Body)
	}
	wantRedirect(t, fx.do("POST", "/console/users/alice/reset", url.Values{"confirm": {"yes"}}, fx.helen), "/console/users/alice?done=reset")
	if n := len(fx.devices("alice")); n != 0 {
		t.Fatalf("%d devices left", n)
	}
	fx.wantAdminAudit("helen", "alice", "user.reset_enrollment devices=1")
}

var bypassCodeRE = regexp.MustCompile(`<code id="code">([0-9]+)</code>`)

func TestConsoleBypassCodeWorksOnce(t *testing.T) {
	fx := newConsoleSite(t)
	w := fx.do("POST", "/console/users/alice/bypass", url.Values{"uses": {"1"}, "ttl": {"15m"}}, fx.helen)
	wantStatus(t, w, http.StatusOK, "issue bypass")
	m := bypassCodeRE.FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("no code on the page: %s", w.Body)
	}
	if want := fx.clock().Add(15 * time.Minute).UTC().Format(consoleMinute); !strings.Contains(w.Body.String(), want) {
		t.Errorf("no expiry %q on the page", want)
	}
	fx.wantAdminAudit("helen", "alice", "bypass.issue ")
	if d := fx.radius("alice", m[1]); d.Outcome != auth.Accept || d.Factor != auth.KindBypass {
		t.Fatalf("first use: %v %s %q", d.Outcome, d.Reason, d.Factor)
	}
	if d := fx.radius("alice", m[1]); d.Outcome != auth.Reject {
		t.Fatalf("second use: %v, want reject", d.Outcome)
	}
	// The user page lists the code, without it.
	page := fx.do("GET", "/console/users/alice", nil, fx.helen).Body.String()
	if !strings.Contains(page, "bypass") || strings.Contains(page, m[1]) {
		t.Error("the user page does not list the bypass code, or shows it again")
	}
}

func TestConsoleBypassRefusesBadForms(t *testing.T) {
	fx := newConsoleSite(t)
	for _, f := range []url.Values{
		{"uses": {"0"}, "ttl": {"1h"}}, {"uses": {"101"}, "ttl": {"1h"}}, {"uses": {"x"}, "ttl": {"1h"}},
		{"uses": {"1"}, "ttl": {"1y"}}, {"uses": {"1"}},
	} {
		w := fx.do("POST", "/console/users/alice/bypass", f, fx.helen)
		wantStatus(t, w, http.StatusBadRequest, f.Encode())
		if !strings.Contains(w.Body.String(), `role="alert"`) {
			t.Errorf("%s: no message", f.Encode())
		}
	}
	if n := len(fx.devices("alice")); n != 1 {
		t.Fatalf("refused forms made devices: %d", n)
	}
}

func TestConsoleEnforcementChangesTheEngine(t *testing.T) {
	fx := newConsoleSite(t)
	if d := fx.radius("alice", ""); d.Outcome == auth.Accept {
		t.Fatal("password alone accepted before the change")
	}
	wantRedirect(t, fx.do("POST", "/console/enforcement", url.Values{"mode": {"off"}}, fx.root), "/console/enforcement?done=saved")
	if d := fx.radius("alice", ""); d.Outcome != auth.Accept {
		t.Fatalf("mode off: %v %s", d.Outcome, d.Reason)
	}
	st := fx.settings()
	if st.Enforcement.Mode != "off" || st.UpdatedBy != "root" {
		t.Fatalf("settings %+v", st)
	}
	fx.wantAdminAudit("root", "", "enforcement.set mode=off")
	w := fx.do("GET", "/console/enforcement?done=saved", nil, fx.root)
	if !strings.Contains(w.Body.String(), consoleDone["saved"]) || !strings.Contains(w.Body.String(), `<option value="off" selected>`) {
		t.Errorf("the page after saving: %s", w.Body)
	}
}

func TestConsoleEnforcementRows(t *testing.T) {
	fx := newConsoleSite(t)
	form := url.Values{"mode": {"required"},
		"group_name": {"helpdesk", " ", "vpn-users"}, "group_mode": {"optional", "required", "required"},
		"client_name": {"vpn-gw", ""}, "client_mode": {"Off", "none"},
		"deadline": {"2026-12-31T18:00"}, "method": {"totp"}}
	wantRedirect(t, fx.do("POST", "/console/enforcement", form, fx.root), "/console/enforcement?done=saved")
	e := fx.settings().Enforcement
	if e.Mode != "required" || len(e.Groups) != 2 || e.Groups["helpdesk"] != "optional" || e.Groups["vpn-users"] != "required" ||
		len(e.Clients) != 1 || e.Clients["vpn-gw"] != "off" || !slices.Equal(e.Methods, []string{"totp"}) ||
		!e.Deadline.Equal(time.Date(2026, 12, 31, 18, 0, 0, 0, time.UTC)) {
		t.Fatalf("stored %+v", e)
	}
	page := fx.do("GET", "/console/enforcement", nil, fx.root).Body.String()
	for _, s := range []string{`value="vpn-users"`, `value="2026-12-31T18:00"`, `id="method-totp" name="method" type="checkbox" value="totp" class="check" checked`} {
		if !strings.Contains(page, s) {
			t.Errorf("the form does not show %q", s)
		}
	}
	// "none" removes a row; the others stay.
	form["group_mode"] = []string{"none", "none", "required"}
	wantRedirect(t, fx.do("POST", "/console/enforcement", form, fx.root), "/console/enforcement?done=saved")
	if g := fx.settings().Enforcement.Groups; len(g) != 1 || g["vpn-users"] != "required" {
		t.Fatalf("groups after removing one: %v", g)
	}
}

func TestConsoleEnforcementRefusesBadInput(t *testing.T) {
	fx := newConsoleSite(t)
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"mode": {"sometimes"}}, "MFA mode must be one of"},
		{url.Values{"group_name": {"ops"}, "group_mode": {"always"}}, "group &#34;ops&#34;"},
		{url.Values{"group_name": {"ops", "ops"}, "group_mode": {"off", "required"}}, "listed twice"},
		{url.Values{"group_name": {"ops"}}, "needs a name and a mode"},
		{url.Values{"deadline": {"next tuesday"}}, "deadline must be a date"},
		{url.Values{"method": {"sms"}}, "unknown method"},
	} {
		w := fx.do("POST", "/console/enforcement", c.form, fx.root)
		wantStatus(t, w, http.StatusBadRequest, c.form.Encode())
		if !strings.Contains(w.Body.String(), c.want) || !strings.Contains(w.Body.String(), `action="/console/enforcement"`) {
			t.Errorf("%s: want the form again with %q: %s", c.form.Encode(), c.want, w.Body)
		}
	}
	if st := fx.settings(); st.UpdatedBy != "" {
		t.Fatalf("refused input changed the settings: %+v", st)
	}
}

func TestConsoleHelpdeskCannotSetEnforcement(t *testing.T) {
	fx := newConsoleSite(t)
	wantStatus(t, fx.do("POST", "/console/enforcement", url.Values{"mode": {"off"}}, fx.helen), http.StatusNotFound, "help desk POST")
	if st := fx.settings(); st.Enforcement.Mode != "" || st.UpdatedBy != "" {
		t.Fatalf("settings changed: %+v", st)
	}
	if d := fx.radius("alice", ""); d.Outcome == auth.Accept {
		t.Fatal("the help desk turned MFA off")
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

// seedAudit stores records a console search should find, with cells a
// spreadsheet would read as formulas.
func seedAudit(fx *consoleSite) {
	fx.t.Helper()
	now := fx.clock()
	for _, r := range []store.AuditRecord{
		{Time: now.Add(-48 * time.Hour), Kind: "auth", User: "mallory", Client: "vpn-gw", Outcome: "reject", Detail: "old"},
		{Time: now.Add(-time.Minute), Kind: "auth", User: "=HYPERLINK(\"http://x\")", Client: "+vpn", Outcome: "reject",
			Reason: "-bad", Detail: "@SUM(A1)", CallingStationID: "\t198.51.100.7", NASIdentifier: "\rnas"},
		{Time: now.Add(-time.Minute), Kind: "auth", User: "mallory", Client: "vpn-gw", Outcome: "accept", Factor: "totp", Detail: "today"},
	} {
		if err := fx.st.AppendAudit(context.Background(), r); err != nil {
			fx.t.Fatal(err)
		}
	}
}

func TestConsoleAuditFilters(t *testing.T) {
	fx := newConsoleSite(t)
	seedAudit(fx)
	w := fx.do("GET", "/console/audit?user=MALLORY&since=2026-11-23", nil, fx.helen)
	wantStatus(t, w, http.StatusOK, "audit")
	if body := w.Body.String(); !strings.Contains(body, "today") || strings.Contains(body, ">old<") {
		t.Errorf("filtered page: %s", body)
	}
	if !strings.Contains(w.Body.String(), `href="/console/audit.csv?since=2026-11-23&amp;user=MALLORY"`) {
		t.Error("the CSV link does not carry the filters")
	}
	w = fx.do("GET", "/console/audit?user=mallory&until=2026-11-22", nil, fx.helen)
	if body := w.Body.String(); !strings.Contains(body, ">old<") || strings.Contains(body, "today") {
		t.Errorf("until a day: %s", body)
	}
	for _, q := range []string{"since=yesterday", "until=2026-13-01", "limit=0", "limit=10001", "limit=x",
		"since=2026-11-23&until=2026-11-01"} {
		for _, path := range []string{"/console/audit?", "/console/audit.csv?"} {
			w := fx.do("GET", path+q, nil, fx.helen)
			wantStatus(t, w, http.StatusBadRequest, path+q)
			if !strings.Contains(w.Body.String(), "must") {
				t.Errorf("%s%s: no clear message: %s", path, q, w.Body)
			}
		}
	}
}

func TestConsoleAuditCSV(t *testing.T) {
	fx := newConsoleSite(t)
	seedAudit(fx)
	w := fx.do("GET", "/console/audit.csv?kind=auth&outcome=reject&since=2026-11-23T00:00:00Z", nil, fx.helen)
	wantStatus(t, w, http.StatusOK, "CSV")
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("content type %q", ct)
	}
	if cd := w.Header().Get("Content-Disposition"); cd != `attachment; filename="radiusmfa-audit.csv"` {
		t.Errorf("content disposition %q", cd)
	}
	rows, err := csv.NewReader(bytes.NewReader(w.Body.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !slices.Equal(rows[0], consoleAuditCSVHeader) {
		t.Fatalf("rows %q", rows)
	}
	row := map[string]string{}
	for i, h := range rows[0] {
		row[h] = rows[1][i]
	}
	for col, want := range map[string]string{"user": `'=HYPERLINK("http://x")`, "client": "'+vpn", "reason": "'-bad",
		"detail": "'@SUM(A1)", "calling_station_id": "'\t198.51.100.7", "nas_identifier": "'\rnas", "kind": "auth", "outcome": "reject"} {
		if row[col] != want {
			t.Errorf("%s = %q, want %q", col, row[col], want)
		}
	}
}

func TestCSVSafeCells(t *testing.T) {
	got := csvSafeCells("", "=1", "+1", "-1", "@a", "\tx", "\rx", "a=b", "1")
	want := []string{"", "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "a=b", "1"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
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

// The help desk manages users, not admins: no bypass code, device change or
// reset on an admin's account, and the admin's page is not found.
func TestConsoleHelpdeskCannotTouchAdmins(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("root", "admin")
	fx.addUser("helen", "helpdesk")
	rootDev, _ := fx.addTOTP("root")
	_, hs := fx.addTOTP("helen")
	c := fx.signInTOTP("helen", hs)
	for _, path := range []string{"/console/users/root/bypass", "/console/users/root/reset", "/console/users/root/unlock",
		"/console/users/root/devices/" + rootDev + "/disable", "/console/users/root/devices/" + rootDev + "/delete"} {
		if w := fx.do("POST", path, url.Values{"uses": {"1"}, "ttl": {"1h"}, "confirm": {"yes"}}, c); w.Code != http.StatusNotFound {
			t.Errorf("helpdesk POST %s: %d, want 404", path, w.Code)
		}
	}
	if w := fx.do("GET", "/console/users/root", nil, c); w.Code != http.StatusNotFound {
		t.Errorf("helpdesk GET root's page: %d", w.Code)
	}
	devs, _ := fx.st.Enrollments(context.Background(), "root")
	if len(devs) != 1 || devs[0].Disabled {
		t.Errorf("root's devices changed: %+v", devs)
	}
}
