package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"radiusmfa/notify/notifytest"
)

func sampleEvent() Event {
	return Event{Kind: PushReported, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), User: "alice",
		Client: "vpn", NASIdentifier: "asa1", CallingStationID: "203.0.113.9",
		Detail: "device d1; push suspended for the user", Server: "mfa1"}
}

func loopbackWebhook(t *testing.T, url string, secret []byte) *Webhook {
	t.Helper()
	w, err := NewWebhook(url, WebhookOptions{Secret: secret, AllowLoopbackHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWebhookBodyAndSignature(t *testing.T) {
	recv := notifytest.StartWebhook(t, nil)
	secret := []byte("s3cret-webhook-key")
	w := loopbackWebhook(t, recv.URL, secret)
	if err := w.Send(context.Background(), sampleEvent()); err != nil {
		t.Fatal(err)
	}
	reqs, _ := recv.Wait(1, time.Second)
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/hook" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s %q", r.Method, r.Path, r.Header.Get("Content-Type"))
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	want := map[string]any{"event": "push_reported", "time": "2026-01-02T03:04:05Z", "user": "alice", "client": "vpn",
		"nas_identifier": "asa1", "calling_station_id": "203.0.113.9",
		"detail": "device d1; push suspended for the user", "server": "mfa1"}
	if len(body) != len(want) {
		t.Errorf("body has keys %v, want %d", body, len(want))
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body[%q] = %v, want %v", k, body[k], v)
		}
	}
	// The signature, computed here from its definition.
	m := hmac.New(sha256.New, secret)
	m.Write(r.Body)
	if got, want := r.Header.Get(SignatureHeader), "sha256="+hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("%s: %q, want %q", SignatureHeader, got, want)
	}
	if !r.SignedWith(secret) || r.SignedWith([]byte("other")) {
		t.Error("notifytest's signature check disagrees")
	}
	if strings.Contains(string(r.Body), string(secret)) {
		t.Error("the secret is in the body")
	}
}

func TestWebhookUnsigned(t *testing.T) {
	recv := notifytest.StartWebhook(t, nil)
	if err := loopbackWebhook(t, recv.URL, nil).Send(context.Background(), sampleEvent()); err != nil {
		t.Fatal(err)
	}
	reqs, _ := recv.Wait(1, time.Second)
	if _, signed := reqs[0].Header[SignatureHeader]; signed {
		t.Error("signed without a secret")
	}
}

// TestWebhookRetries: through a Notifier, a 500 is tried again until it
// succeeds; a 400 is not; a redirect is not followed.
func TestWebhookRetries(t *testing.T) {
	tests := []struct {
		name     string
		status   func(n int) int
		requests int
		sent     float64
	}{
		{"500 then 200", func(n int) int { return map[bool]int{true: 500, false: 200}[n < 3] }, 3, 1},
		{"500 always", func(int) int { return 502 }, 3, 0},
		{"400", func(int) int { return 400 }, 1, 0},
		{"redirect", func(int) int { return 302 }, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recv := notifytest.StartWebhook(t, tt.status)
			log, _ := testLog()
			n := New(log, nil, fastOptions(), loopbackWebhook(t, recv.URL, []byte("k")))
			n.Notify(sampleEvent())
			closeNow(t, n)
			reqs := recv.Requests()
			if len(reqs) != tt.requests {
				t.Errorf("%d requests, want %d", len(reqs), tt.requests)
			}
			for _, r := range reqs {
				if !r.SignedWith([]byte("k")) {
					t.Error("a retry is not signed")
				}
			}
			if s, f := counter(t, n, "webhook", "sent"), counter(t, n, "webhook", "failed"); s != tt.sent || f != 1-tt.sent {
				t.Errorf("sent %v failed %v", s, f)
			}
		})
	}
}

func TestWebhookStatusClasses(t *testing.T) {
	for _, tt := range []struct {
		status    int
		ok, final bool
	}{{200, true, false}, {204, true, false}, {301, false, true}, {400, false, true}, {404, false, true},
		{429, false, true}, {500, false, false}, {503, false, false}} {
		recv := notifytest.StartWebhook(t, func(int) int { return tt.status })
		err := loopbackWebhook(t, recv.URL, nil).Send(context.Background(), sampleEvent())
		if (err == nil) != tt.ok || IsPermanent(err) != tt.final {
			t.Errorf("status %d: err %v (permanent %v)", tt.status, err, IsPermanent(err))
		}
	}
}

func TestWebhookTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	w, err := NewWebhook(srv.URL+"/hook", WebhookOptions{RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(context.Background(), sampleEvent()); err != nil {
		t.Errorf("https with the test CA: %v", err)
	}
	w, err = NewWebhook(srv.URL+"/hook", WebhookOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(context.Background(), sampleEvent()); err == nil || IsPermanent(err) {
		t.Errorf("https to an untrusted certificate: %v, want a (retryable) error", err)
	}
}

func TestWebhookURLRules(t *testing.T) {
	tests := []struct {
		url      string
		loopback bool
		ok       bool
	}{
		{"https://hooks.example.com/x", false, true},
		{"https://[2001:db8::1]:8443/x", false, true},
		{"http://127.0.0.1:8080/x", true, true},
		{"http://[::1]:8080/x", true, true},
		{"http://127.0.0.1:8080/x", false, false},
		{"http://localhost:8080/x", true, false},
		{"http://hooks.example.com/x", true, false},
		{"ftp://hooks.example.com/x", false, false},
		{"https:///x", false, false},
		{"hooks.example.com/x", false, false},
	}
	for _, tt := range tests {
		_, err := NewWebhook(tt.url, WebhookOptions{AllowLoopbackHTTP: tt.loopback})
		if (err == nil) != tt.ok {
			t.Errorf("NewWebhook(%q, loopback %v) = %v, want ok %v", tt.url, tt.loopback, err, tt.ok)
		}
	}
	u, _ := url.Parse("http://hooks.example.com/T0KEN")
	if err := CheckWebhookURL(u, false); err == nil || strings.Contains(err.Error(), "T0KEN") {
		t.Errorf("error %v repeats the URL", err)
	}
}

// TestWebhookErrorsHideURL: a URL's path often holds the receiver's
// token; a failure names the host only.
func TestWebhookErrorsHideURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // connection refused from now on
	w := loopbackWebhook(t, "http://"+addr+"/hooks/T0KEN-T0KEN?sig=S3CRET", nil)
	err = w.Send(context.Background(), sampleEvent())
	if err == nil || IsPermanent(err) {
		t.Fatalf("send to a closed port: %v, want a retryable error", err)
	}
	if s := err.Error(); strings.Contains(s, "T0KEN") || strings.Contains(s, "S3CRET") || !strings.Contains(s, addr) {
		t.Errorf("error %q: want the host, not the path or query", s)
	}
}
