package delivery

import (
	"errors"
	"mime"
	"strings"
	"testing"
	"time"

	"radiusmfa/factors/delivery/deliverytest"
	"radiusmfa/internal/mailer"
	"radiusmfa/notify/notifytest"
)

func smtpFor(t *testing.T, srv *notifytest.SMTPServer, o SMTPOptions) *SMTP {
	t.Helper()
	o.Server.Host, o.Server.Port, o.Server.RootCAs = srv.Host, srv.Port, srv.RootCAs
	if o.From == "" {
		o.From = "radiusmfa@example.com"
	}
	p, err := NewSMTP(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mailMessage() Message {
	m := codeMessage(Email, "alice@example.com")
	m.HTML = "<p>Your radiusmfa code is <b>" + testCode + "</b>.</p>"
	return m
}

// receivedOne checks the one mail srv received for m and returns its text
// and HTML parts.
func receivedOne(t *testing.T, srv *notifytest.SMTPServer, m Message, wantAuth string) (text, html string) {
	t.Helper()
	mails, ok := srv.Wait(1, 5*time.Second)
	if !ok || len(mails) != 1 {
		t.Fatalf("%d messages received, want 1", len(mails))
	}
	got := mails[0]
	if got.From != "radiusmfa@example.com" || strings.Join(got.To, ",") != m.To {
		t.Errorf("envelope from %q to %q", got.From, got.To)
	}
	if !got.TLS || got.AuthUser != wantAuth {
		t.Errorf("received with TLS %v as %q, want TLS as %q", got.TLS, got.AuthUser, wantAuth)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(got.Header.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Errorf("Subject %q (%v)", subject, err)
	}
	for _, h := range []string{"Date", "Message-Id", "From", "To"} {
		if got.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	text, html, err = deliverytest.MailParts(got)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(text) != m.Text {
		t.Errorf("text part %q, want %q", text, m.Text)
	}
	if code := deliverytest.FindCode(text); code != testCode {
		t.Errorf("code read back from the text: %q", code)
	}
	return text, html
}

func TestSMTPStartTLSWithAuth(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{TLS: "starttls", Username: "mfa", Password: "hunter2"})
	m := mailMessage()
	if err := send(t, smtpFor(t, srv, SMTPOptions{Server: mailer.Options{Username: "mfa", Password: "hunter2"}}), m); err != nil {
		t.Fatal(err)
	}
	_, html := receivedOne(t, srv, m, "mfa")
	if strings.TrimSpace(html) != m.HTML || deliverytest.FindCode(html) != testCode {
		t.Errorf("html part %q", html)
	}
	if ct := srv.Mails()[0].Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestSMTPImplicitTLSPlainTextOnly(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{TLS: "tls"})
	m := codeMessage(Email, "alice@example.com")
	if err := send(t, smtpFor(t, srv, SMTPOptions{Server: mailer.Options{TLS: "tls"}}), m); err != nil {
		t.Fatal(err)
	}
	if _, html := receivedOne(t, srv, m, ""); html != "" {
		t.Errorf("an html part without HTML: %q", html)
	}
	if ct := srv.Mails()[0].Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestSMTPPlainLoopbackOnly(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{})
	m := codeMessage(Email, "alice@example.com")
	if err := send(t, smtpFor(t, srv, SMTPOptions{Server: mailer.Options{TLS: "none", AllowLoopbackPlaintext: true}}), m); err != nil {
		t.Fatal(err)
	}
	if mails, ok := srv.Wait(1, 5*time.Second); !ok || mails[0].TLS {
		t.Errorf("received %d, TLS %v", len(mails), ok && mails[0].TLS)
	}
	for _, o := range []SMTPOptions{
		{Server: mailer.Options{Host: "smtp.example.com", TLS: "none", AllowLoopbackPlaintext: true}, From: "a@example.com"},
		{Server: mailer.Options{Host: "localhost", TLS: "none", AllowLoopbackPlaintext: true}, From: "a@example.com"},
		{Server: mailer.Options{Host: "127.0.0.1", TLS: "none"}, From: "a@example.com"},
	} {
		if _, err := NewSMTP(o); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("plain text to %s (switch %v): %v", o.Server.Host, o.Server.AllowLoopbackPlaintext, err)
		}
	}
}

// TestSMTPStartTLSIsMandatory: a server that does not offer STARTTLS
// gets nothing, rather than a code in clear.
func TestSMTPStartTLSIsMandatory(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{})
	m := codeMessage(Email, "alice@example.com")
	err := send(t, smtpFor(t, srv, SMTPOptions{}), m)
	checkSecretFree(t, err, m)
	if n := len(srv.Mails()); n != 0 {
		t.Errorf("%d messages went in clear", n)
	}
}

func TestSMTPRefused(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{TLS: "starttls", RejectRcpt: 550})
	m := mailMessage()
	err := send(t, smtpFor(t, srv, SMTPOptions{}), m)
	checkSecretFree(t, err, m, m.HTML)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "refused the message") || !strings.Contains(err.Error(), "550") {
		t.Errorf("550: %v, want a refusal", err)
	}

	srv = notifytest.StartSMTP(t, notifytest.SMTPOptions{TLS: "starttls", RejectRcpt: 451})
	err = send(t, smtpFor(t, srv, SMTPOptions{}), m)
	checkSecretFree(t, err, m)
	if errors.Is(err, ErrRefused) {
		t.Errorf("451 is not a refusal: %v", err)
	}
}

func TestSMTPWrongPassword(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{TLS: "starttls", Username: "mfa", Password: "hunter2"})
	m := codeMessage(Email, "alice@example.com")
	err := send(t, smtpFor(t, srv, SMTPOptions{Server: mailer.Options{Username: "mfa", Password: "wrong-pass"}}), m)
	checkSecretFree(t, err, m, "wrong-pass")
}

func TestSMTPRefusesBeforeSending(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{TLS: "starttls"})
	p := smtpFor(t, srv, SMTPOptions{})
	for _, m := range []Message{
		codeMessage(SMS, "+15855550123"),
		codeMessage(Email, "Alice <alice@example.com>"),
		codeMessage(Email, "alice@example.com, bob@example.com"),
		codeMessage(Email, "not an address"),
	} {
		err := send(t, p, m)
		if err == nil {
			t.Errorf("sent %s to %q", m.Channel, m.To)
			continue
		}
		checkSecretFree(t, err, m)
	}
	if n := len(srv.Mails()); n != 0 {
		t.Errorf("%d messages sent", n)
	}
}

func TestNewSMTPChecks(t *testing.T) {
	if _, err := NewSMTP(SMTPOptions{Server: mailer.Options{Host: "smtp.example.com"}, From: "not an address"}); err == nil || !strings.Contains(err.Error(), "smtp: from") {
		t.Errorf("bad from: %v", err)
	}
	if _, err := NewSMTP(SMTPOptions{Server: mailer.Options{TLS: "ssl"}, From: "a@example.com"}); err == nil ||
		!strings.Contains(err.Error(), "no SMTP host") || !strings.Contains(err.Error(), "tls must be") {
		t.Errorf("no host, bad tls: %v", err)
	}
	p, err := NewSMTP(SMTPOptions{Server: mailer.Options{Host: "smtp.example.com"}, From: "a@example.com"})
	if err != nil || p.server.TLS != "starttls" || p.server.Port != 587 || p.timeout != DefaultSMTPTimeout {
		t.Errorf("defaults: %+v, %v", p, err)
	}
}
