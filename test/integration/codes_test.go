package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"radiusmfa/factors/delivery/deliverytest"
	"radiusmfa/notify/notifytest"
)

// codesRig is a server whose codes go to receivers on loopback: text
// messages to a Twilio-shaped API, calls through a command script (which
// writes what it is given to a file), and email to an SMTP server.
type codesRig struct {
	s      *server
	twilio *deliverytest.TwilioServer
	mail   *notifytest.SMTPServer
	calls  string // the file the call script appends each message to
	hook   *deliverytest.WebhookServer
}

// startCodesRig starts the receivers and a server (as base says, plus the
// codes section) sending to them; sms is "twilio" or "webhook".
func startCodesRig(t *testing.T, base serverOpts, sms string, perUser int) *codesRig {
	t.Helper()
	dir := t.TempDir()
	r := &codesRig{twilio: deliverytest.NewTwilio(t), mail: notifytest.StartSMTP(t, notifytest.SMTPOptions{}),
		calls: filepath.Join(dir, "calls.txt"), hook: deliverytest.NewWebhook(t)}
	token := filepath.Join(dir, "twilio.token")
	script := filepath.Join(dir, "call.sh")
	writeFile(t, token, r.twilio.AuthToken+"\n", 0o600)
	writeFile(t, script, "#!/bin/sh\n{ printf '%s %s ' \"$1\" \"$RADIUSMFA_CHANNEL\"; cat; echo; } >> "+r.calls+"\n", 0o700)
	smsYAML := fmt.Sprintf(`    provider: twilio
    twilio:
      url: %q
      account_sid: %q
      auth_token_file: %q
      from: "+15005550006"
`, r.twilio.URL, r.twilio.AccountSID, token)
	if sms == "webhook" {
		smsYAML = fmt.Sprintf(`    provider: webhook
    webhook:
      url: %q
      body: '{"number": {{json .To}}, "text": {{json .Message}}}'
`, r.hook.URL)
	}
	base.Extra += fmt.Sprintf(`codes:
  allow_loopback_plaintext: true
  sends_per_user: %d
  phone:
    default_region: US
  sms:
%s  voice:
    provider: command
    command:
      path: %q
      args: ["{to}"]
  email:
    host: %q
    port: %d
    tls: none
    from: "VPN sign-in <vpn@example.com>"
`, perUser, smsYAML, script, r.mail.Host, r.mail.Port)
	r.s = startServer(t, base)
	return r
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// contactAccount is a built-in user with a phone for text messages, a
// phone for calls and an email address, added with the CLI.
func (r *codesRig) contactAccount(t *testing.T, name string) *account {
	t.Helper()
	a := &account{Name: name, Password: "pw-" + name + "-Secret9"}
	r.s.mustCLI(t, a.Password+"\n", "user", "add", name)
	r.s.mustCLI(t, "", "phone", "add", name, "(585) 555-3816")
	r.s.mustCLI(t, "", "phone", "add", name, "+44 20 7946 0456", "--voice")
	r.s.mustCLI(t, "", "email", "add", name, name+"@example.com")
	return a
}

// lastText is the code of the nth text message to the Twilio API.
func (r *codesRig) lastText(t *testing.T, n int) deliverytest.TwilioRequest {
	t.Helper()
	reqs := r.twilio.WaitFor(t, n, 10*time.Second)
	return reqs[n-1]
}

// mailedCode is the code of the nth message to the SMTP server.
func (r *codesRig) mailedCode(t *testing.T, n int, to string) string {
	t.Helper()
	mails, ok := r.mail.Wait(n, 10*time.Second)
	if !ok {
		r.s.fatalf(t, "the SMTP server received %d messages, want %d", len(mails), n)
	}
	m := mails[n-1]
	if strings.Join(m.To, ",") != to || m.From != "vpn@example.com" {
		t.Errorf("mail %d: from %q to %v", n, m.From, m.To)
	}
	text, html, err := deliverytest.MailParts(m)
	if err != nil {
		r.s.fatalf(t, "mail %d: %v", n, err)
	}
	code := deliverytest.FindCode(text)
	if code == "" || !strings.Contains(html, code) {
		r.s.fatalf(t, "mail %d: no code in\n%s\n%s", n, text, html)
	}
	return code
}

// calledCode is what the call script was given the nth time, and the
// code it reads out ("… code is 1, 2, 3, 4, 5, 6.").
func (r *codesRig) calledCode(t *testing.T, n int) (line, code string) {
	t.Helper()
	var lines []string
	poll(t, r.s, fmt.Sprintf("%d calls", n), func() bool {
		b, _ := os.ReadFile(r.calls)
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
		return len(b) > 0 && len(lines) >= n
	})
	line = lines[n-1]
	_, spoken, _ := strings.Cut(line, "code is ")
	spoken, _, _ = strings.Cut(spoken, ".")
	return line, strings.ReplaceAll(spoken, ", ", "")
}

// TestSentCodesByKeyword: password,sms / password,phone / password,email
// each send a code (to a Twilio-shaped API, a command script and an SMTP
// server on loopback) and are refused with a Reply-Message saying where
// it went; the code appended to the password then logs in, once.
func TestSentCodesByKeyword(t *testing.T) {
	t.Parallel()
	r := startCodesRig(t, serverOpts{Challenge: "append-only"}, "twilio", 10)
	a := r.contactAccount(t, "codes-kw")
	addr := r.s.authAddr(t)

	got := login(t, addr, a.Name, a.Password+",sms")
	r.s.expectCode(t, got, "Access-Reject")
	if !strings.Contains(got.ReplyMessage, "by text message to •••-•••-3816") {
		r.s.fatalf(t, "sms keyword's Reply-Message: %q", got.ReplyMessage)
	}
	text := r.lastText(t, 1)
	code := deliverytest.FindCode(text.Body)
	if text.Kind != "sms" || text.To != "+15855553816" || text.From != "+15005550006" || code == "" {
		r.s.fatalf(t, "text message %+v", text)
	}
	r.s.expectCode(t, login(t, addr, a.Name, a.Password+","+code), "Access-Accept")
	r.s.expectCode(t, login(t, addr, a.Name, a.Password+","+code), "Access-Reject")

	got = login(t, addr, a.Name, a.Password+",email")
	if !strings.Contains(got.ReplyMessage, "by email to cod•••@example.com") {
		r.s.fatalf(t, "email keyword's Reply-Message: %q", got.ReplyMessage)
	}
	r.s.expectCode(t, login(t, addr, a.Name, a.Password+","+r.mailedCode(t, 1, a.Name+"@example.com")), "Access-Accept")

	got = login(t, addr, a.Name, a.Password+",phone")
	if !strings.Contains(got.ReplyMessage, "by phone call to +44 ••••••0456") {
		r.s.fatalf(t, "phone keyword's Reply-Message: %q", got.ReplyMessage)
	}
	line, code := r.calledCode(t, 1)
	if !strings.HasPrefix(line, "+442079460456 voice Your radiusmfa code is ") {
		r.s.fatalf(t, "the call script got %q", line)
	}
	r.s.expectCode(t, login(t, addr, a.Name, a.Password+","+code), "Access-Accept")

	// The provider fails: the user is told, the failure is counted.
	r.twilio.FailNext(500, 20500, "Internal Server Error")
	got = login(t, addr, a.Name, a.Password+",sms")
	r.s.expectCode(t, got, "Access-Reject")
	if got.ReplyMessage != "Could not send the code: try another method" {
		r.s.fatalf(t, "failed send's Reply-Message: %q", got.ReplyMessage)
	}
	series := `radiusmfa_codes_send_failures_total{channel="sms",provider="twilio"}`
	poll(t, r.s, series+" = 1", func() bool { return r.s.metric(t, series) == 1 })
	if v := r.s.metric(t, `radiusmfa_codes_sent_total{channel="email",provider="smtp"}`); v != 1 {
		t.Errorf("emails sent: %v", v)
	}
	if logs := r.s.logs.String(); strings.Contains(logs, "code is") || strings.Contains(logs, "5855553816") {
		t.Error("the log shows a message or a whole phone number")
	}
}

// TestSentCodesByMenu: a client in challenge mode shows the menu with
// each phone and address masked; choosing the email address sends a code,
// r sends another (the first stops working), and the second logs in. A
// user past the per-user limit is told to wait.
func TestSentCodesByMenu(t *testing.T) {
	t.Parallel()
	r := startCodesRig(t, serverOpts{Challenge: "challenge"}, "webhook", 3)
	a := r.contactAccount(t, "codes-menu")
	addr := r.s.authAddr(t)

	got := login(t, addr, a.Name, a.Password)
	r.s.expectCode(t, got, "Access-Challenge")
	for _, want := range []string{"1. Text message to •••-•••-3816.", "2. Phone call to +44 ••••••0456.", "3. Email to cod•••@example.com."} {
		if !strings.Contains(got.ReplyMessage, want) {
			r.s.fatalf(t, "the menu lacks %q: %q", want, got.ReplyMessage)
		}
	}
	got = answer(t, addr, a.Name, "3", got.State)
	r.s.expectCode(t, got, "Access-Challenge")
	if !strings.Contains(got.ReplyMessage, "Enter the code sent by email to cod•••@example.com") {
		r.s.fatalf(t, "after choosing email: %q", got.ReplyMessage)
	}
	first := r.mailedCode(t, 1, a.Name+"@example.com")
	got = answer(t, addr, a.Name, "r", got.State)
	r.s.expectCode(t, got, "Access-Challenge")
	second := r.mailedCode(t, 2, a.Name+"@example.com")
	r.s.expectCode(t, answer(t, addr, a.Name, second, got.State), "Access-Accept")
	// The first code was replaced by the second, which is used: neither
	// logs in again (appended to the password, as a challenge client
	// also takes).
	r.s.expectCode(t, login(t, addr, a.Name, a.Password+","+first), "Access-Reject")

	// A text message, through the webhook provider.
	got = answer(t, addr, a.Name, "1", login(t, addr, a.Name, a.Password).State)
	r.s.expectCode(t, got, "Access-Challenge")
	reqs := r.hook.WaitFor(t, 1, 10*time.Second)
	if !strings.Contains(string(reqs[0].Body), `"number": "+15855553816"`) {
		r.s.fatalf(t, "the webhook got %s", reqs[0].Body)
	}
	r.s.expectCode(t, answer(t, addr, a.Name, deliverytest.FindCode(string(reqs[0].Body)), got.State), "Access-Accept")

	// Three codes sent in the window: the fourth is refused, and the
	// menu comes back saying so.
	got = answer(t, addr, a.Name, "2", login(t, addr, a.Name, a.Password).State)
	r.s.expectCode(t, got, "Access-Challenge")
	if !strings.HasPrefix(got.ReplyMessage, "Too many codes were sent") || !strings.Contains(got.ReplyMessage, "Choose how to sign in") {
		r.s.fatalf(t, "past the limit: %q", got.ReplyMessage)
	}
}
