package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"radiusmfa/radiusd/radiustest"
)

// fakeSubscribeJS replaces PushManager.prototype.subscribe before the
// app's scripts run: headless Chromium reaches no real push service, so the
// subscription it hands the app points at the test's push service, with
// keys the test holds (to decrypt what the server pushes). It records what
// the app asked for, to check the application server key it passed, and
// any Content-Security-Policy violation of the page. It is injected
// through DevTools, not served: the page's CSP stays as it is.
const fakeSubscribeJS = `(() => {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
  const sub = %s;
  PushManager.prototype.subscribe = function (opts) {
    const key = new Uint8Array(opts.applicationServerKey);
    window.__subscribed = {userVisibleOnly: opts.userVisibleOnly,
      key: btoa(String.fromCharCode(...key)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')};
    return Promise.resolve({endpoint: sub.endpoint, toJSON: () => sub});
  };
})();`

// storedKeyJS reads what the app keeps in IndexedDB: its signing key.
const storedKeyJS = `new Promise((resolve) => {
  const r = indexedDB.open('radiusmfa-approver', 1);
  r.onsuccess = () => {
    const g = r.result.transaction('identity').objectStore('identity').get('me');
    g.onsuccess = () => resolve(g.result && g.result.key ? String(g.result.key.extractable) + ' ' + g.result.key.type : 'none');
  };
})`

// phoneBrowser is the approver app in headless Chromium, on a phone-sized
// screen, allowed notifications, its push subscription faked to sub.
type phoneBrowser struct {
	t      *testing.T
	s      *server
	ctx    context.Context
	origin string // https://127.0.0.1:port
	regs   chan *serviceworker.Registration
}

func newPhoneBrowser(t *testing.T, s *server, sub json.RawMessage) *phoneBrowser {
	t.Helper()
	ctx, cancel := context.WithTimeout(newBrowser(t, s.dataDir), 120*time.Second)
	t.Cleanup(cancel)
	pb := &phoneBrowser{t: t, s: s, ctx: ctx, origin: strings.TrimSuffix(s.webURL(t), "/"),
		regs: make(chan *serviceworker.Registration, 16)}
	for _, perm := range []*browser.PermissionDescriptor{{Name: "notifications"}, {Name: "push", UserVisibleOnly: true}} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: perm, Setting: "granted", Origin: pb.origin}); err != nil {
			t.Fatalf("granting %s: %v", perm.Name, err)
		}
	}
	// Service worker registrations, as DevTools reports them.
	events := chromedp.Events(ctx, serviceworker.WorkerRegistrationUpdated)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			for _, r := range ev.Registrations {
				if r.ScopeURL == pb.origin+"/approver/" && !r.IsDeleted {
					select {
					case pb.regs <- r:
					default:
					}
				}
			}
		}
	}()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		src := strings.Replace(fakeSubscribeJS, "%s", string(sub), 1)
		if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, serviceworker.Enable, cdp.Empty{})
		return err
	})); err != nil {
		t.Fatalf("preparing the browser: %v", err)
	}
	return pb
}

// do runs steps, failing the test after 15 s.
func (pb *phoneBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	pb.t.Helper()
	ctx, cancel := context.WithTimeout(pb.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		pb.s.fatalf(pb.t, "%s: %v", what, err)
	}
}

// evalIn evaluates js in the app's page.
func evalIn[T any](pb *phoneBrowser, js string, opts ...chromedp.EvaluateOption) (T, error) {
	return chromedp.Run(pb.ctx, chromedp.Evaluate[T](js, opts...))
}

// shoot saves a screenshot as name in the screenshot directory.
func (pb *phoneBrowser) shoot(name string) {
	pb.t.Helper()
	shot, err := chromedp.Run(pb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		pb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir(pb.t), name), shot, 0o644); err != nil {
		pb.t.Fatal(err)
	}
}

// waitStatus waits for the app's status line to contain want.
func (pb *phoneBrowser) waitStatus(want string) {
	pb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := chromedp.Run(pb.ctx, chromedp.Text(chromedp.CSS("#status")))
		if err != nil {
			pb.t.Fatal(err)
		}
		if strings.Contains(st, want) {
			return
		}
		if time.Now().After(deadline) {
			pb.s.fatalf(pb.t, "the app's status is %q, want %q", st, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// registration waits for the app's service worker registration.
func (pb *phoneBrowser) registration() *serviceworker.Registration {
	pb.t.Helper()
	select {
	case r := <-pb.regs:
		return r
	case <-time.After(20 * time.Second):
		pb.s.fatalf(pb.t, "no service worker registered for %s/approver/", pb.origin)
		return nil
	}
}

// deliverPush hands a decrypted push message to the service worker, as the
// browser does with what its push service sends.
func (pb *phoneBrowser) deliverPush(reg *serviceworker.Registration, data []byte) {
	pb.t.Helper()
	pb.do("delivering the push to the service worker", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
			Origin: pb.origin, RegistrationID: reg.RegistrationID, Data: string(data)})
		return err
	}))
}

// TestBrowserApprover is the approver app in a real headless Chromium:
// the pairing link opens it, "Pair this phone" makes the WebCrypto key and
// registers the service worker and the subscription; then a RADIUS login
// with "password,push" is pushed by the server to the test's push service,
// decrypted there, delivered to the service worker (DevTools
// ServiceWorker.deliverPushMessage), which shows a notification and tells
// the page; the page lists the request and its Approve button completes
// the login. Reopened later, the app lists a pending login by itself, and
// Deny rejects it. The request and the notification say where the login
// comes from (push.geoip_database, a test database placing 203.0.113.7 in
// Berlin).
func TestBrowserApprover(t *testing.T) {
	t.Parallel()
	o := geoipServerOpts(t)
	// The browser under the whole suite may take more than the 5 s the
	// other push tests give the first client: this test is about the app.
	if !strings.Contains(o.MoreClients, "push_timeout: 5s") {
		t.Fatal("the push server's first client has no push_timeout: 5s to lengthen")
	}
	o.MoreClients = strings.Replace(o.MoreClients, "push_timeout: 5s", "push_timeout: 30s", 1)
	// A third gateway asks in challenges, with number matching.
	o.MoreClients += fmt.Sprintf("    - name: numbers-nas\n      networks: [\"127.0.0.3/32\"]\n      secret: %q\n"+
		"      challenge: challenge\n      number_matching: true\n      push_timeout: 30s\n", testSecret)
	s := startServer(t, o)
	ps := startPushService(t)
	a := s.newAccount(t, "browser-push")
	sc := newSiteClient(t, s)
	sc.signIn(t, a)
	vapid := sc.vapidKey(t)
	ps.expectVAPIDKey(vapid)
	link, _ := sc.pairLink(t)
	sub := newSubscriber(t)
	pb := newPhoneBrowser(t, s, sub.subscriptionJSON(ps.add(sub)))

	// Pairing.
	pb.do("opening the pairing link "+link, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#pair-button")))
	pb.shoot("approver-pair.png")
	pb.do("pairing", chromedp.Click(chromedp.CSS("#pair-button")))
	pb.waitStatus("paired for " + a.Name)
	if u, err := evalIn[string](pb, `location.href`); err != nil || strings.Contains(u, "pair=") {
		t.Errorf("after pairing the address still holds the token: %q (%v)", u, err)
	}
	asked, err := evalIn[struct {
		UserVisibleOnly bool   `json:"userVisibleOnly"`
		Key             string `json:"key"`
	}](pb, `window.__subscribed`)
	if err != nil || !asked.UserVisibleOnly || asked.Key != vapid {
		t.Errorf("the app subscribed with %+v (%v), want userVisibleOnly and the server's VAPID key %s", asked, err, vapid)
	}
	// The key never leaves the browser: IndexedDB holds a CryptoKey that
	// cannot be exported.
	if k, err := evalIn[string](pb, storedKeyJS, chromedp.EvalAwaitPromise); err != nil || k != "false private" {
		t.Errorf("the stored key: %q (%v), want a non-extractable private key", k, err)
	}
	reg := pb.registration()

	// A VPN login waits for the phone; the push reaches it.
	done := pushLoginAsync(s.authAddr(t), a)
	m, ok := sub.next(10 * time.Second)
	if !ok {
		s.fatalf(t, "the server pushed nothing to the phone's subscription")
	}
	plain := <-sub.raw
	if m.User != a.Name || m.Context.CallingStationID != "203.0.113.7" {
		t.Fatalf("pushed %s", plain)
	}
	pb.deliverPush(reg, plain)
	item := `li[data-nonce="` + m.Nonce + `"]`
	pb.do("waiting for the request in the app", chromedp.WaitVisible(chromedp.CSS(item+" button.answer-approve")))
	text, err := chromedp.Run(pb.ctx, chromedp.Text(chromedp.CSS(item+" p")))
	if err != nil || !strings.Contains(text, "Approve VPN login for "+a.Name+" from 203.0.113.7 (Berlin, Germany) via vpn-gw1") {
		t.Errorf("the request reads %q (%v)", text, err)
	}
	// The worker tells the page and shows the notification at once: the
	// notification may come a moment after the page lists the request.
	var notes []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		notes, err = evalIn[[]string](pb, `navigator.serviceWorker.ready.then((r) => r.getNotifications())
  .then((ns) => ns.map((n) => n.title + ': ' + n.body))`, chromedp.EvalAwaitPromise)
		if err != nil || len(notes) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], "VPN login request: Approve VPN login for "+a.Name+" from 203.0.113.7 (Berlin, Germany)") {
		t.Errorf("notifications shown: %q (%v)", notes, err)
	}
	pb.shoot("approver-request.png")
	pb.do("approving", chromedp.Click(chromedp.CSS(item+" button.answer-approve")))
	expectLogin(t, s, done, radius.CodeAccessAccept)
	pb.waitStatus("Approved.")
	s.expectAudit(t, a.Name, 1, "accept", "ok")

	// The app opened later, with no push message (the notification was
	// missed): it lists what is pending, signed with the key kept in
	// IndexedDB, and Deny rejects the login.
	done = pushLoginAsync(s.authAddr(t), a)
	if _, ok := sub.next(10 * time.Second); !ok {
		s.fatalf(t, "the server pushed nothing for the second login")
	}
	deny := chromedp.CSS(`li.request button.answer-deny`)
	pb.do("reopening the app", chromedp.Navigate(pb.origin+"/approver/"), chromedp.WaitVisible(deny))
	pb.waitStatus("Paired for " + a.Name)
	pb.do("denying", chromedp.Click(deny))
	expectLogin(t, s, done, radius.CodeAccessReject)
	pb.waitStatus("Denied.")
	s.expectAudit(t, a.Name, 2, "reject", "push_denied")

	// Number matching through the app: the gateway's second challenge
	// shows a number, the app offers it among three, and tapping it signs
	// the pick (radiusmfa-push-v2); the answer to that challenge then
	// gets in.
	from := netip.MustParseAddr("127.0.0.3")
	r := exchangeFrom(t, s, from, a.Name, a.Password, nil)
	if r.Code != radius.CodeAccessChallenge {
		s.fatalf(t, "number gateway: %v, want the menu", r.Code)
	}
	r = exchangeFrom(t, s, from, a.Name, "1", rfc2865.State_Get(r))
	shown := numberRe.FindStringSubmatch(rfc2865.ReplyMessage_GetString(r))
	if r.Code != radius.CodeAccessChallenge || shown == nil {
		s.fatalf(t, "after choosing the push: %v %q, want a challenge with the number", r.Code, rfc2865.ReplyMessage_GetString(r))
	}
	if _, ok := sub.next(10 * time.Second); !ok {
		s.fatalf(t, "the server pushed nothing for the numbered login")
	}
	pb.deliverPush(reg, <-sub.raw)
	pick := chromedp.Search(`//li[contains(@class,"request")]//button[text()="` + shown[1] + `"]`)
	pb.do("tapping the number "+shown[1], chromedp.WaitVisible(pick), chromedp.Click(pick))
	pb.waitStatus("Approved.")
	if r = exchangeFrom(t, s, from, a.Name, "ok", rfc2865.State_Get(r)); r.Code != radius.CodeAccessAccept {
		s.fatalf(t, "the numbered login: %v, want Access-Accept", r.Code)
	}

	if v, err := evalIn[[]string](pb, `window.__cspViolations`); err != nil || len(v) != 0 {
		t.Errorf("Content-Security-Policy violations in the app: %q (%v)", v, err)
	}
	if n := ps.count(sub); n != 3 {
		t.Errorf("%d pushes delivered for three logins, want 3", n)
	}
}

// exchangeFrom sends one Access-Request from the source address from, with
// state when answering a challenge, and returns the reply.
func exchangeFrom(t *testing.T, s *server, from netip.Addr, user, password string, state []byte) *radius.Packet {
	t.Helper()
	p := radiustest.NewAccessRequest([]byte(testSecret), user, password)
	if state != nil {
		_ = rfc2865.State_Set(p, state)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reply, _, err := radiustest.ExchangeFrom(ctx, from, s.authAddr(t), []byte(testSecret), p, true)
	if err != nil {
		s.fatalf(t, "Access-Request from %s: %v", from, err)
	}
	return reply
}

// loginResult is how a RADIUS login sent in the background ended.
type loginResult struct {
	code radius.Code
	err  error
}

// pushLoginAsync sends a's "password,push" login from a VPN gateway
// (NAS-Identifier vpn-gw1, client 203.0.113.7) with the Go client, in the
// background, and reports its reply.
func pushLoginAsync(addr string, a *account) <-chan loginResult {
	done := make(chan loginResult, 1)
	go func() {
		p := radiustest.NewAccessRequest([]byte(testSecret), a.Name, a.Password+",push")
		_ = rfc2865.NASIdentifier_SetString(p, "vpn-gw1")
		_ = rfc2865.CallingStationID_SetString(p, "203.0.113.7")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		reply, _, err := radiustest.Exchange(ctx, addr, []byte(testSecret), p, true)
		if err != nil {
			done <- loginResult{err: err}
			return
		}
		done <- loginResult{code: reply.Code}
	}()
	return done
}

// expectLogin waits for a background login's reply and checks its code.
func expectLogin(t *testing.T, s *server, done <-chan loginResult, want radius.Code) {
	t.Helper()
	select {
	case r := <-done:
		if r.err != nil || r.code != want {
			s.fatalf(t, "the login: %v (%v), want %v", r.code, r.err, want)
		}
	case <-time.After(20 * time.Second):
		s.fatalf(t, "the login did not end")
	}
}
