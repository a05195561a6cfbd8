package integration

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"

	"radiusmfa/radiusd/radiustest"
)

// pushServerOpts is a server whose localhost client waits 5 s for a push,
// with a second client (127.0.0.2) that waits 30 s, for retransmissions,
// allowed to push to the test's plain-http push service on loopback.
func pushServerOpts() serverOpts {
	return serverOpts{
		MoreClients: firstClientKeys("push_timeout: 5s") + fmt.Sprintf(
			"    - name: slow-nas\n      networks: [\"127.0.0.2/32\"]\n      secret: %q\n      push_timeout: 30s\n", testSecret),
		Extra: "push:\n  allow_loopback_http_endpoints: true\n",
	}
}

// siteClient is a browser of the enrollment site in Go: a cookie jar, and
// TLS trusting exactly the site's certificate in data_dir/web.crt.
type siteClient struct {
	s    *server
	c    *http.Client
	base string // https://127.0.0.1:port/
}

func newSiteClient(t *testing.T, s *server) *siteClient {
	t.Helper()
	certPEM, err := os.ReadFile(filepath.Join(s.dataDir, "web.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("web.crt holds no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &siteClient{s: s, base: s.webURL(t), c: &http.Client{Timeout: 15 * time.Second, Jar: jar,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}}
}

// do sends one request and returns the status and body; err only when no
// answer came (for goroutines other than the test's).
func (sc *siteClient) do(method, path, contentType string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequest(method, strings.TrimSuffix(sc.base, "/")+path, body)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := sc.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (sc *siteClient) mustDo(t *testing.T, method, path, contentType string, body io.Reader) (int, []byte) {
	t.Helper()
	status, b, err := sc.do(method, path, contentType, body)
	if err != nil {
		sc.s.fatalf(t, "%s %s: %v", method, path, err)
	}
	return status, b
}

func (sc *siteClient) postJSON(path string, v any) (int, []byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, nil, err
	}
	return sc.do("POST", path, "application/json", bytes.NewReader(b))
}

// signIn signs a in with password and the current code; the session
// cookie stays in the jar.
func (sc *siteClient) signIn(t *testing.T, a *account) {
	t.Helper()
	c := a.code(t)
	form := url.Values{"user": {a.Name}, "password": {a.Password}, "code": {c.Code}}
	status, body := sc.mustDo(t, "POST", "/signin", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if status != http.StatusOK || !strings.Contains(string(body), `action="/me/approver"`) {
		sc.s.fatalf(t, "signing in %s: %d, no pairing form on the page:\n%s", a.Name, status, body)
	}
	a.accepted(c)
}

var pairTokenRe = regexp.MustCompile(`href="https://127\.0\.0\.1:\d+/approver/#pair=([A-Za-z0-9_-]{43})"`)

// pairLink asks the account page for a pairing code and returns the link
// the QR code holds and its token.
func (sc *siteClient) pairLink(t *testing.T) (link, token string) {
	t.Helper()
	status, body := sc.mustDo(t, "POST", "/me/approver", "application/x-www-form-urlencoded", strings.NewReader(""))
	m := pairTokenRe.FindStringSubmatch(string(body))
	if status != http.StatusOK || m == nil || !strings.Contains(string(body), `src="data:image/png;base64,`) {
		sc.s.fatalf(t, "POST /me/approver: %d, no QR code or pairing link:\n%s", status, body)
	}
	return strings.TrimPrefix(strings.TrimSuffix(m[0], `"`), `href="`), m[1]
}

// vapidKey is the server's VAPID public key, as the app reads it.
func (sc *siteClient) vapidKey(t *testing.T) string {
	t.Helper()
	status, body := sc.mustDo(t, "GET", "/approver/vapid", "", nil)
	var v struct {
		PublicKey string `json:"public_key"`
	}
	if err := json.Unmarshal(body, &v); status != http.StatusOK || err != nil || v.PublicKey == "" {
		sc.s.fatalf(t, "GET /approver/vapid: %d %s (%v)", status, body, err)
	}
	return v.PublicKey
}

// approver is a phone paired the way app.js pairs one, in Go: a P-256
// signing key and a push subscription at the test's push service.
type approver struct {
	*subscriber
	key          *ecdsa.PrivateKey
	site         *siteClient
	user, device string
}

// pairApprover signs a in, pairs a new approver for them through the site
// and returns it.
func pairApprover(t *testing.T, s *server, ps *pushService, a *account) *approver {
	t.Helper()
	sc := newSiteClient(t, s)
	sc.signIn(t, a)
	ps.expectVAPIDKey(sc.vapidKey(t))
	_, token := sc.pairLink(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ap := &approver{subscriber: newSubscriber(t), key: key, site: sc}
	endpoint := ps.add(ap.subscriber)
	status, body, err := sc.postJSON("/approver/pair", map[string]any{"token": token, "name": "go phone",
		"public_key": base64.StdEncoding.EncodeToString(der), "subscription": ap.subscriptionJSON(endpoint)})
	var res struct{ User, Device string }
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &res) != nil || res.Device == "" {
		s.fatalf(t, "POST /approver/pair: %d %s (%v)", status, body, err)
	}
	ap.user, ap.device = res.User, res.Device
	return ap
}

// sign signs text as app.js does: ECDSA P-256 / SHA-256 in WebCrypto's
// r||s form, base64url.
func (ap *approver) sign(text string) (string, error) {
	h := sha256.Sum256([]byte(text))
	r, s, err := ecdsa.Sign(rand.Reader, ap.key, h[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return base64.RawURLEncoding.EncodeToString(sig), nil
}

// answer posts a signed verdict for the push of nonce and returns the
// verdict the server gave.
func (ap *approver) answer(nonce, verdict string) (string, error) {
	now := time.Now().Unix()
	sig, err := ap.sign("radiusmfa-push-v1\n" + nonce + "\n" + ap.user + "\n" + verdict + "\n" + strconv.FormatInt(now, 10))
	if err != nil {
		return "", err
	}
	status, body, err := ap.site.postJSON("/approver/answer", map[string]any{"nonce": nonce, "user": ap.user,
		"verdict": verdict, "time": now, "signature": sig, "number": 0})
	if err != nil {
		return "", err
	}
	var res struct{ Verdict string }
	if status != http.StatusOK || json.Unmarshal(body, &res) != nil {
		return "", fmt.Errorf("POST /approver/answer %s: %d %s", verdict, status, body)
	}
	return res.Verdict, nil
}

// pending lists the pushes waiting for this approver, signed as app.js
// signs the request.
func (ap *approver) pending(t *testing.T) []pushMessage {
	t.Helper()
	now := time.Now().Unix()
	sig, err := ap.sign("radiusmfa-list-v1\n" + ap.user + "\n" + ap.device + "\n" + strconv.FormatInt(now, 10))
	if err != nil {
		t.Fatal(err)
	}
	status, body, err := ap.site.postJSON("/approver/pending", map[string]any{"user": ap.user, "device": ap.device,
		"time": now, "signature": sig})
	var res struct{ Pending []pushMessage }
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &res) != nil {
		ap.site.s.fatalf(t, "POST /approver/pending: %d %s (%v)", status, body, err)
	}
	return res.Pending
}

// answerNext answers the next push with verdict, in the background, while
// the test's goroutine waits in radclient; the channel says how it went.
func (ap *approver) answerNext(verdict string) <-chan error {
	done := make(chan error, 1)
	go func() {
		m, ok := ap.next(15 * time.Second)
		if !ok {
			done <- fmt.Errorf("no push reached the phone of %s within 15 s", ap.user)
			return
		}
		got, err := ap.answer(m.Nonce, verdict)
		want := map[string]string{"approve": "approved", "deny": "denied", "report": "reported"}[verdict]
		if err == nil && got != want {
			err = fmt.Errorf("answered %s: the server says %q", verdict, got)
		}
		done <- err
	}()
	return done
}

// pushLogin logs a in with "password,push" through radclient, waiting long
// enough for the push.
func pushLogin(t *testing.T, s *server, a *account) radReply {
	t.Helper()
	return radclient(t, s.authAddr(t), userAttrs(a.Name, a.Password+",push"), radclientOpts{MA: true, Timeout: 20 * time.Second})
}

// metric returns the value of one series on the server's /metrics, as
// Prometheus prints it (labels in name order); it fails t when absent.
func (s *server) metric(t *testing.T, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.addr.Ops + "/metrics")
	if err != nil {
		s.fatalf(t, "GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.fatalf(t, "GET /metrics: %v", err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				s.fatalf(t, "/metrics: %q", line)
			}
			return f
		}
	}
	s.fatalf(t, "/metrics has no %s", series)
	return 0
}

// auditOf returns the audit records of kind about user, oldest first.
func (s *server) auditOf(t *testing.T, kind, user string) []auditRecord {
	t.Helper()
	var out []auditRecord
	for _, r := range s.auditTail(t, 1000) {
		if r.Kind == kind && r.User == user {
			out = append(out, r)
		}
	}
	return out
}

// TestPushLogin is push approval end to end with the real binary: a phone
// paired through the site's endpoints gets each login's push, encrypted
// for it and signed by the server's VAPID key, through a push service on
// loopback, and answers it with a signed request; radclient sees the
// verdict.
func TestPushLogin(t *testing.T) {
	t.Parallel()
	s := startServer(t, pushServerOpts())
	ps := startPushService(t)

	t.Run("ApproveDenyTimeout", func(t *testing.T) {
		t.Parallel()
		a := s.newAccount(t, "push-user")
		ph := pairApprover(t, s, ps, a)

		done := ph.answerNext("approve")
		r := pushLogin(t, s, a)
		if err := <-done; err != nil {
			s.fatalf(t, "phone: %v", err)
		}
		s.expectCode(t, r, "Access-Accept")
		s.expectAudit(t, a.Name, 1, "accept", "ok")
		if rec := s.authRecords(t, a.Name)[0]; rec.Factor != "push" {
			t.Errorf("accepted login audited with factor %q, want push", rec.Factor)
		}

		done = ph.answerNext("deny")
		r = pushLogin(t, s, a)
		if err := <-done; err != nil {
			s.fatalf(t, "phone: %v", err)
		}
		s.expectCode(t, r, "Access-Reject")
		if !strings.Contains(r.ReplyMessage, "denied on your phone") {
			t.Errorf("denied: Reply-Message %q", r.ReplyMessage)
		}
		s.expectAudit(t, a.Name, 2, "reject", "push_denied")

		// No answer: rejected once the client's push_timeout (5 s) is up.
		start := time.Now()
		r = pushLogin(t, s, a)
		took := time.Since(start)
		s.expectCode(t, r, "Access-Reject")
		if took < 4500*time.Millisecond || took > 9*time.Second {
			t.Errorf("an unanswered push was given up after %s, want the client's push_timeout of 5 s", took)
		}
		if !strings.Contains(r.ReplyMessage, "No answer on your phone") {
			t.Errorf("timed out: Reply-Message %q", r.ReplyMessage)
		}
		s.expectAudit(t, a.Name, 3, "reject", "push_timed_out")
		m, ok := ph.next(time.Second)
		if !ok || m.User != a.Name || m.Context.Client != "localhost" || m.Context.NASIdentifier != "itest-nas" {
			t.Errorf("the unanswered push reached the phone as %+v (%v)", m, ok)
		}
		if n := ps.count(ph.subscriber); n != 3 {
			t.Errorf("%d pushes delivered for 3 logins", n)
		}
		var verdicts []string
		for _, rec := range s.auditOf(t, "push", a.Name) {
			verdicts = append(verdicts, rec.Outcome)
		}
		if strings.Join(verdicts, " ") != "approved denied timed_out" {
			t.Errorf("push audit records %v", verdicts)
		}
	})

	t.Run("DenyAndReport", func(t *testing.T) {
		t.Parallel()
		a := s.newAccount(t, "report-user")
		ph := pairApprover(t, s, ps, a)
		done := ph.answerNext("report")
		r := pushLogin(t, s, a)
		if err := <-done; err != nil {
			s.fatalf(t, "phone: %v", err)
		}
		s.expectCode(t, r, "Access-Reject")
		s.expectAudit(t, a.Name, 1, "reject", "push_reported")
		reports := s.waitAuditKind(t, "report", a.Name)
		if !strings.Contains(reports[0].Detail, "deny and report") {
			t.Errorf("report record %v", reports[0])
		}
		if recs := s.auditOf(t, "push", a.Name); len(recs) != 1 || recs[0].Outcome != "reported" ||
			!strings.Contains(recs[0].Detail, "push suspended") {
			t.Errorf("push audit records %v", recs)
		}
		if !strings.Contains(s.logs.String(), "denied and reported a push") {
			t.Error("the report was not logged for the admins")
		}

		// Push is suspended for the user: the next push login is refused
		// at once, and no push is sent.
		r = pushLogin(t, s, a)
		s.expectCode(t, r, "Access-Reject")
		if !strings.Contains(r.ReplyMessage, "Push approval is not available") {
			t.Errorf("suspended: Reply-Message %q", r.ReplyMessage)
		}
		s.expectAudit(t, a.Name, 2, "reject", "push_unavailable")
		if n := ps.count(ph.subscriber); n != 1 {
			t.Errorf("%d pushes delivered, want only the reported one", n)
		}
	})

	// A phone disabled while its push is pending: the waiting login ends
	// at once (not at the push timeout), and the push cannot be approved.
	t.Run("DisabledWhilePending", func(t *testing.T) {
		t.Parallel()
		a := s.newAccount(t, "withdrawn-user")
		ph := pairApprover(t, s, ps, a)
		done := pushLoginAsync(s.authAddr(t), a)
		m, ok := ph.next(10 * time.Second)
		if !ok {
			s.fatalf(t, "no push reached the phone")
		}
		s.mustCLI(t, "", "device", "disable", a.Name, ph.device)
		expectLogin(t, s, done, radius.CodeAccessReject)
		s.expectAudit(t, a.Name, 1, "reject", "push_unavailable")
		if v, err := ph.answer(m.Nonce, "approve"); err == nil {
			t.Errorf("approving the withdrawn push: %q", v)
		}
		if recs := s.auditOf(t, "push", a.Name); len(recs) != 1 || recs[0].Outcome != "cancelled" || recs[0].Reason != "withdrawn" {
			t.Errorf("push audit records %v", recs)
		}
		if n := s.metric(t, `radiusmfa_push_settled_total{reason="withdrawn",verdict="cancelled"}`); n != 1 {
			t.Errorf("withdrawn pushes on /metrics: %v, want 1", n)
		}
		if n := s.metric(t, "radiusmfa_push_pending"); n < 0 {
			t.Errorf("radiusmfa_push_pending %v", n)
		}
	})

	t.Run("Retransmissions", func(t *testing.T) {
		t.Parallel()
		a := s.newAccount(t, "retrans-user")
		ph := pairApprover(t, s, ps, a)
		c, err := radiustest.DialFrom(netip.MustParseAddr("127.0.0.2"), s.authAddr(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conn := udpConn{c}
		req := accessRequest(t, radius.CodeAccessRequest, a.Name, a.Password+",push")
		conn.send(t, req)
		m, ok := ph.next(10 * time.Second)
		if !ok {
			s.fatalf(t, "no push reached the phone")
		}
		// The NAS retransmits the same request every 2 s while the user
		// looks at the phone: no reply yet, and no second push.
		for range 5 {
			if b := conn.recv(t, 2*time.Second); b != nil {
				s.fatalf(t, "a reply before the phone answered: % x", b)
			}
			conn.send(t, req)
		}
		if p := ph.pending(t); len(p) != 1 || p[0].Nonce != m.Nonce {
			t.Errorf("the phone lists %+v pending, want the one push %s", p, m.Nonce)
		}
		if v, err := ph.answer(m.Nonce, "approve"); err != nil || v != "approved" {
			s.fatalf(t, "approve: %q, %v", v, err)
		}
		first := conn.recv(t, 5*time.Second)
		if p := s.mustReply(t, req, first); p.Code != radius.CodeAccessAccept {
			s.fatalf(t, "reply %v, want Access-Accept", p.Code)
		}
		// Later retransmissions get the same reply, byte for byte.
		for i := range 3 {
			conn.send(t, req)
			if b := conn.recv(t, replyTimeout); !bytes.Equal(b, first) {
				s.fatalf(t, "retransmission %d after the answer: reply % x, want % x", i+1, b, first)
			}
		}
		if n := ps.count(ph.subscriber); n != 1 {
			t.Errorf("%d pushes delivered for one retransmitted request, want 1", n)
		}
		if _, ok := ph.next(500 * time.Millisecond); ok {
			t.Error("a second push reached the phone")
		}
		s.expectSingleDecision(t, a.Name, "accept", "ok")
	})
}
