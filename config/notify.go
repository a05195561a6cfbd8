package config

import (
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"
)

// NotifyConfig tells admins of a push denied and reported, push suspended
// for a user, and a login reported as "this wasn't me", by webhook and/or
// email. Neither channel is on by default.
type NotifyConfig struct {
	// Events lists what is sent: push_reported, push_suspended,
	// login_reported (default: all three).
	Events  []string            `mapstructure:"events"`
	Webhook NotifyWebhookConfig `mapstructure:"webhook"`
	Email   NotifyEmailConfig   `mapstructure:"email"`
	// AllowLoopbackPlaintext lets the webhook use http:// and email use
	// tls: none, to a literal loopback address only: for tests that run
	// their own receivers. Default false.
	AllowLoopbackPlaintext bool `mapstructure:"allow_loopback_plaintext"`
}

// NotifyWebhookConfig posts each event as JSON.
type NotifyWebhookConfig struct {
	URL string `mapstructure:"url"` // https://…; "" disables the webhook
	// SecretFile holds the key of the HMAC-SHA256 signature sent in
	// X-Radiusmfa-Signature (trailing newline trimmed); "" sends none.
	SecretFile string `mapstructure:"secret_file"`
}

// NotifyEmailConfig mails each event over SMTP.
type NotifyEmailConfig struct {
	Host string `mapstructure:"host"` // "" disables email
	// Port defaults to 587 with starttls, 465 with tls, 25 with none.
	Port int `mapstructure:"port"`
	// TLS is "starttls" (default; the server must offer it), "tls"
	// (implicit TLS, SMTPS) or "none" (a loopback host with
	// allow_loopback_plaintext only).
	TLS          string   `mapstructure:"tls"`
	Username     string   `mapstructure:"username"`
	PasswordFile string   `mapstructure:"password_file"`
	From         string   `mapstructure:"from"`
	To           []string `mapstructure:"to"`
}

// Allowed values of the notify keys.
var (
	notifyEvents  = []string{"push_reported", "push_suspended", "login_reported"}
	emailTLSModes = []string{"starttls", "tls", "none"}
)

// ReadSecretFile reads a secret file as Validate does (a regular file of
// at most 64 KiB, trailing line breaks removed, not empty), for the keys
// whose content Validate checks but does not keep (notify's secret and
// password files).
func ReadSecretFile(path string) (string, error) {
	return readSecretFile(path)
}

// validateNotify checks the notify section and puts events and tls in
// lower case. The secret files are read to check them; their content is
// not kept.
func (c *Config) validateNotify(p *problems) {
	n := &c.Notify
	for i, ev := range n.Events {
		n.Events[i] = strings.ToLower(ev)
		p.oneOf(fmt.Sprintf("notify.events[%d]", i), ev, notifyEvents)
	}
	w := &n.Webhook
	if w.URL != "" {
		if msg := checkWebhookURL(w.URL, n.AllowLoopbackPlaintext); msg != "" {
			p.addf("notify.webhook.url", "%s", msg)
		}
	}
	if w.SecretFile != "" {
		if w.URL == "" {
			p.addf("notify.webhook.secret_file", "is set but notify.webhook.url is not")
		} else if _, err := readSecretFile(w.SecretFile); err != nil {
			p.addf("notify.webhook.secret_file", "%v", err)
		}
	}
	c.validateNotifyEmail(p)
	if (w.URL != "" || n.Email.Host != "") && len(n.Events) == 0 {
		p.addf("notify.events", "lists no event, so nothing would be sent (remove it to send all)")
	}
}

func (c *Config) validateNotifyEmail(p *problems) {
	e := &c.Notify.Email
	if e.Host == "" {
		if e.From != "" || len(e.To) > 0 || e.Username != "" || e.PasswordFile != "" || e.Port != 0 {
			p.addf("notify.email.host", "must be set for email notifications (or leave the notify.email keys out)")
		}
		return
	}
	e.TLS = strings.ToLower(e.TLS)
	p.oneOf("notify.email.tls", e.TLS, emailTLSModes)
	if e.TLS == "none" && (!c.Notify.AllowLoopbackPlaintext || !isLoopbackIP(e.Host)) {
		p.addf("notify.email.tls", `"none" sends mail in clear: only to a loopback address (127.0.0.1, ::1), with notify.allow_loopback_plaintext, for tests`)
	}
	if e.Port < 0 || e.Port > 65535 {
		p.addf("notify.email.port", "must be from 1 to 65535, or 0 for the default of tls (587, 465, 25), got %d", e.Port)
	}
	if _, err := mail.ParseAddress(e.From); err != nil {
		p.addf("notify.email.from", "must be an email address, got %q", e.From)
	}
	if len(e.To) == 0 {
		p.addf("notify.email.to", "at least one address is required")
	}
	for i, to := range e.To {
		if _, err := mail.ParseAddress(to); err != nil {
			p.addf(fmt.Sprintf("notify.email.to[%d]", i), "must be an email address, got %q", to)
		}
	}
	switch {
	case (e.Username == "") != (e.PasswordFile == ""):
		p.addf("notify.email.username", "username and password_file go together")
	case e.Username != "" && e.TLS == "none":
		p.addf("notify.email.username", `the password would cross in clear with tls "none"`)
	}
	if e.PasswordFile != "" {
		if _, err := readSecretFile(e.PasswordFile); err != nil {
			p.addf("notify.email.password_file", "%v", err)
		}
	}
}

// checkWebhookURL returns what is wrong with a webhook URL, never
// repeating it: its path or query often holds the receiver's token.
func checkWebhookURL(raw string, allowLoopbackPlaintext bool) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Host == "":
		return "must be an https:// URL with a host"
	case u.Scheme == "https":
	case u.Scheme == "http" && allowLoopbackPlaintext && isLoopbackIP(u.Hostname()):
	case u.Scheme == "http":
		return "must be an https:// URL (http:// only to a loopback address, with notify.allow_loopback_plaintext, for tests)"
	default:
		return fmt.Sprintf("must be an https:// URL, got scheme %q", u.Scheme)
	}
	return ""
}

// isLoopbackIP reports a literal loopback address; names, even
// "localhost", do not count.
func isLoopbackIP(host string) bool {
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
