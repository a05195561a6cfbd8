package delivery

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"radiusmfa/internal/mailer"
)

// DefaultHTTPTimeout bounds one request of Twilio and Webhook, from
// dialling to the end of the answer.
const DefaultHTTPTimeout = 15 * time.Second

// maxAnswer bounds what is read of an answer: an error's JSON fits in far
// less, and a huge one should not cost memory.
const maxAnswer = 64 << 10

// parseURL accepts an https URL with a host, or, with
// allowLoopbackPlaintext, an http one whose host is a literal loopback
// address. Its errors do not repeat the URL, which may hold a token.
func parseURL(name, raw string, allowLoopbackPlaintext bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: the URL does not parse", name) // url's error would repeat it
	}
	switch {
	case u.Host == "":
		return nil, fmt.Errorf("%s: the URL has no host", name)
	case u.Scheme == "https":
		return u, nil
	case u.Scheme == "http" && allowLoopbackPlaintext && mailer.IsLoopback(u.Hostname()):
		return u, nil
	case u.Scheme == "http":
		return nil, fmt.Errorf("%s: the URL must be https (http only to a loopback address, with allow_loopback_plaintext)", name)
	}
	return nil, fmt.Errorf("%s: the URL must be https, got scheme %q", name, u.Scheme)
}

// newHTTPClient connects straight to the URL's host: no proxy from the
// environment (a proxy would see every code), and no redirect, which
// could lead anywhere, http included.
func newHTTPClient(rootCAs *x509.CertPool, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	t := &http.Transport{
		DialContext:         d.DialContext,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: rootCAs},
		TLSHandshakeTimeout: min(timeout, 10*time.Second),
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{
		Transport:     t,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// roundTrip sends req and returns the answer's status and the start of
// its body. Its error names host, never the URL.
func roundTrip(c *http.Client, req *http.Request, name, host string) (status int, body []byte, err error) {
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return 0, nil, fail(err, "%s: %s: %v", name, host, err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer)) // lets the connection be reused
	return resp.StatusCode, body, nil
}

// statusLine is "404 Not Found": the code with Go's text for it, not the
// server's, which is the server's to fill with anything.
func statusLine(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprint(code)
}

// refusedStatus reports an HTTP answer that says the request itself is
// wrong: a 4xx, but a timeout (408) or too many requests (429), which a
// later try may pass.
func refusedStatus(code int) bool {
	return code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
}
