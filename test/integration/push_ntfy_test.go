package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file plays the ntfy side: there is no ntfy server among the
// system's packages, so the test runs one in miniature on loopback that
// speaks ntfy's JSON publish API (a POST of {"topic", "title", "message",
// "tags", "priority", "actions"} to the root URL) and checks the access
// token; the "phone" reads the published message and taps a button by
// POSTing its URL, as the ntfy app does for an "http" action.

const ntfyTestToken = "tk_itestitestitestitestitest1234"

// ntfyMessage is what the server publishes, in ntfy's JSON form.
type ntfyMessage struct {
	Topic    string       `json:"topic"`
	Title    string       `json:"title"`
	Message  string       `json:"message"`
	Tags     []string     `json:"tags"`
	Priority int          `json:"priority"`
	Actions  []ntfyAction `json:"actions"`
}

type ntfyAction struct {
	Action string `json:"action"`
	Label  string `json:"label"`
	URL    string `json:"url"`
	Method string `json:"method"`
	Clear  bool   `json:"clear"`
}

// ntfyServer is the site's ntfy server in miniature: messages to a topic
// go to that topic's channel.
type ntfyServer struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	topics map[string]chan ntfyMessage
	bad    []string // refused requests, for the failure message
}

func startNtfyServer(t *testing.T) *ntfyServer {
	t.Helper()
	ns := &ntfyServer{t: t, topics: map[string]chan ntfyMessage{}}
	ns.srv = httptest.NewServer(http.HandlerFunc(ns.publish))
	t.Cleanup(ns.srv.Close)
	return ns
}

func (ns *ntfyServer) refuse(w http.ResponseWriter, status int, why string) {
	ns.mu.Lock()
	ns.bad = append(ns.bad, why)
	ns.mu.Unlock()
	http.Error(w, why, status)
}

func (ns *ntfyServer) publish(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != "application/json" {
		ns.refuse(w, http.StatusBadRequest, fmt.Sprintf("%s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type")))
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+ntfyTestToken {
		ns.refuse(w, http.StatusUnauthorized, "no or wrong access token")
		return
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	var m ntfyMessage
	if err := dec.Decode(&m); err != nil || m.Topic == "" {
		ns.refuse(w, http.StatusBadRequest, fmt.Sprintf("body: %v", err))
		return
	}
	ns.topic(m.Topic) <- m
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"id":"itest","time":%d,"event":"message","topic":%q}`, time.Now().Unix(), m.Topic)
}

func (ns *ntfyServer) topic(name string) chan ntfyMessage {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ch, ok := ns.topics[name]
	if !ok {
		ch = make(chan ntfyMessage, 16)
		ns.topics[name] = ch
	}
	return ch
}

// ntfyPhone is the ntfy app subscribed to one topic, with an HTTP client
// that trusts the site's certificate and holds no cookie.
type ntfyPhone struct {
	ns    *ntfyServer
	s     *server
	topic string
	c     *http.Client
}

var ntfyTopicRe = regexp.MustCompile(`<code id="ntfy-topic">(rmfa-[a-z2-7]{32})</code>`)

// pairNtfy signs a in on the site and gets an ntfy topic from the account
// page, as a user does before subscribing to it in the app.
func pairNtfy(t *testing.T, s *server, ns *ntfyServer, a *account) *ntfyPhone {
	t.Helper()
	sc := newSiteClient(t, s)
	sc.signIn(t, a)
	status, body := sc.mustDo(t, "POST", "/me/ntfy", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"name": {"ntfy phone"}}.Encode()))
	m := ntfyTopicRe.FindStringSubmatch(string(body))
	if status != http.StatusOK || m == nil {
		s.fatalf(t, "POST /me/ntfy: %d, no topic:\n%s", status, body)
	}
	host := strings.TrimPrefix(ns.srv.URL, "http://")
	if want := `href="ntfy://` + host + "/" + m[1] + `?secure=false"`; !strings.Contains(string(body), want) {
		s.fatalf(t, "the page has no subscribe link %s:\n%s", want, body)
	}
	return &ntfyPhone{ns: ns, s: s, topic: m[1], c: &http.Client{Timeout: 15 * time.Second, Transport: sc.c.Transport}}
}

// next waits up to d for the next message on the phone's topic.
func (ph *ntfyPhone) next(d time.Duration) (ntfyMessage, bool) {
	select {
	case m := <-ph.ns.topic(ph.topic):
		return m, true
	case <-time.After(d):
		return ntfyMessage{}, false
	}
}

// tap does what the app does for an "http" action button: it sends the
// action's method to its URL, with no body and no cookie.
func (ph *ntfyPhone) tap(a ntfyAction) (int, string, error) {
	req, err := http.NewRequest(a.Method, a.URL, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := ph.c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// tapped is one tap: the message, the button, and how the site answered.
type tapped struct {
	msg    ntfyMessage
	action ntfyAction
	status int
	body   string
	err    error
}

// tapNext waits in the background for the next message and taps the
// button labelled label (pick chooses among them when label is "").
func (ph *ntfyPhone) tapNext(label string, pick func(ntfyMessage) string) <-chan tapped {
	done := make(chan tapped, 1)
	go func() {
		m, ok := ph.next(15 * time.Second)
		if !ok {
			done <- tapped{err: fmt.Errorf("nothing published to the phone's topic within 15 s (refused: %v)", ph.ns.refused())}
			return
		}
		if pick != nil {
			label = pick(m)
		}
		for _, a := range m.Actions {
			if a.Label == label {
				status, body, err := ph.tap(a)
				done <- tapped{msg: m, action: a, status: status, body: body, err: err}
				return
			}
		}
		done <- tapped{msg: m, err: fmt.Errorf("no button %q in %+v", label, m.Actions)}
	}()
	return done
}

func (ns *ntfyServer) refused() []string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return append([]string(nil), ns.bad...)
}

// ntfyServerOpts is pushServerOpts with push.ntfy pointing at ns, and the
// access token in a file.
func ntfyServerOpts(t *testing.T, ns *ntfyServer) serverOpts {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "ntfy.token")
	if err := os.WriteFile(tokenFile, []byte(ntfyTestToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := pushServerOpts()
	o.Extra = fmt.Sprintf("push:\n  allow_loopback_http_endpoints: true\n  ntfy:\n    url: %q\n    token_file: %q\n    priority: 5\n",
		ns.srv.URL, tokenFile)
	return o
}

// wantTap fails t unless the tap reached the site and got status.
func wantTap(t *testing.T, s *server, tp tapped, status int) {
	t.Helper()
	if tp.err != nil {
		s.fatalf(t, "phone: %v", tp.err)
	}
	if tp.status != status {
		s.fatalf(t, "tapping %q: %d, want %d\n%s", tp.action.Label, tp.status, status, tp.body)
	}
}

// TestPushNtfy is ntfy delivery end to end with the real binary: a user
// gets a topic on the account page; each push login publishes a message
// with the login's context and three buttons to the (test's) ntfy server,
// with the access token; tapping a button POSTs its one-time link to the
// site, and radclient sees the verdict.
func TestPushNtfy(t *testing.T) {
	t.Parallel()
	ns := startNtfyServer(t)
	s := startServer(t, ntfyServerOpts(t, ns))
	a := s.newAccount(t, "ntfy-user")
	ph := pairNtfy(t, s, ns, a)
	site := strings.TrimSuffix(s.webURL(t), "/")

	// Approve.
	done := ph.tapNext("Approve", nil)
	r := pushLogin(t, s, a)
	tp := <-done
	wantTap(t, s, tp, http.StatusOK)
	s.expectCode(t, r, "Access-Accept")
	s.expectAudit(t, a.Name, 1, "accept", "ok")
	m := tp.msg
	if m.Topic != ph.topic || m.Priority != 5 || m.Title == "" || len(m.Tags) == 0 ||
		!strings.Contains(m.Message, a.Name) || !strings.Contains(m.Message, "localhost") || !strings.Contains(m.Message, "itest-nas") {
		t.Errorf("published %+v", m)
	}
	var labels []string
	for _, act := range m.Actions {
		labels = append(labels, act.Label)
		if act.Action != "http" || act.Method != "POST" || !act.Clear || !strings.HasPrefix(act.URL, site+"/approver/link/") {
			t.Errorf("action %+v (site %s)", act, site)
		}
	}
	if strings.Join(labels, "|") != "Approve|Deny|Deny and report" {
		t.Errorf("buttons %v", labels)
	}
	if !strings.Contains(tp.body, "Approved") {
		t.Errorf("the approve link answered %q", tp.body)
	}
	// The link was spent: tapping it again is refused, and so is the
	// push's deny link.
	for _, act := range m.Actions[:2] {
		status, body, err := ph.tap(act)
		if err != nil || status != http.StatusGone || !strings.Contains(body, "already answered") {
			t.Errorf("%s again: %d %v\n%s", act.Label, status, err, body)
		}
	}

	// Deny.
	done = ph.tapNext("Deny", nil)
	r = pushLogin(t, s, a)
	wantTap(t, s, <-done, http.StatusOK)
	s.expectCode(t, r, "Access-Reject")
	s.expectAudit(t, a.Name, 2, "reject", "push_denied")

	// A GET (a link preview) shows a page and answers nothing: the login
	// goes on waiting, and times out.
	done = ph.tapNext("", func(m ntfyMessage) string {
		for _, act := range m.Actions {
			resp, err := ph.c.Get(act.URL)
			if err != nil || resp.StatusCode != http.StatusOK {
				return fmt.Sprintf("GET %s: %v %v", act.Label, err, resp)
			}
			resp.Body.Close()
		}
		return "(none)"
	})
	r = pushLogin(t, s, a)
	if tp := <-done; tp.err == nil || !strings.Contains(tp.err.Error(), `no button "(none)"`) {
		t.Errorf("GETs of the links: %v", tp.err)
	}
	s.expectCode(t, r, "Access-Reject")
	s.expectAudit(t, a.Name, 3, "reject", "push_timed_out")

	// Deny and report suspends push for the user.
	done = ph.tapNext("Deny and report", nil)
	r = pushLogin(t, s, a)
	wantTap(t, s, <-done, http.StatusOK)
	s.expectCode(t, r, "Access-Reject")
	s.expectAudit(t, a.Name, 4, "reject", "push_reported")
	s.waitAuditKind(t, "report", a.Name)

	var verdicts []string
	for _, rec := range s.auditOf(t, "push", a.Name) {
		verdicts = append(verdicts, rec.Outcome)
	}
	if strings.Join(verdicts, " ") != "approved denied timed_out reported" {
		t.Errorf("push audit records %v", verdicts)
	}
	if strings.Contains(s.logs.String(), ntfyTestToken) || strings.Contains(s.logs.String(), ph.topic) {
		t.Error("the server's log shows the access token or the topic")
	}
}

// TestPushNtfyNumberMatching: with number matching, the three buttons are
// the three numbers; the right one logs in.
func TestPushNtfyNumberMatching(t *testing.T) {
	t.Parallel()
	ns := startNtfyServer(t)
	o := ntfyServerOpts(t, ns)
	o.Challenge = "challenge"
	o.MoreClients = firstClientKeys("number_matching: true") + o.MoreClients
	s := startServer(t, o)
	addr := s.authAddr(t)
	a := s.newAccount(t, "ntfy-number-user")
	ph := pairNtfy(t, s, ns, a)

	r := login(t, addr, a.Name, a.Password)
	s.expectCode(t, r, "Access-Challenge")
	if !strings.Contains(r.ReplyMessage, "1. Push to ntfy phone") {
		s.fatalf(t, "menu %q does not offer the ntfy device", r.ReplyMessage)
	}
	r = answer(t, addr, a.Name, "1", r.State)
	s.expectCode(t, r, "Access-Challenge")
	nm := numberRe.FindStringSubmatch(r.ReplyMessage)
	if nm == nil {
		s.fatalf(t, "no number shown: %q", r.ReplyMessage)
	}
	m, ok := ph.next(10 * time.Second)
	if !ok {
		s.fatalf(t, "nothing published (refused: %v)", ns.refused())
	}
	var right *ntfyAction
	for i, act := range m.Actions {
		if _, err := strconv.Atoi(act.Label); err != nil {
			t.Errorf("button %q is not a number", act.Label)
		}
		if act.Label == nm[1] {
			right = &m.Actions[i]
		}
	}
	if len(m.Actions) != 3 || right == nil {
		s.fatalf(t, "buttons %+v do not offer %s", m.Actions, nm[1])
	}
	status, body, err := ph.tap(*right)
	if err != nil || status != http.StatusOK || !bytes.Contains([]byte(body), []byte("Approved")) {
		s.fatalf(t, "tapping %s: %d %v\n%s", right.Label, status, err, body)
	}
	s.expectCode(t, answer(t, addr, a.Name, "ok", r.State), "Access-Accept")
}
