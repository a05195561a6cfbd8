package integration

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"radiusmfa/notify/notifytest"
)

// notifySecret signs the webhook's bodies.
const notifySecret = "itest-webhook-signing-key"

// notifyEvent is the webhook's JSON body.
type notifyEvent struct {
	Event            string `json:"event"`
	Time             string `json:"time"`
	User             string `json:"user"`
	Client           string `json:"client"`
	NASIdentifier    string `json:"nas_identifier"`
	CallingStationID string `json:"calling_station_id"`
	Detail           string `json:"detail"`
	Server           string `json:"server"`
}

// TestNotifyAdmins: a user denies and reports a push, then reports the
// login on their account page; a webhook receiver and an SMTP server on
// loopback each get a notification of both, naming the user, and
// /metrics counts them.
func TestNotifyAdmins(t *testing.T) {
	t.Parallel()
	hook := notifytest.StartWebhook(t, nil)
	mail := notifytest.StartSMTP(t, notifytest.SMTPOptions{})
	secretFile := filepath.Join(t.TempDir(), "webhook.key")
	if err := os.WriteFile(secretFile, []byte(notifySecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := pushServerOpts()
	opts.Extra += fmt.Sprintf(`notify:
  allow_loopback_plaintext: true
  webhook:
    url: %q
    secret_file: %q
  email:
    host: %q
    port: %d
    tls: none
    from: "radiusmfa <radiusmfa@example.com>"
    to: [vpn-admins@example.com, soc@example.com]
`, hook.URL, secretFile, mail.Host, mail.Port)
	s := startServer(t, opts)
	ps := startPushService(t)
	a := s.newAccount(t, "notify-user")
	ph := pairApprover(t, s, ps, a)

	// Deny and report.
	done := ph.answerNext("report")
	r := pushLogin(t, s, a)
	if err := <-done; err != nil {
		s.fatalf(t, "phone: %v", err)
	}
	s.expectCode(t, r, "Access-Reject")
	ev := s.webhookEvent(t, hook, 1)
	if ev.Event != "push_reported" || ev.User != a.Name || ev.Client != "localhost" || ev.NASIdentifier != "itest-nas" ||
		!strings.Contains(ev.Detail, "push suspended") || ev.Server == "" {
		t.Errorf("webhook got %+v", ev)
	}
	m := s.mail(t, mail, 1)
	if !strings.Contains(m.subject, a.Name) || !strings.Contains(m.subject, "reported") ||
		!strings.Contains(m.body, "User:               "+a.Name) || !strings.Contains(m.body, "RADIUS client:      localhost") {
		t.Errorf("mail: subject %q, body:\n%s", m.subject, m.body)
	}

	// "This wasn't me" on the account page, for the login just rejected.
	login := s.waitAuthRecords(t, a.Name, 1)[0]
	status, body := ph.site.mustDo(t, "POST", fmt.Sprintf("/me/logins/%d/report", login.Seq), "application/x-www-form-urlencoded", strings.NewReader(""))
	if status != http.StatusOK || !strings.Contains(string(body), "the administrators were told") {
		s.fatalf(t, "reporting login %d: %d\n%s", login.Seq, status, body)
	}
	ev = s.webhookEvent(t, hook, 2)
	if ev.Event != "login_reported" || ev.User != a.Name || !strings.Contains(ev.Detail, fmt.Sprintf("login %d", login.Seq)) ||
		!strings.Contains(ev.Detail, "outcome: reject") {
		t.Errorf("webhook got %+v", ev)
	}
	if m := s.mail(t, mail, 2); !strings.Contains(m.subject, a.Name+" reports a login that was not theirs") {
		t.Errorf("second mail's subject %q", m.subject)
	}

	for _, ch := range []string{"webhook", "email"} {
		series := fmt.Sprintf(`radiusmfa_notify_sent_total{channel=%q}`, ch)
		poll(t, s, series+" = 2", func() bool { return s.metric(t, series) == 2 })
	}
	if logs := s.logs.String(); strings.Contains(logs, notifySecret) || strings.Contains(logs, a.Password) {
		t.Error("the log shows the webhook secret or the user's password")
	}
}

// webhookEvent waits for the nth request to the webhook, checks its
// signature and returns its body.
func (s *server) webhookEvent(t *testing.T, hook *notifytest.WebhookReceiver, n int) notifyEvent {
	t.Helper()
	reqs, ok := hook.Wait(n, 10*time.Second)
	if !ok {
		s.fatalf(t, "the webhook received %d notifications, want %d", len(reqs), n)
	}
	r := reqs[n-1]
	if !r.SignedWith([]byte(notifySecret)) {
		t.Errorf("notification %d: X-Radiusmfa-Signature %q does not sign its body", n, r.Header.Get("X-Radiusmfa-Signature"))
	}
	var ev notifyEvent
	if err := json.Unmarshal(r.Body, &ev); err != nil {
		s.fatalf(t, "webhook body %s: %v", r.Body, err)
	}
	return ev
}

type receivedMail struct{ subject, body string }

// mail waits for the nth message to the SMTP server and checks its
// envelope and headers.
func (s *server) mail(t *testing.T, srv *notifytest.SMTPServer, n int) receivedMail {
	t.Helper()
	mails, ok := srv.Wait(n, 10*time.Second)
	if !ok {
		s.fatalf(t, "the SMTP server received %d messages, want %d", len(mails), n)
	}
	m := mails[n-1]
	if m.From != "radiusmfa@example.com" || strings.Join(m.To, ",") != "vpn-admins@example.com,soc@example.com" {
		t.Errorf("message %d: envelope from %q to %q", n, m.From, m.To)
	}
	if to := m.Header.Get("To"); !strings.Contains(to, "vpn-admins@example.com") || !strings.Contains(to, "soc@example.com") {
		t.Errorf("message %d: To: %q", n, to)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Errorf("message %d: Subject %q: %v", n, m.Header.Get("Subject"), err)
	}
	return receivedMail{subject: subject, body: m.Body}
}
