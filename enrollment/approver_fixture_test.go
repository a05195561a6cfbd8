package enrollment

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"radiusmfa/factors/push"
)

// pushSite is the real site with push approval: a Hub on the fixture's
// clock, and the approver app's routes.
type pushSite struct {
	*realSite
	hub *push.Hub

	evMu   sync.Mutex
	events []push.Event
}

// testVAPIDPublic stands for the server's application server key: the
// handlers only pass it on to the app.
const testVAPIDPublic = "BPcMbnWQL5GOYX_5wgE8_ydvV_2l5vOWBYpoaK1mrjW_sj-zm_6FdNsyL2FJWgsC9WWlFVGz6G3o7bBjZLTDqWY"

func newPushSite(t *testing.T) *pushSite {
	t.Helper()
	ps := &pushSite{realSite: newRealSite(t)}
	ps.hub = push.NewHub(push.Options{Now: ps.clock, OnEvent: func(ev push.Event) {
		ps.evMu.Lock()
		ps.events = append(ps.events, ev)
		ps.evMu.Unlock()
	}})
	// The same parts as newRealSite, with push: the handler it built is
	// replaced (its sessions are not shared, so sign in after this).
	ps.h = Handler(Config{}, Deps{Auth: ps.engine, Admin: ps.svc, Roles: Roles{Builtin: true}, Audit: storeAudit{ps.st},
		Now: ps.clock, Push: &PushDeps{Hub: ps.hub, VAPIDPublic: testVAPIDPublic}}, slog.New(slog.DiscardHandler))
	return ps
}

// phone is an approver app as app.js makes one: an ECDSA P-256 key that
// signs, and a push subscription (the browser's ECDH key and auth secret).
type phone struct {
	key      *ecdsa.PrivateKey
	ua       *ecdh.PrivateKey
	auth     []byte
	endpoint string
	// user and device are what pairing answered.
	user, device string
}

func newPhone(t *testing.T) *phone {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ua, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := make([]byte, 16)
	_, _ = rand.Read(a)
	return &phone{key: key, ua: ua, auth: a, endpoint: "https://127.0.0.1/push/" + base64.RawURLEncoding.EncodeToString(a)}
}

// spki is the public key as app.js sends it: btoa of exportKey("spki").
func (ph *phone) spki(t *testing.T) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&ph.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// subscription is PushSubscription.toJSON() of the phone.
func (ph *phone) subscription() json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"endpoint": ph.endpoint, "expirationTime": nil,
		"keys": map[string]string{
			"p256dh": base64.RawURLEncoding.EncodeToString(ph.ua.PublicKey().Bytes()),
			"auth":   base64.RawURLEncoding.EncodeToString(ph.auth),
		},
	})
	return b
}

// sign signs text as app.js does: WebCrypto ECDSA P-256 / SHA-256, whose
// signature is r||s (IEEE P1363), sent base64url without padding.
func (ph *phone) sign(t *testing.T, text string) string {
	t.Helper()
	h := sha256.Sum256([]byte(text))
	r, s, err := ecdsa.Sign(rand.Reader, ph.key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return base64.RawURLEncoding.EncodeToString(sig)
}

// listRequest is the body app.js posts to /approver/pending.
func (ph *phone) listRequest(t *testing.T, at time.Time) map[string]any {
	tm := at.Unix()
	return map[string]any{"user": ph.user, "device": ph.device, "time": tm,
		"signature": ph.sign(t, "radiusmfa-list-v1\n"+ph.user+"\n"+ph.device+"\n"+strconv.FormatInt(tm, 10))}
}

// answerRequest is the body app.js posts to /approver/answer.
func (ph *phone) answerRequest(t *testing.T, nonce, user, verdict string, at time.Time) map[string]any {
	tm := at.Unix()
	return map[string]any{"nonce": nonce, "user": user, "verdict": verdict, "time": tm, "number": 0,
		"signature": ph.sign(t, "radiusmfa-push-v1\n"+nonce+"\n"+user+"\n"+verdict+"\n"+strconv.FormatInt(tm, 10))}
}

// postJSON posts body as the app does (fetch, no cookie). Each call comes
// from its own address, so the per-address guess budget of the answers
// does not run out under the fixture's stopped clock.
func (ps *pushSite) postJSON(path string, body any) *httptest.ResponseRecorder {
	b, err := json.Marshal(body)
	if err != nil {
		ps.t.Fatal(err)
	}
	return ps.postRaw(path, "application/json", string(b))
}

var approverAddr struct {
	mu sync.Mutex
	n  int
}

func (ps *pushSite) postRaw(path, contentType, body string) *httptest.ResponseRecorder {
	approverAddr.mu.Lock()
	approverAddr.n++
	addr := "198.51.100." + strconv.Itoa(approverAddr.n%250+1) + ":4000"
	approverAddr.mu.Unlock()
	return ps.postRawFrom(addr, path, contentType, body)
}

// postJSONFrom is postJSON from the address addr ("host:port").
func (ps *pushSite) postJSONFrom(addr, path string, body any) *httptest.ResponseRecorder {
	b, err := json.Marshal(body)
	if err != nil {
		ps.t.Fatal(err)
	}
	return ps.postRawFrom(addr, path, "application/json", string(b))
}

func (ps *pushSite) postRawFrom(addr, path, contentType, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "https://site.example"+path, strings.NewReader(body))
	r.RemoteAddr = addr
	r.Header.Set("Content-Type", contentType)
	w := httptest.NewRecorder()
	ps.h.ServeHTTP(w, r)
	return w
}

var pairLinkRe = regexp.MustCompile(`href="https://site\.example/approver/#pair=([A-Za-z0-9_-]{43})"`)

// pushUser is a signed-in user with an authenticator app.
type pushUser struct {
	name, secret string
	c            *http.Cookie
}

// pairToken asks for a pairing page in a's session and returns its token.
// It sends a current code as the proof a stale session needs (and moves
// the clock past it, as it is spent).
func (ps *pushSite) pairToken(a pushUser) string {
	ps.t.Helper()
	w := ps.do("POST", "/me/approver", url.Values{"proof": {ps.code(a.secret)}}, a.c)
	ps.tick()
	if w.Code != http.StatusOK {
		ps.t.Fatalf("POST /me/approver: %d %s", w.Code, w.Body)
	}
	m := pairLinkRe.FindStringSubmatch(w.Body.String())
	if m == nil {
		ps.t.Fatalf("no pairing link on the page:\n%s", w.Body)
	}
	return m[1]
}

// pair pairs ph with a token and fails the test unless it works.
func (ps *pushSite) pair(ph *phone, token, name string) {
	ps.t.Helper()
	w := ps.postJSON("/approver/pair", map[string]any{"token": token, "name": name,
		"public_key": ph.spki(ps.t), "subscription": ph.subscription()})
	if w.Code != http.StatusOK {
		ps.t.Fatalf("POST /approver/pair: %d %s", w.Code, w.Body)
	}
	var res struct{ User, Device string }
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.Device == "" {
		ps.t.Fatalf("pairing answered %s (%v)", w.Body, err)
	}
	ph.user, ph.device = res.User, res.Device
}

// signedUp makes a user with an authenticator app, signed in.
func (ps *pushSite) signedUp(name string) pushUser {
	ps.t.Helper()
	ps.addUser(name)
	_, secret := ps.addTOTP(name)
	return pushUser{name: name, secret: secret, c: ps.signInTOTP(name, secret)}
}

// pairedPhone makes user name (signed in) and pairs a new phone for them.
func (ps *pushSite) pairedPhone(name string) (*phone, pushUser) {
	ps.t.Helper()
	a := ps.signedUp(name)
	ph := newPhone(ps.t)
	ps.pair(ph, ps.pairToken(a), "pixel")
	return ph, a
}

// begin starts a push to ph's device as the RADIUS side would.
func (ps *pushSite) begin(ph *phone) *push.Pending {
	ps.t.Helper()
	p, err := ps.hub.Begin(ph.user, ph.device, &ph.key.PublicKey,
		push.Context{Client: "vpn-gw", CallingStationID: "203.0.113.7"}, 5*time.Minute)
	if err != nil {
		ps.t.Fatal(err)
	}
	return p
}

func serveJSON(h http.Handler, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "https://site.example"+path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

type recordingSender struct{ sent chan []byte }

func (s *recordingSender) Send(_ context.Context, _ push.Subscription, payload []byte) error {
	s.sent <- payload
	return nil
}
