package notify

import (
	"context"
	"mime"
	"strings"
	"testing"
	"time"

	"radiusmfa/notify/notifytest"
)

func emailTo(t *testing.T, srv *notifytest.SMTPServer, o EmailOptions) *Email {
	t.Helper()
	o.Host, o.Port, o.RootCAs = srv.Host, srv.Port, srv.RootCAs
	if o.From == "" {
		o.From = "radiusmfa@example.com"
	}
	if o.To == nil {
		o.To = []string{"vpn-admins@example.com", "Security Desk <soc@example.com>"}
	}
	e, err := NewEmail(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func sendOne(t *testing.T, e *Email) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.Send(ctx, sampleEvent())
}

// checkMail checks the one message srv received against sampleEvent.
func checkMail(t *testing.T, srv *notifytest.SMTPServer, wantTLS bool, wantAuth string) {
	t.Helper()
	mails, ok := srv.Wait(1, 5*time.Second)
	if !ok || len(mails) != 1 {
		t.Fatalf("%d messages received, want 1", len(mails))
	}
	m := mails[0]
	if m.From != "radiusmfa@example.com" || strings.Join(m.To, ",") != "vpn-admins@example.com,soc@example.com" {
		t.Errorf("envelope from %q to %q", m.From, m.To)
	}
	if m.TLS != wantTLS || m.AuthUser != wantAuth {
		t.Errorf("received with TLS %v, as %q; want %v, %q", m.TLS, m.AuthUser, wantTLS, wantAuth)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil || subject != "radiusmfa: alice denied a push and reported it as not theirs" {
		t.Errorf("Subject %q (%v)", subject, err)
	}
	if from := m.Header.Get("From"); !strings.Contains(from, "radiusmfa@example.com") {
		t.Errorf("From: %q", from)
	}
	if to := m.Header.Get("To"); !strings.Contains(to, "vpn-admins@example.com") || !strings.Contains(to, "soc@example.com") {
		t.Errorf("To: %q", to)
	}
	if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	for _, want := range []string{"alice", "User:", "RADIUS client:      vpn", "203.0.113.9", "asa1", "push suspended for the user", "mfa1"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Body)
		}
	}
	if strings.Contains(string(m.Raw), "hunter2") {
		t.Error("the SMTP password is in the message")
	}
}

func TestEmailSTARTTLS(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{TLS: "starttls", Username: "mfa", Password: "hunter2"})
	e := emailTo(t, srv, EmailOptions{TLS: TLSStartTLS, Username: "mfa", Password: "hunter2"})
	if err := sendOne(t, e); err != nil {
		t.Fatal(err)
	}
	checkMail(t, srv, true, "mfa")
}

func TestEmailImplicitTLS(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{TLS: "tls"})
	if err := sendOne(t, emailTo(t, srv, EmailOptions{TLS: TLSImplicit})); err != nil {
		t.Fatal(err)
	}
	checkMail(t, srv, true, "")
}

func TestEmailPlainLoopback(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{})
	if err := sendOne(t, emailTo(t, srv, EmailOptions{TLS: TLSNone, AllowLoopbackPlaintext: true})); err != nil {
		t.Fatal(err)
	}
	checkMail(t, srv, false, "")
}

// TestEmailSTARTTLSIsMandatory: a server that does not offer STARTTLS
// gets nothing, not a message in clear.
func TestEmailSTARTTLSIsMandatory(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{})
	err := sendOne(t, emailTo(t, srv, EmailOptions{}))
	if err == nil {
		t.Fatal("sent without STARTTLS")
	}
	if n := len(srv.Mails()); n != 0 {
		t.Errorf("%d messages went in clear", n)
	}
}

func TestEmailUntrustedCertificate(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{TLS: "starttls"})
	e := emailTo(t, srv, EmailOptions{})
	e.o.RootCAs = nil // the system's roots do not know the test's certificate
	if err := sendOne(t, e); err == nil || IsPermanent(err) {
		t.Errorf("untrusted certificate: %v, want a (retryable) error", err)
	}
	if n := len(srv.Mails()); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
}

func TestEmailRejectedIsPermanent(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{TLS: "starttls", RejectRcpt: 550})
	if err := sendOne(t, emailTo(t, srv, EmailOptions{})); err == nil || !IsPermanent(err) {
		t.Errorf("550 on RCPT: %v, want a permanent error", err)
	}
	srv = notifytest.StartSMTP(t, notifytest.SMTPOptions{TLS: "starttls", RejectRcpt: 451})
	if err := sendOne(t, emailTo(t, srv, EmailOptions{})); err == nil || IsPermanent(err) {
		t.Errorf("451 on RCPT: %v, want a retryable error", err)
	}
}

func TestEmailWrongPassword(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.SMTPOptions{TLS: "starttls", Username: "mfa", Password: "hunter2"})
	err := sendOne(t, emailTo(t, srv, EmailOptions{Username: "mfa", Password: "wrong-pass"}))
	if err == nil {
		t.Fatal("sent with a wrong password")
	}
	if strings.Contains(err.Error(), "wrong-pass") {
		t.Errorf("the error shows the password: %v", err)
	}
}

func TestNewEmailChecks(t *testing.T) {
	ok := EmailOptions{Host: "smtp.example.com", From: "mfa@example.com", To: []string{"a@example.com"}}
	tests := []struct {
		name string
		edit func(o *EmailOptions)
		want string // "" for success
	}{
		{"defaults", func(*EmailOptions) {}, ""},
		{"no host", func(o *EmailOptions) { o.Host = "" }, "no SMTP host"},
		{"bad tls", func(o *EmailOptions) { o.TLS = "ssl" }, "tls must be"},
		{"none remote", func(o *EmailOptions) { o.TLS, o.AllowLoopbackPlaintext = TLSNone, true }, "loopback"},
		{"none without switch", func(o *EmailOptions) { o.TLS, o.Host = TLSNone, "127.0.0.1" }, "loopback"},
		{"none loopback", func(o *EmailOptions) { o.TLS, o.Host, o.AllowLoopbackPlaintext = TLSNone, "::1", true }, ""},
		{"none with auth", func(o *EmailOptions) {
			o.TLS, o.Host, o.AllowLoopbackPlaintext, o.Username = TLSNone, "127.0.0.1", true, "u"
		}, "no authentication without TLS"},
		{"bad from", func(o *EmailOptions) { o.From = "not an address" }, "from"},
		{"no to", func(o *EmailOptions) { o.To = nil }, "no recipient"},
		{"bad to", func(o *EmailOptions) { o.To = []string{"a@example.com", "nope"} }, `to "nope"`},
		{"port", func(o *EmailOptions) { o.Port = 70000 }, "port"},
	}
	for _, tt := range tests {
		o := ok
		o.To = append([]string(nil), ok.To...)
		tt.edit(&o)
		e, err := NewEmail(o)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want an error about %q", tt.name, err, tt.want)
		case tt.name == "defaults" && (e.o.TLS != TLSStartTLS || e.o.Port != 587):
			t.Errorf("defaults: tls %q port %d, want starttls on 587", e.o.TLS, e.o.Port)
		}
	}
}
