package delivery

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"radiusmfa/factors/delivery/deliverytest"
)

func webhookFor(t *testing.T, srv *deliverytest.WebhookServer, edit func(*WebhookOptions)) *Webhook {
	t.Helper()
	o := WebhookOptions{URL: srv.URL + "?token=secret-token", AllowLoopbackPlaintext: true}
	if edit != nil {
		edit(&o)
	}
	p, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWebhookDefaultBody(t *testing.T) {
	srv := deliverytest.NewWebhook(t)
	m := codeMessage(SMS, "+15855550123")
	m.Text = "Your code: " + testCode + "\n<b>\"quoted\"</b> & é"
	if err := send(t, webhookFor(t, srv, nil), m); err != nil {
		t.Fatal(err)
	}
	r := srv.WaitFor(t, 1, 5*time.Second)[0]
	if r.Method != http.MethodPost || r.Path != "/hook" || r.RawQuery != "token=secret-token" {
		t.Errorf("%s %s?%s", r.Method, r.Path, r.RawQuery)
	}
	if ct, ua := r.Header.Get("Content-Type"), r.Header.Get("User-Agent"); ct != "application/json" || ua != "radiusmfa" {
		t.Errorf("Content-Type %q, User-Agent %q", ct, ua)
	}
	var got map[string]string
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("%s: %v", r.Body, err)
	}
	want := map[string]string{"channel": "sms", "to": "+15855550123", "message": m.Text}
	if len(got) != len(want) || got["channel"] != want["channel"] || got["to"] != want["to"] || got["message"] != want["message"] {
		t.Errorf("body %s, want %v", r.Body, want)
	}
	if strings.Contains(string(r.Body), `\u003c`) {
		t.Errorf("json escaped HTML: %s", r.Body)
	}
}

func TestWebhookTemplateAndHeaders(t *testing.T) {
	srv := deliverytest.NewWebhook(t)
	p := webhookFor(t, srv, func(o *WebhookOptions) {
		o.Method = "put"
		o.Body = `to={{urlquery .To}}&text={{urlquery .Message}}&code={{.Code}}&via={{.Channel}}&j={{json .Subject | urlquery}}`
		o.ContentType = "application/x-www-form-urlencoded"
		o.Headers = []string{"X-Api-Key: key-1", "x-trace:  a b ", "X-Multi: 1", "X-Multi: 2"}
		o.Authorization = "Bearer secret-bearer"
	})
	m := codeMessage(Voice, "+15855550123")
	m.Subject = `say "hi"`
	if err := send(t, p, m); err != nil {
		t.Fatal(err)
	}
	r := srv.WaitFor(t, 1, 5*time.Second)[0]
	if r.Method != http.MethodPut {
		t.Errorf("method %s", r.Method)
	}
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		t.Fatalf("%s: %v", r.Body, err)
	}
	if form.Get("to") != m.To || form.Get("text") != m.Text || form.Get("code") != testCode ||
		form.Get("via") != "voice" || form.Get("j") != `"say \"hi\""` {
		t.Errorf("body %s reads as %v", r.Body, form)
	}
	h := r.Header
	if h.Get("X-Api-Key") != "key-1" || h.Get("X-Trace") != "a b" || strings.Join(h.Values("X-Multi"), ",") != "1,2" ||
		h.Get("Authorization") != "Bearer secret-bearer" || h.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("headers %v", h)
	}
}

// TestWebhookAnswers: an error gives the status alone, never the URL (its
// query holds a token) nor the body (it holds the code).
func TestWebhookAnswers(t *testing.T) {
	srv := deliverytest.NewWebhook(t)
	p := webhookFor(t, srv, func(o *WebhookOptions) { o.Authorization = "Bearer secret-bearer" })
	m := codeMessage(SMS, "+15855550123")
	tests := []struct {
		status  int
		want    string // "" for success
		refused bool
	}{
		{http.StatusAccepted, "", false},
		{http.StatusNoContent, "", false},
		{http.StatusFound, "302 Found", false},
		{http.StatusBadRequest, "400 Bad Request", true},
		{http.StatusUnauthorized, "401 Unauthorized", true},
		{http.StatusTooManyRequests, "429 Too Many Requests", false},
		{http.StatusServiceUnavailable, "503 Service Unavailable", false},
		{599, "599", false},
	}
	for _, tt := range tests {
		srv.SetStatus(tt.status)
		err := send(t, p, m)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%d: %v", tt.status, err)
			}
			continue
		}
		checkSecretFree(t, err, m, "secret-token", "/hook", srv.URL, "secret-bearer")
		if !strings.Contains(err.Error(), tt.want) || errors.Is(err, ErrRefused) != tt.refused {
			t.Errorf("%d: %v, want %q, refused %v", tt.status, err, tt.want, tt.refused)
		}
	}
}

// TestWebhookTemplateFailsAtSend: a template that fails only on a real
// message says so without quoting it.
func TestWebhookTemplateFailsAtSend(t *testing.T) {
	srv := deliverytest.NewWebhook(t)
	p := webhookFor(t, srv, func(o *WebhookOptions) {
		o.Body = `{{if ne .Code "123456"}}{{index .Message 999}}{{end}}`
	})
	m := codeMessage(SMS, "+15855550123")
	err := send(t, p, m)
	checkSecretFree(t, err, m)
	if !strings.Contains(err.Error(), "body template") {
		t.Errorf("%v", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestNewWebhookChecks(t *testing.T) {
	tests := []struct {
		name string
		o    WebhookOptions
		want string // "" for success
	}{
		{"defaults", WebhookOptions{URL: "https://hooks.example.com/sms"}, ""},
		{"get", WebhookOptions{URL: "https://hooks.example.com/sms", Method: "GET"}, "must be POST or PUT"},
		{"http", WebhookOptions{URL: "http://hooks.example.com/x?token=secret-token"}, "must be https"},
		{"http loopback allowed", WebhookOptions{URL: "http://127.0.0.1:9/x", AllowLoopbackPlaintext: true}, ""},
		{"no host", WebhookOptions{URL: "https:///x"}, "no host"},
		{"method", WebhookOptions{URL: "https://h.example.com", Method: "DELETE"}, "method must be"},
		{"parse", WebhookOptions{URL: "https://h.example.com", Body: `{"m":{{json .Message}`}, "body template"},
		{"field", WebhookOptions{URL: "https://h.example.com", Body: `{{.Number}}`}, "Number"},
		{"function", WebhookOptions{URL: "https://h.example.com", Body: `{{shout .Message}}`}, `"shout" not defined`},
		{"host header", WebhookOptions{URL: "https://h.example.com", Headers: []string{"host: evil.example.com"}}, "Host is set by the transport"},
		{"length header", WebhookOptions{URL: "https://h.example.com", Headers: []string{"Content-Length: 3"}}, "Content-Length is set by the transport"},
		{"content type header", WebhookOptions{URL: "https://h.example.com", Headers: []string{"Content-Type: text/plain"}}, "content_type"},
		{"authorization header", WebhookOptions{URL: "https://h.example.com", Headers: []string{"Authorization: Bearer secret-value"}}, "secret file"},
		{"no colon", WebhookOptions{URL: "https://h.example.com", Headers: []string{"X-Key secret-value"}}, "header 1 is not"},
		{"bad name", WebhookOptions{URL: "https://h.example.com", Headers: []string{"X-Ok: 1", "X Key: secret-value"}}, "header 2 is not"},
		{"line break", WebhookOptions{URL: "https://h.example.com", Headers: []string{"X-Key: secret-value\r\nX-Other: 1"}}, "control character"},
		{"authorization line break", WebhookOptions{URL: "https://h.example.com", Authorization: "Bearer x\nX-Evil: 1"}, "control character"},
	}
	for _, tt := range tests {
		_, err := NewWebhook(tt.o)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want an error about %q", tt.name, err, tt.want)
		case err != nil && (strings.Contains(err.Error(), "secret-value") || strings.Contains(err.Error(), "secret-token")):
			t.Errorf("%s: the error quotes a secret: %v", tt.name, err)
		}
	}
}
