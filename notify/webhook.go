package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"radiusmfa/internal/mailer"
)

// SignatureHeader carries the body's HMAC-SHA256 under the webhook secret,
// as "sha256=" and 64 hex digits.
const SignatureHeader = "X-Radiusmfa-Signature"

// WebhookOptions configure a Webhook.
type WebhookOptions struct {
	// Secret, when set, signs every body (SignatureHeader).
	Secret []byte
	// AllowLoopbackHTTP permits an http:// URL whose host is a literal
	// loopback address, for tests; https is required otherwise.
	AllowLoopbackHTTP bool
	// RootCAs, when set, replaces the system's roots for the receiver's
	// certificate (tests).
	RootCAs *x509.CertPool
}

// Webhook posts each event as JSON to one URL.
type Webhook struct {
	url    string
	host   string // for messages: the URL's path or query may hold a token
	secret []byte
	client *http.Client
}

var _ Channel = (*Webhook)(nil)

// NewWebhook checks rawURL and returns its channel.
func NewWebhook(rawURL string, o WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("webhook URL does not parse") // url's error would repeat it
	}
	if err := CheckWebhookURL(u, o.AllowLoopbackHTTP); err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.RootCAs}
	c := &http.Client{Transport: t,
		// A redirect could lead anywhere, http included: the configured URL
		// must be the receiver's.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Webhook{url: rawURL, host: u.Host, secret: o.Secret, client: c}, nil
}

// CheckWebhookURL accepts an https URL with a host, or, when
// allowLoopbackHTTP is set, an http URL to a literal loopback address.
// Its errors do not repeat the URL, which may hold a token.
func CheckWebhookURL(u *url.URL, allowLoopbackHTTP bool) error {
	switch {
	case u.Host == "":
		return errors.New("webhook URL has no host")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && allowLoopbackHTTP && mailer.IsLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return errors.New("webhook URL must be https (http only to a loopback address, with allow_loopback_plaintext)")
	}
	return fmt.Errorf("webhook URL must be https, got scheme %q", u.Scheme)
}

func (w *Webhook) Name() string { return "webhook" }

// Send posts ev. A 2xx answer is success; 3xx and 4xx are permanent
// failures; 5xx and network errors may be retried.
func (w *Webhook) Send(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("webhook %s: cannot build the request", w.host))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "radiusmfa")
	if len(w.secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(w.secret, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return fmt.Errorf("webhook %s: %w", w.host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 500:
		return fmt.Errorf("webhook %s answered %s", w.host, resp.Status)
	}
	return Permanent(fmt.Errorf("webhook %s answered %s", w.host, resp.Status))
}

// Sign is the value of SignatureHeader for body: "sha256=" and the hex
// HMAC-SHA256 of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
