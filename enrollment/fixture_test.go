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

	"github.com/pquerna/otp"
	otptotp "github.com/pquerna/otp/totp"

	"radiusmfa/admin"
	"radiusmfa/auth"
	"radiusmfa/auth/localdir"
	"radiusmfa/factors"
	"radiusmfa/factors/backup"
	"radiusmfa/factors/bypass"
	"radiusmfa/factors/factortest"
	"radiusmfa/factors/totp"
	"radiusmfa/store"
	"radiusmfa/store/bolt"
)

// realSite is the site over real parts: a bbolt store, the built-in
// directory, the decision engine, every factor and the admin service, with
// one clock the test moves (TOTP codes are single use per 30 s step).
type realSite struct {
	t      *testing.T
	st     *bolt.DB
	svc    *admin.Service
	engine *auth.Engine
	h      http.Handler
	mu     sync.Mutex
	now    time.Time
	alerts []store.AuditRecord
	// box receives the codes sent (newCodesSite); nil without codes.
	box *factortest.Outbox
}

// storeAudit writes audit records straight to the store, so a test reads
// them back at once.
type storeAudit struct{ st store.Store }

func (a storeAudit) Record(r store.AuditRecord) { _ = a.st.AppendAudit(context.Background(), r) }

const testPasswordSuffix = "-password-1"

func newRealSite(t *testing.T) *realSite {
	t.Helper()
	return buildRealSite(t, nil)
}

// buildRealSite is newRealSite, sending codes as codes says when not nil
// (newCodesSite).
func buildRealSite(t *testing.T, codes *codesOptions) *realSite {
	t.Helper()
	fx := &realSite{t: t, now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	clock := fx.clock
	st, err := bolt.Open(filepath.Join(t.TempDir(), "site.db"), make([]byte, 32), bolt.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fx.st = st
	dir, err := localdir.New(st, localdir.Params{Time: 1, MemoryKiB: 64, Threads: 1}, 4)
	if err != nil {
		t.Fatal(err)
	}
	fs := []factors.Factor{
		totp.New(st, totp.Options{Skew: 1, Now: clock}),
		backup.New(st, backup.Options{Now: clock}),
		bypass.New(st, bypass.Options{Now: clock}),
	}
	sender := fx.sender(codes)
	if sender != nil {
		fs = append(fs, sender.Factors()...)
	}
	fx.engine = auth.NewEngine(dir, st, fs, auth.Policy{MFA: auth.ModeRequired, EnrollMessage: "enroll first",
		Lockout: store.LockoutPolicy{Threshold: 5, Duration: time.Minute}}, clock)
	fm := map[string]factors.Factor{}
	for _, f := range fs {
		fm[f.Kind()] = f
	}
	o := admin.Options{Hash: localdir.Params{Time: 1, MemoryKiB: 64, Threads: 1},
		Issuer: "test", Digits: 6, Algorithm: "SHA1", Skew: 1, Now: clock, Factors: fm,
		Enforcement: fx.engine.Enforcement, OnEnforcement: fx.engine.SetEnforcement,
		Alert: func(r store.AuditRecord) { fx.mu.Lock(); fx.alerts = append(fx.alerts, r); fx.mu.Unlock() },
		Clients: func() []admin.ClientInfo {
			return []admin.ClientInfo{{Name: "vpn-gw", Networks: []string{"127.0.0.1/32"}, RequireMessageAuthenticator: "true",
				LastRequest: fx.clock(), Requests: 3, Accepts: 2, Rejects: 1, WithMessageAuthenticator: 3}}
		},
	}
	if sender != nil {
		fx.engine.SetCodeSender(sender)
		o.Codes, o.PhoneRules = sender, codes.rules
	}
	fx.svc = admin.NewService(st, o)
	fx.h = Handler(Config{}, Deps{Auth: fx.engine, Admin: fx.svc, Roles: Roles{Builtin: true}, Audit: storeAudit{st}, Now: clock},
		slog.New(slog.DiscardHandler))
	return fx
}

func (fx *realSite) clock() time.Time {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return fx.now
}

// tick moves the clock one TOTP step on, so the next code is a new one.
func (fx *realSite) tick() {
	fx.mu.Lock()
	fx.now = fx.now.Add(30 * time.Second)
	fx.mu.Unlock()
}

// local is a context acting as a local admin (the CLI), for set-up.
func local() context.Context { return admin.WithActor(context.Background(), "test-setup") }

// addUser makes a built-in user (password name+testPasswordSuffix) with roles.
func (fx *realSite) addUser(name string, roles ...string) {
	fx.t.Helper()
	if err := fx.svc.AddUser(local(), name, name+testPasswordSuffix); err != nil {
		fx.t.Fatal(err)
	}
	if len(roles) > 0 {
		if err := fx.svc.SetRoles(local(), name, roles); err != nil {
			fx.t.Fatal(err)
		}
	}
}

// addTOTP enrolls an authenticator app for name and returns its secret.
func (fx *realSite) addTOTP(name string) (id, secret string) {
	fx.t.Helper()
	res, err := fx.svc.EnrollTOTP(local(), admin.TOTPRequest{User: name, Label: "phone"})
	if err != nil {
		fx.t.Fatal(err)
	}
	return res.ID, res.Secret
}

// code is the current code of secret; call tick between two uses.
func (fx *realSite) code(secret string) string {
	fx.t.Helper()
	c, err := otptotp.GenerateCodeCustom(secret, fx.clock(), otptotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		fx.t.Fatal(err)
	}
	return c
}

// signIn signs name in with their password and code (which may be a
// backup or bypass code) and returns the session cookie.
func (fx *realSite) signIn(name, code string) *http.Cookie {
	fx.t.Helper()
	w := fx.do("POST", "/signin", url.Values{"user": {name}, "password": {name + testPasswordSuffix}, "code": {code}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/me" {
		fx.t.Fatalf("sign-in of %s: status %d, location %q: %s", name, w.Code, w.Header().Get("Location"), w.Body)
	}
	return sessionOf(fx.t, w)
}

// signInTOTP signs in with the secret's current code and moves the clock on.
func (fx *realSite) signInTOTP(name, secret string) *http.Cookie {
	fx.t.Helper()
	c := fx.signIn(name, fx.code(secret))
	fx.tick()
	return c
}

// do sends one request as a browser of the site would (same origin).
func (fx *realSite) do(method, path string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	return serve(fx.h, method, path, form, cookies...)
}

// serve sends one same-origin request with a form body (none when nil)
// and cookies to h.
func serve(h http.Handler, method, path string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	body := strings.NewReader("")
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "https://site.example"+path, body)
	r.RemoteAddr = "192.0.2.10:4000"
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// lastAudit returns the newest audit records, newest first.
func (fx *realSite) lastAudit(n int) []store.AuditRecord {
	fx.t.Helper()
	recs, err := fx.st.RecentAudit(context.Background(), n)
	if err != nil {
		fx.t.Fatal(err)
	}
	for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
		recs[i], recs[j] = recs[j], recs[i]
	}
	return recs
}

func TestRealSiteSignIn(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	_, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)
	w := fx.do("GET", "/me", nil, c)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "alice") {
		t.Fatalf("/me: %d %s", w.Code, w.Body)
	}
	// The code just used is spent: the same step cannot sign in again.
	fx.mu.Lock()
	fx.now = fx.now.Add(-30 * time.Second)
	fx.mu.Unlock()
	w = fx.do("POST", "/signin", url.Values{"user": {"alice"}, "password": {"alice" + testPasswordSuffix}, "code": {fx.code(secret)}})
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("replayed code: status %d", w.Code)
	}
}
