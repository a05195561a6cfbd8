package delivery

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"
)

// DefaultWebhookBody is the body a Webhook posts unless told otherwise.
const DefaultWebhookBody = `{"channel":{{json .Channel}},"to":{{json .To}},"message":{{json .Message}}}`

// WebhookOptions configure a Webhook.
type WebhookOptions struct {
	URL string
	// Method is POST (default) or PUT: the message travels in the body.
	Method string
	// Headers are "Name: value" lines added to every request. Host,
	// Content-Length, Transfer-Encoding and Connection are the
	// transport's; Content-Type and Authorization have options of their
	// own.
	Headers []string
	// Authorization is the Authorization header's value, read from a
	// secret file rather than written in the configuration.
	Authorization string
	// Body is a text/template of the body (default DefaultWebhookBody).
	// Its data are .Channel .To .Message .Code .Subject; its functions
	// json (a quoted JSON string) and urlquery (form encoding).
	Body string
	// ContentType defaults to "application/json".
	ContentType string
	// AllowLoopbackPlaintext permits an http:// URL whose host is a
	// literal loopback address, for tests; https is required otherwise.
	AllowLoopbackPlaintext bool
	// RootCAs, when set, replaces the system's roots for the receiver's
	// certificate (tests).
	RootCAs *x509.CertPool
	// Timeout bounds one request; default DefaultHTTPTimeout.
	Timeout time.Duration
}

// Webhook sends each message as one HTTP request to a URL of the admin's:
// a gateway of their own, or a service this package does not speak.
type Webhook struct {
	url         string // may hold a token: in no message
	method      string
	header      http.Header
	body        *template.Template
	contentType string
	client      *http.Client
}

var _ Provider = (*Webhook)(nil)

// webhookData is what the body template sees.
type webhookData struct {
	Channel, To, Message, Code, Subject string
}

// transportHeaders are set by net/http from the request itself; a
// configured value would contradict it.
var transportHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection"}

// NewWebhook checks o, parses and tries its body template, and returns
// its provider.
func NewWebhook(o WebhookOptions) (*Webhook, error) {
	if o.Method == "" {
		o.Method = http.MethodPost
	}
	if o.ContentType == "" {
		o.ContentType = "application/json"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultHTTPTimeout
	}
	var errs []error
	if _, err := parseURL("webhook", o.URL, o.AllowLoopbackPlaintext); err != nil {
		errs = append(errs, err)
	}
	w := &Webhook{url: o.URL, method: strings.ToUpper(o.Method), contentType: o.ContentType}
	switch w.method {
	case http.MethodPost, http.MethodPut:
		if o.Body == "" {
			o.Body = DefaultWebhookBody
		}
		body, err := parseBody(o.Body)
		if err != nil {
			errs = append(errs, err)
		}
		w.body = body
	default:
		errs = append(errs, fmt.Errorf("webhook: method must be POST or PUT (the message travels in the body), got %q", o.Method))
	}
	header, err := parseHeaders(o.Headers, o.Authorization)
	if err != nil {
		errs = append(errs, err)
	}
	w.header = header
	if !validHeaderValue(o.ContentType) {
		errs = append(errs, errors.New("webhook: content type holds a control character"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	w.client = newHTTPClient(o.RootCAs, o.Timeout)
	return w, nil
}

// parseBody parses the template and runs it once on made-up data, so that
// a field or function it lacks fails here, at start-up, and not at the
// first login.
func parseBody(text string) (*template.Template, error) {
	t, err := template.New("body").Funcs(template.FuncMap{
		"json":     jsonString,
		"urlquery": url.QueryEscape,
	}).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("webhook: body template: %w", err)
	}
	try := webhookData{Channel: string(SMS), To: "+15555550100", Message: "Your code is 123456", Code: "123456", Subject: "Code"}
	if err := t.Execute(io.Discard, try); err != nil {
		return nil, fmt.Errorf("webhook: body template: %w", err)
	}
	return t, nil
}

// jsonString is s as a JSON string, quotes included. <, > and & stay as
// they are: the body is not HTML.
func jsonString(s string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// parseHeaders reads "Name: value" lines. Its errors name the header but
// never quote a value, which may be a key.
func parseHeaders(lines []string, authorization string) (http.Header, error) {
	h := http.Header{}
	var errs []error
	for i, line := range lines {
		name, value, ok := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch {
		case !ok || !validHeaderName(name):
			errs = append(errs, fmt.Errorf("webhook: header %d is not \"Name: value\"", i+1))
			continue
		case !validHeaderValue(value):
			errs = append(errs, fmt.Errorf("webhook: header %s holds a control character", name))
			continue
		}
		switch canon := http.CanonicalHeaderKey(name); {
		case containsFold(transportHeaders, canon):
			errs = append(errs, fmt.Errorf("webhook: header %s is set by the transport, not by configuration", canon))
		case canon == "Content-Type":
			errs = append(errs, errors.New("webhook: set Content-Type with content_type, not as a header"))
		case canon == "Authorization":
			errs = append(errs, errors.New("webhook: set Authorization with authorization (from a secret file), not as a header"))
		default:
			h.Add(canon, value)
		}
	}
	if authorization != "" {
		if validHeaderValue(authorization) {
			h.Set("Authorization", authorization)
		} else {
			errs = append(errs, errors.New("webhook: authorization holds a control character"))
		}
	}
	return h, errors.Join(errs...)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// validHeaderName reports an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

// validHeaderValue refuses control characters but tab: a line break would
// start a header of its own.
func validHeaderValue(s string) bool {
	for _, r := range s {
		if r < ' ' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

func (w *Webhook) Name() string { return "webhook" }

// Send makes one request for m. A 2xx answer is success. Its errors give
// the status alone: the URL and the body hold the code or a token. An
// answer of the 4xx class (but 408 and 429) wraps ErrRefused.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	if err := checkMessage("webhook", m, SMS, Voice, Email); err != nil {
		return err
	}
	var body io.Reader
	if w.body != nil {
		var b bytes.Buffer
		data := webhookData{Channel: string(m.Channel), To: m.To, Message: m.Text, Code: m.Code, Subject: m.Subject}
		if err := w.body.Execute(&b, data); err != nil {
			return fail(nil, "webhook: body template: %s", quote(err.Error(), m))
		}
		body = &b
	}
	req, err := http.NewRequestWithContext(ctx, w.method, w.url, body)
	if err != nil {
		return fail(nil, "webhook: cannot build the request")
	}
	req.Header = w.header.Clone()
	if body != nil {
		req.Header.Set("Content-Type", w.contentType)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "radiusmfa")
	}
	status, _, err := roundTrip(w.client, req, "webhook", req.URL.Host)
	switch {
	case err != nil:
		return err
	case status >= 200 && status < 300:
		return nil
	case refusedStatus(status):
		return refused("webhook: the receiver answered %s", statusLine(status))
	}
	return fail(nil, "webhook: the receiver answered %s", statusLine(status))
}
