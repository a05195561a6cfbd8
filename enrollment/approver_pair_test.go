package enrollment

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"radiusmfa/factors/push"
	"radiusmfa/store"
)

func TestApproverRoutesNeedPush(t *testing.T) {
	fx := newRealSite(t)
	for _, path := range []string{"/approver/", "/approver/sw.js", "/approver/vapid"} {
		if w := fx.do("GET", path, nil); w.Code != http.StatusNotFound {
			t.Errorf("GET %s without push: %d", path, w.Code)
		}
	}
	if w := serveJSON(fx.h, "/approver/pair", `{}`); w.Code != http.StatusNotFound && w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /approver/pair without push: %d", w.Code)
	}
}

func TestApproverPairPage(t *testing.T) {
	ps := newPushSite(t)
	ps.addUser("alice")
	_, secret := ps.addTOTP("alice")

	// No session: to the sign-in page. No token was made.
	w := ps.do("POST", "/me/approver", url.Values{})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signin" {
		t.Fatalf("without a session: %d %q", w.Code, w.Header().Get("Location"))
	}

	c := ps.signInTOTP("alice", secret)
	page := ps.do("GET", "/me", nil, c).Body.String()
	if !strings.Contains(page, `action="/me/approver"`) {
		t.Fatalf("the account page offers no pairing:\n%s", page)
	}
	w = ps.do("POST", "/me/approver", url.Values{}, c)
	wantStatus(t, w, http.StatusOK, "POST /me/approver")
	body := w.Body.String()
	if !strings.Contains(body, `src="data:image/png;base64,`) || !strings.Contains(body, `id="pair-qr"`) {
		t.Errorf("no QR code image on the pairing page:\n%s", body)
	}
	if !pairLinkRe.MatchString(body) {
		t.Errorf("no pairing link on the page:\n%s", body)
	}
	if !strings.Contains(body, "10:10 UTC") { // the fixture's 10:00:30 + 10 min
		t.Errorf("the page does not say until when the code works:\n%s", body)
	}
	if recs := ps.lastAudit(1); len(recs) != 1 || recs[0].Detail != "push.pair started" || recs[0].User != "alice" {
		t.Errorf("audit %+v", recs)
	}

	// Signed in a while ago: a fresh code first.
	ps.mu.Lock()
	ps.now = ps.now.Add(recentProof + time.Minute)
	ps.mu.Unlock()
	if page := ps.do("GET", "/me", nil, c).Body.String(); !strings.Contains(page, `id="pair-proof"`) {
		t.Errorf("a stale session is not asked for a code to pair:\n%s", page)
	}
	w = ps.do("POST", "/me/approver", url.Values{}, c)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/me?done=") {
		t.Fatalf("stale session without proof: %d %q", w.Code, w.Header().Get("Location"))
	}
	w = ps.do("POST", "/me/approver", url.Values{"proof": {"000000"}}, c)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("stale session with a wrong proof: %d", w.Code)
	}
	w = ps.do("POST", "/me/approver", url.Values{"proof": {ps.code(secret)}}, c)
	wantStatus(t, w, http.StatusOK, "stale session with a proof")
	if !pairLinkRe.MatchString(w.Body.String()) {
		t.Errorf("no pairing link after the proof:\n%s", w.Body)
	}
}

// TestApproverPairNeedsFullSession: a user with no device yet (an
// enrollment-only session) pairs no phone: push is a second factor beside
// a first one, never the way to get one.
func TestApproverPairNeedsFullSession(t *testing.T) {
	ps := newPushSite(t)
	ps.addUser("newbie")
	w := ps.do("POST", "/signin", url.Values{"user": {"newbie"}, "password": {"newbie" + testPasswordSuffix}})
	c := sessionOf(t, w)
	w = ps.do("POST", "/me/approver", url.Values{}, c)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/me" {
		t.Fatalf("enrollment-only session: %d %q %s", w.Code, w.Header().Get("Location"), w.Body)
	}
}

func TestApproverPair(t *testing.T) {
	ps := newPushSite(t)
	a := ps.signedUp("alice")
	ph := newPhone(t)
	tok := ps.pairToken(a)
	ps.pair(ph, tok, "Pixel 7")
	if ph.user != "alice" {
		t.Fatalf("paired for %q", ph.user)
	}
	es, err := ps.st.Enrollments(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	var found *store.Enrollment
	for i := range es {
		if es[i].ID == ph.device {
			found = &es[i]
		}
	}
	if found == nil || found.Kind != push.Kind || found.Label != "Pixel 7" {
		t.Fatalf("stored enrollments %+v", es)
	}
	dev, err := push.DeviceOf(*found)
	if err != nil {
		t.Fatal(err)
	}
	if !dev.PublicKey.Equal(&ph.key.PublicKey) || dev.Subscription.Endpoint != ph.endpoint ||
		dev.Subscription.Auth != base64.RawURLEncoding.EncodeToString(ph.auth) {
		t.Errorf("stored device %+v", dev)
	}

	// The token is single use, even for another phone.
	w := ps.postJSON("/approver/pair", map[string]any{"token": tok, "public_key": newPhone(t).spki(t), "subscription": ph.subscription()})
	wantStatus(t, w, http.StatusForbidden, "the token again")

	// Unknown token.
	w = ps.postJSON("/approver/pair", map[string]any{"token": strings.Repeat("A", 43), "public_key": ph.spki(t), "subscription": ph.subscription()})
	wantStatus(t, w, http.StatusForbidden, "an unknown token")

	// Expired: a token works for 10 minutes (pairToken moved the clock
	// 30 s on already).
	tok = ps.pairToken(a)
	ps.mu.Lock()
	ps.now = ps.now.Add(pairTTL - 30*time.Second)
	ps.mu.Unlock()
	w = ps.postJSON("/approver/pair", map[string]any{"token": tok, "public_key": newPhone(t).spki(t), "subscription": ph.subscription()})
	wantStatus(t, w, http.StatusForbidden, "an expired token")

	// Just inside the 10 minutes, it works.
	a.c = ps.signInTOTP("alice", a.secret) // the session idled out
	tok = ps.pairToken(a)
	ps.mu.Lock()
	ps.now = ps.now.Add(pairTTL - 30*time.Second - time.Second)
	ps.mu.Unlock()
	ps.pair(newPhone(t), tok, "")

	tok = ps.pairToken(a)
	good := map[string]any{"token": tok, "public_key": newPhone(t).spki(t), "subscription": newPhone(t).subscription()}
	// Not JSON: 415, and the token is not spent.
	b, _ := json.Marshal(good)
	wantStatus(t, ps.postRaw("/approver/pair", "text/plain", string(b)), http.StatusUnsupportedMediaType, "text/plain")
	wantStatus(t, ps.postRaw("/approver/pair", "application/x-www-form-urlencoded", "token="+tok), http.StatusUnsupportedMediaType, "a form")
	// Unknown fields, or not JSON at all: 400, the token not spent.
	bad := map[string]any{"admin": true}
	for k, v := range good {
		bad[k] = v
	}
	wantStatus(t, ps.postJSON("/approver/pair", bad), http.StatusBadRequest, "an unknown field")
	wantStatus(t, ps.postRaw("/approver/pair", "application/json", `{"token":`), http.StatusBadRequest, "broken JSON")
	wantStatus(t, ps.postRaw("/approver/pair", "application/json", string(b)+`{"token":"x"}`), http.StatusBadRequest, "two objects")
	wantStatus(t, ps.postRaw("/approver/pair", "application/json", `{"name":"`+strings.Repeat("x", maxApproverBody)+`"}`), http.StatusBadRequest, "a huge body")
	// A charset parameter is still JSON.
	wantStatus(t, ps.postRaw("/approver/pair", "application/json; charset=utf-8", string(b)), http.StatusOK, "JSON with a charset")

	// A key that is not P-256, or a subscription over http to another
	// host: 400, and the token is spent.
	for name, mod := range map[string]func(m map[string]any){
		"RSA-sized key": func(m map[string]any) { m["public_key"] = base64.StdEncoding.EncodeToString(make([]byte, 294)) },
		"http endpoint": func(m map[string]any) {
			m["subscription"] = json.RawMessage(strings.Replace(string(newPhone(t).subscription()), "https://127.0.0.1", "http://push.example", 1))
		},
		"short auth": func(m map[string]any) {
			m["subscription"] = json.RawMessage(`{"endpoint":"https://127.0.0.1/p","keys":{"p256dh":"` +
				base64.RawURLEncoding.EncodeToString(newPhone(t).ua.PublicKey().Bytes()) + `","auth":"AAAA"}}`)
		},
	} {
		m := map[string]any{"token": ps.pairToken(a),
			"public_key": newPhone(t).spki(t), "subscription": newPhone(t).subscription()}
		mod(m)
		wantStatus(t, ps.postJSON("/approver/pair", m), http.StatusBadRequest, name)
		wantStatus(t, ps.postJSON("/approver/pair", m), http.StatusForbidden, name+": the token again")
	}
}

func TestApproverPairTokensPerUser(t *testing.T) {
	pt := &pairTokens{m: map[[32]byte]pairToken{}}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var toks []string
	for i := range 5 {
		tok, err := pt.issue("alice", now.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	other, _ := pt.issue("bob", now)
	// The newest three of alice's work; her older ones made room.
	for i, tok := range toks {
		_, ok := pt.take(tok, now.Add(time.Minute))
		if want := i >= len(toks)-maxPairsPerUser; ok != want {
			t.Errorf("token %d of 5: usable %v, want %v", i, ok, want)
		}
	}
	if u, ok := pt.take(other, now.Add(time.Minute)); !ok || u != "bob" {
		t.Errorf("bob's token: %q %v", u, ok)
	}
}

func TestApproverHeadersAndFiles(t *testing.T) {
	ps := newPushSite(t)
	w := ps.do("GET", "/approver/", nil)
	wantStatus(t, w, http.StatusOK, "GET /approver/")
	csp := w.Header().Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "script-src 'self'", "worker-src 'self'", "connect-src 'self'",
		"manifest-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP of /approver/ lacks %q: %s", d, csp)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP of /approver/ allows inline or eval: %s", csp)
	}
	body := w.Body.String()
	if !strings.Contains(body, `<script src="/assets/approver/app.js"`) || strings.Contains(body, "<script>") {
		t.Errorf("the app page should load app.js and hold no inline script:\n%s", body)
	}
	if !strings.Contains(body, `rel="manifest" href="/approver/manifest.webmanifest"`) {
		t.Errorf("no manifest link:\n%s", body)
	}

	w = ps.do("GET", "/approver/sw.js", nil)
	wantStatus(t, w, http.StatusOK, "GET /approver/sw.js")
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("sw.js served as %q", ct)
	}
	want, _ := fs.ReadFile(assets, "assets/approver/sw.js")
	if w.Body.String() != string(want) {
		t.Error("sw.js is not the embedded file")
	}
	w = ps.do("GET", "/assets/approver/app.js", nil)
	if ct := w.Header().Get("Content-Type"); w.Code != http.StatusOK || !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("app.js: %d %q", w.Code, ct)
	}
	w = ps.do("GET", "/approver/manifest.webmanifest", nil)
	var manifest struct {
		Scope    string `json:"scope"`
		StartURL string `json:"start_url"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &manifest); err != nil || w.Header().Get("Content-Type") != "application/manifest+json" ||
		manifest.Scope != "/approver/" || manifest.StartURL != "/approver/" {
		t.Errorf("manifest: %q %+v %v", w.Header().Get("Content-Type"), manifest, err)
	}
	w = ps.do("GET", "/approver/vapid", nil)
	var v struct {
		PublicKey string `json:"public_key"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.PublicKey != testVAPIDPublic {
		t.Errorf("vapid: %s %v", w.Body, err)
	}
	// JSON answers are not to be framed or sniffed either.
	w = ps.postJSON("/approver/pending", map[string]any{})
	if w.Header().Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Errorf("JSON answer headers %v", w.Header())
	}
}

// With web.public_url the pairing link names the site as phones reach it,
// whatever Host the request came with (a reverse proxy's upstream name, or
// a name the user typed).
func TestApproverPairLinkUsesPublicURL(t *testing.T) {
	ps := newPushSite(t)
	ps.h = Handler(Config{PublicURL: "https://vpn.example.com:8443"}, Deps{Auth: ps.engine, Admin: ps.svc,
		Roles: Roles{Builtin: true}, Audit: storeAudit{ps.st}, Now: ps.clock,
		Push: &PushDeps{Hub: ps.hub, VAPIDPublic: testVAPIDPublic}}, slog.New(slog.DiscardHandler))
	ps.addUser("alice")
	_, secret := ps.addTOTP("alice")
	c := ps.signInTOTP("alice", secret)
	w := ps.do("POST", "/me/approver", url.Values{}, c)
	wantStatus(t, w, http.StatusOK, "POST /me/approver")
	if body := w.Body.String(); !strings.Contains(body, `href="https://vpn.example.com:8443/approver/#pair=`) || pairLinkRe.MatchString(body) {
		t.Errorf("the pairing link does not use web.public_url:\n%s", body)
	}
}
