package enrollment

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"radiusmfa/factors/push"
	"radiusmfa/store"
)

// ntfySite is the push site with ntfy: pairing makes topics, and the
// approval links of the Hub's pushes are answered.
type ntfySite struct {
	*pushSite
	links *push.LinkKey
}

const testNtfyServer = "https://ntfy.example.com"

func newNtfySite(t *testing.T, server string) *ntfySite {
	t.Helper()
	ps := newPushSite(t)
	k, err := push.NewLinkKey(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ps.h = Handler(Config{}, Deps{Auth: ps.engine, Admin: ps.svc, Roles: Roles{Builtin: true}, Audit: storeAudit{ps.st},
		Now: ps.clock, Push: &PushDeps{Hub: ps.hub, VAPIDPublic: testVAPIDPublic,
			Ntfy: &NtfyDeps{Server: server, Links: k}}}, slog.New(slog.DiscardHandler))
	return &ntfySite{pushSite: ps, links: k}
}

var (
	ntfyTopicRe = regexp.MustCompile(`<code id="ntfy-topic">(rmfa-[a-z2-7]{32})</code>`)
	ntfyLinkRe  = regexp.MustCompile(`href="(ntfy://[^"]+)"`)
)

// pairNtfy asks for an ntfy device in a's session and returns its topic and id.
func (ns *ntfySite) pairNtfy(a pushUser, name string) (topic, id string) {
	ns.t.Helper()
	w := ns.do("POST", "/me/ntfy", url.Values{"name": {name}, "proof": {ns.code(a.secret)}}, a.c)
	ns.tick()
	if w.Code != http.StatusOK {
		ns.t.Fatalf("POST /me/ntfy: %d %s", w.Code, w.Body)
	}
	m := ntfyTopicRe.FindStringSubmatch(w.Body.String())
	if m == nil {
		ns.t.Fatalf("no topic on the page:\n%s", w.Body)
	}
	es, err := ns.st.Enrollments(context.Background(), a.name)
	if err != nil {
		ns.t.Fatal(err)
	}
	for _, e := range es {
		if d, err := push.DeviceOf(e); err == nil && d.Topic == m[1] {
			return m[1], e.ID
		}
	}
	ns.t.Fatalf("topic %s is no stored device's", m[1])
	return "", ""
}

// beginLinked starts a push to an ntfy device as the RADIUS side would.
func (ns *ntfySite) beginLinked(user, device string, c push.Context) *push.Pending {
	ns.t.Helper()
	c.Client, c.CallingStationID = "vpn-gw", "203.0.113.7"
	p, err := ns.hub.BeginLinked(user, device, c, 5*time.Minute)
	if err != nil {
		ns.t.Fatal(err)
	}
	return p
}

func (ns *ntfySite) link(p *push.Pending, verdict string, number int) string {
	ns.t.Helper()
	tok, err := ns.links.Sign(*p, verdict, number)
	if err != nil {
		ns.t.Fatal(err)
	}
	return push.LinkPath + tok
}

// tap is the ntfy app's "http" action: a POST with no body, no cookie, no
// Origin, from its own address.
func (ns *ntfySite) tap(path string) *httptest.ResponseRecorder {
	return ns.postRaw(path, "", "")
}

func TestNtfyRoutesNeedNtfy(t *testing.T) {
	ps := newPushSite(t)
	a := ps.signedUp("alice")
	if page := ps.do("GET", "/me", nil, a.c).Body.String(); strings.Contains(page, "/me/ntfy") {
		t.Error("the account page offers ntfy without it")
	}
	if w := ps.do("POST", "/me/ntfy", url.Values{}, a.c); w.Code != http.StatusNotFound && w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /me/ntfy without ntfy: %d", w.Code)
	}
	if w := ps.do("GET", push.LinkPath+strings.Repeat("A", 79), nil); w.Code != http.StatusNotFound {
		t.Errorf("a link without ntfy: %d", w.Code)
	}
}

func TestNtfyPairPage(t *testing.T) {
	ns := newNtfySite(t, testNtfyServer)
	ns.addUser("alice")
	_, secret := ns.addTOTP("alice")
	c := ns.signInTOTP("alice", secret)
	page := ns.do("GET", "/me", nil, c).Body.String()
	if !strings.Contains(page, `action="/me/ntfy"`) || !strings.Contains(page, "Get login requests in the ntfy app") {
		t.Fatalf("the account page offers no ntfy:\n%s", page)
	}
	w := ns.do("POST", "/me/ntfy", url.Values{"name": {"work phone"}}, c)
	wantStatus(t, w, http.StatusOK, "POST /me/ntfy")
	body := w.Body.String()
	m := ntfyTopicRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no topic on the page:\n%s", body)
	}
	topic := m[1]
	if l := ntfyLinkRe.FindStringSubmatch(body); l == nil || l[1] != "ntfy://ntfy.example.com/"+topic {
		t.Errorf("subscribe link %v, want ntfy://ntfy.example.com/%s", l, topic)
	}
	for _, want := range []string{`id="ntfy-qr" src="data:image/png;base64,`, `<code id="ntfy-server">https://ntfy.example.com</code>`,
		"Anyone who knows it can see your login requests and approve them"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	es, _ := ns.st.Enrollments(context.Background(), "alice")
	var dev push.Device
	var en store.Enrollment
	for _, e := range es {
		if d, err := push.DeviceOf(e); err == nil {
			dev, en = d, e
		}
	}
	if dev.Channel != push.ChannelNtfy || dev.Topic != topic || dev.Site != "https://site.example" || en.Label != "work phone" {
		t.Errorf("stored %+v / %+v", en, dev)
	}
	if recs := ns.lastAudit(1); len(recs) != 1 || recs[0].Detail != "push.pair "+en.ID+" (ntfy)" || recs[0].User != "alice" {
		t.Errorf("audit %+v", recs)
	}
	page = ns.do("GET", "/me", nil, c).Body.String()
	if !strings.Contains(page, "Push approver (ntfy app)") || !strings.Contains(page, "work phone") || strings.Contains(page, topic) {
		t.Errorf("the account page lists the device wrongly (or shows its topic):\n%s", page)
	}

	// Signed in a while ago: a fresh code first, as for a phone.
	ns.mu.Lock()
	ns.now = ns.now.Add(recentProof + time.Minute)
	ns.mu.Unlock()
	if page := ns.do("GET", "/me", nil, c).Body.String(); !strings.Contains(page, `id="ntfy-proof"`) {
		t.Errorf("a stale session is not asked for a code:\n%s", page)
	}
	for _, proof := range []string{"", "000000"} {
		w = ns.do("POST", "/me/ntfy", url.Values{"proof": {proof}}, c)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/me?done=ntfyproof" {
			t.Fatalf("stale session, proof %q: %d %q", proof, w.Code, w.Header().Get("Location"))
		}
	}
	if recs := ns.lastAudit(1); recs[0].Detail != "push.pair_ntfy refused: no valid code" {
		t.Errorf("audit %+v", recs)
	}
	w = ns.do("POST", "/me/ntfy", url.Values{"proof": {ns.code(secret)}}, c)
	wantStatus(t, w, http.StatusOK, "stale session with a proof")
	if m2 := ntfyTopicRe.FindStringSubmatch(w.Body.String()); m2 == nil || m2[1] == topic {
		t.Errorf("second topic %v (first %s)", m2, topic)
	}
	// A bad name is refused.
	ns.tick()
	w = ns.do("POST", "/me/ntfy", url.Values{"name": {strings.Repeat("x", 65)}, "proof": {ns.code(secret)}}, c)
	wantStatus(t, w, http.StatusBadRequest, "a name too long")
}

func TestNtfyPairNeedsFullSession(t *testing.T) {
	ns := newNtfySite(t, testNtfyServer)
	ns.addUser("newbie")
	w := ns.do("POST", "/signin", url.Values{"user": {"newbie"}, "password": {"newbie" + testPasswordSuffix}})
	c := sessionOf(t, w)
	w = ns.do("POST", "/me/ntfy", url.Values{}, c)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/me" {
		t.Fatalf("enrollment-only session: %d %q", w.Code, w.Header().Get("Location"))
	}
	w = ns.do("POST", "/me/ntfy", url.Values{})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signin" {
		t.Fatalf("no session: %d %q", w.Code, w.Header().Get("Location"))
	}
}

// TestNtfyPairPlainHTTPServer: a loopback ntfy server over http (tests)
// gets the app's secure=false link.
func TestNtfyPairPlainHTTPServer(t *testing.T) {
	ns := newNtfySite(t, "http://127.0.0.1:8080/")
	a := ns.signedUp("alice")
	ns.pairNtfy(a, "")
	w := ns.do("GET", "/me", nil, a.c)
	if !strings.Contains(w.Body.String(), push.DefaultNtfyName) {
		t.Errorf("the default name is not listed:\n%s", w.Body)
	}
	a.c = ns.signInTOTP("alice", a.secret)
	w = ns.do("POST", "/me/ntfy", url.Values{"proof": {ns.code(a.secret)}}, a.c)
	l := ntfyLinkRe.FindStringSubmatch(w.Body.String())
	if l == nil || !strings.HasPrefix(l[1], "ntfy://127.0.0.1:8080/rmfa-") || !strings.HasSuffix(l[1], "?secure=false") {
		t.Errorf("subscribe link %v", l)
	}
}

func TestNtfyLinkPages(t *testing.T) {
	ns := newNtfySite(t, testNtfyServer)
	a := ns.signedUp("alice")
	_, id := ns.pairNtfy(a, "ntfy")
	p := ns.beginLinked("alice", id, push.Context{})
	approve := ns.link(p, push.AnswerApprove, 0)

	// GET shows the request and a button, and answers nothing.
	for range 3 {
		w := ns.do("GET", approve, nil)
		wantStatus(t, w, http.StatusOK, "GET the approve link")
		body := w.Body.String()
		for _, want := range []string{"alice", "vpn-gw", "203.0.113.7", `<form method="post" id="link-form"><button type="submit">Approve</button>`} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, "<script") {
			t.Errorf("a script on the link page:\n%s", body)
		}
		csp := w.Header().Get("Content-Security-Policy")
		if csp != linkCSP || strings.Contains(csp, "script-src") || !strings.Contains(csp, "default-src 'none'") ||
			!strings.Contains(csp, "form-action 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q", csp)
		}
	}
	if ns.hub.Len() != 1 || len(ns.events) != 0 {
		t.Fatal("a GET answered the push")
	}
	// The app's tap: a POST settles it.
	w := ns.tap(approve)
	wantStatus(t, w, http.StatusOK, "POST the approve link")
	if !strings.Contains(w.Body.String(), "Approved") || w.Header().Get("Content-Security-Policy") != linkCSP {
		t.Errorf("answer page %s %v", w.Body, w.Header())
	}
	ns.evMu.Lock()
	if len(ns.events) != 1 || ns.events[0].Verdict != push.Approved || ns.events[0].DeviceID != id {
		t.Errorf("events %+v", ns.events)
	}
	ns.evMu.Unlock()
	// Replayed: refused, GET and POST alike.
	for _, method := range []string{"POST", "GET"} {
		w := ns.postRaw(approve, "", "")
		if method == "GET" {
			w = ns.do("GET", approve, nil)
		}
		wantStatus(t, w, http.StatusGone, method+" a used link")
		if !strings.Contains(w.Body.String(), "already answered") {
			t.Errorf("%s a used link: %s", method, w.Body)
		}
	}

	// Deny, and deny and report, from the confirmation page's form.
	for verdict, want := range map[string]push.Verdict{push.AnswerDeny: push.Denied, push.AnswerReport: push.Reported} {
		ns.hub.Resume("alice")
		p := ns.beginLinked("alice", id, push.Context{})
		l := ns.link(p, verdict, 0)
		if body := ns.do("GET", l, nil).Body.String(); !strings.Contains(body, `class="danger"`) {
			t.Errorf("%s: the button is not marked:\n%s", verdict, body)
		}
		w := ns.do("POST", l, url.Values{})
		wantStatus(t, w, http.StatusOK, "POST "+verdict)
		ns.evMu.Lock()
		if last := ns.events[len(ns.events)-1]; last.Verdict != want || last.Nonce != p.Nonce {
			t.Errorf("%s: event %+v", verdict, last)
		}
		ns.evMu.Unlock()
	}
}

func TestNtfyLinkRefusals(t *testing.T) {
	ns := newNtfySite(t, testNtfyServer)
	a := ns.signedUp("alice")
	_, id := ns.pairNtfy(a, "ntfy")
	p := ns.beginLinked("alice", id, push.Context{})
	good := ns.link(p, push.AnswerApprove, 0)
	tok := strings.TrimPrefix(good, push.LinkPath)

	other, _ := push.NewLinkKey(bytes.Repeat([]byte{1}, 32))
	foreign, _ := other.Sign(*p, push.AnswerApprove, 0)
	flipped := []byte(tok)
	flipped[len(flipped)-5] ^= 1
	for name, path := range map[string]string{
		"another key's": push.LinkPath + foreign,
		"tampered":      push.LinkPath + string(flipped),
		"short":         push.LinkPath + tok[:40],
		"garbage":       push.LinkPath + "not-a-link",
	} {
		w := ns.tap(path)
		wantStatus(t, w, http.StatusForbidden, name)
		if !strings.Contains(w.Body.String(), "not a valid approval link") {
			t.Errorf("%s: %s", name, w.Body)
		}
	}
	if ns.hub.Len() != 1 {
		t.Fatal("a refused link settled the push")
	}

	// A Web Push device's push cannot be answered by a link, even one with
	// a valid MAC.
	ph := newPhone(t)
	ps := ns.pushSite
	ps.pair(ph, ps.pairToken(a), "pixel")
	wp := ps.begin(ph)
	w := ns.tap(ns.link(wp, push.AnswerApprove, 0))
	wantStatus(t, w, http.StatusGone, "a link to a Web Push push")
	if _, ok := ns.hub.Get(wp.Nonce, "alice"); !ok {
		t.Fatal("the Web Push push was settled by a link")
	}

	// A device disabled meanwhile answers nothing.
	if err := ns.st.UpdateEnrollment(context.Background(), "alice", id, func(e *store.Enrollment) error {
		e.Disabled = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	w = ns.tap(good)
	wantStatus(t, w, http.StatusForbidden, "a disabled device's link")
	if !strings.Contains(w.Body.String(), "can no longer answer") {
		t.Errorf("disabled: %s", w.Body)
	}
	if err := ns.st.UpdateEnrollment(context.Background(), "alice", id, func(e *store.Enrollment) error {
		e.Disabled = false
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Expired: the link's time is up.
	ns.mu.Lock()
	ns.now = ns.now.Add(5 * time.Minute)
	ns.mu.Unlock()
	w = ns.tap(good)
	wantStatus(t, w, http.StatusGone, "an expired link")
	if !strings.Contains(w.Body.String(), "expired") {
		t.Errorf("expired: %s", w.Body)
	}

	// Opening a bad link (GET) answers nothing and is not charged; POSTed
	// refusals use up the address's budget.
	var last *httptest.ResponseRecorder
	for range 2 * signinBurst {
		r := httptest.NewRequest("GET", push.LinkPath+"garbage", nil)
		r.RemoteAddr = "192.0.2.77:4000"
		last = httptest.NewRecorder()
		ns.h.ServeHTTP(last, r)
	}
	if last.Code == http.StatusTooManyRequests {
		t.Fatal("GETs of a bad link used up the address's budget")
	}
	for range signinBurst + 1 {
		last = ns.postRawFrom("192.0.2.77:4000", push.LinkPath+"garbage", "", "")
	}
	wantStatus(t, last, http.StatusTooManyRequests, "the eleventh refused link")
}

func TestNtfyLinkNumberMatching(t *testing.T) {
	ns := newNtfySite(t, testNtfyServer)
	a := ns.signedUp("alice")
	_, id := ns.pairNtfy(a, "ntfy")
	for _, c := range []struct {
		pick int
		want push.Verdict
		page string
	}{{17, push.Denied, "not the number shown"}, {42, push.Approved, "Approved"}} {
		p := ns.beginLinked("alice", id, push.Context{Number: 42, Choices: []int{17, 42, 88}})
		l := ns.link(p, push.AnswerApprove, c.pick)
		if body := ns.do("GET", l, nil).Body.String(); !strings.Contains(body, "Approve with number") {
			t.Errorf("pick %d: page %s", c.pick, body)
		}
		w := ns.tap(l)
		wantStatus(t, w, http.StatusOK, "a pick")
		if !strings.Contains(w.Body.String(), c.page) {
			t.Errorf("pick %d: %s", c.pick, w.Body)
		}
		ns.evMu.Lock()
		if last := ns.events[len(ns.events)-1]; last.Verdict != c.want {
			t.Errorf("pick %d: %+v", c.pick, last)
		}
		ns.evMu.Unlock()
	}
}

// TestNtfyDeviceInConsole: staff see the ntfy device among the user's
// devices, and can disable it like any other.
func TestNtfyDeviceInConsole(t *testing.T) {
	ns := newNtfySite(t, testNtfyServer)
	a := ns.signedUp("alice")
	_, id := ns.pairNtfy(a, "ntfy on pixel")
	ns.addUser("helen", "admin")
	_, hs := ns.addTOTP("helen")
	hc := ns.signInTOTP("helen", hs)
	page := ns.do("GET", "/console/users/alice", nil, hc).Body.String()
	dev := "/console/users/alice/devices/" + id
	if !strings.Contains(page, "push (ntfy)") || !strings.Contains(page, "ntfy on pixel") || !strings.Contains(page, dev+"/disable") {
		t.Fatalf("the console does not list the ntfy device:\n%s", page)
	}
	w := ns.do("POST", dev+"/disable", url.Values{}, hc)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", w.Code, w.Body)
	}
	if err := ns.svc.LinkApprover(context.Background(), "alice", id); err == nil {
		t.Error("the disabled device still answers links")
	}
}
