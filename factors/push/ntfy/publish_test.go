package ntfy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"radiusmfa/factors/push"
)

const testTopic = "rmfa-abcdefghijklmnopqrstuvwxyz234567"

// server is an ntfy server on loopback that records what is published.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []*http.Request
	bodies [][]byte
	status int
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, r)
		s.bodies = append(s.bodies, b)
		status := s.status
		s.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"id":"x","event":"message"}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func notice() push.Notice {
	return push.Notice{Title: "Sign-in request", Message: "Sign-in as alice to vpn.", Tags: []string{"lock"},
		Actions: []push.Action{{Label: "Approve", URL: "https://vpn.example.com/approver/link/AAA"},
			{Label: "Deny", URL: "https://vpn.example.com/approver/link/BBB"},
			{Label: "Deny and report", URL: "https://vpn.example.com/approver/link/CCC"}}}
}

func TestPublishJSON(t *testing.T) {
	s := newServer(t)
	p, err := New(Options{Server: s.URL, Token: "tk_abcdefghijklmnopqrstuvwxyz123", AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(context.Background(), testTopic, notice()); err != nil {
		t.Fatal(err)
	}
	r, body := s.reqs[0], s.bodies[0]
	if r.Method != "POST" || r.URL.Path != "/" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	if got := r.Header.Get("Authorization"); got != "Bearer tk_abcdefghijklmnopqrstuvwxyz123" {
		t.Errorf("Authorization %q", got)
	}
	// The shape of ntfy's JSON publish, key for key.
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"topic": testTopic, "title": "Sign-in request", "message": "Sign-in as alice to vpn.",
		"tags": []any{"lock"}, "priority": float64(DefaultPriority),
		"actions": []any{
			map[string]any{"action": "http", "label": "Approve", "url": "https://vpn.example.com/approver/link/AAA", "method": "POST", "clear": true},
			map[string]any{"action": "http", "label": "Deny", "url": "https://vpn.example.com/approver/link/BBB", "method": "POST", "clear": true},
			map[string]any{"action": "http", "label": "Deny and report", "url": "https://vpn.example.com/approver/link/CCC", "method": "POST", "clear": true},
		},
	}
	gotJSON, _ := json.Marshal(m)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("published\n%s\nwant\n%s", gotJSON, wantJSON)
	}
}

func TestPublishWithoutToken(t *testing.T) {
	s := newServer(t)
	p, err := New(Options{Server: s.URL + "/", Priority: 5, AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(context.Background(), testTopic, push.Notice{Message: "m"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.reqs[0].Header["Authorization"]; ok {
		t.Error("an Authorization header without a token")
	}
	var m struct{ Priority int }
	if json.Unmarshal(s.bodies[0], &m); m.Priority != 5 {
		t.Errorf("priority %d, want 5", m.Priority)
	}
}

// TestPublishErrors: a refusal is an error naming the server's host and
// status, never the token or the topic.
func TestPublishErrors(t *testing.T) {
	s := newServer(t)
	const token = "tk_secretsecretsecretsecret1234"
	p, err := New(Options{Server: s.URL, Token: token, AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusFound} {
		s.mu.Lock()
		s.status = status
		s.mu.Unlock()
		err := p.Publish(context.Background(), testTopic, notice())
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != status {
			t.Errorf("status %d: %v", status, err)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, token) || strings.Contains(msg, testTopic) || !strings.Contains(msg, s.Listener.Addr().String()) {
			t.Errorf("status %d: error %q", status, msg)
		}
	}
	s.Close()
	err = p.Publish(context.Background(), testTopic, notice())
	if err == nil || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), testTopic) {
		t.Errorf("server down: %v", err)
	}
	four := notice()
	four.Actions = append(four.Actions, push.Action{Label: "x", URL: "https://x"})
	if err := p.Publish(context.Background(), testTopic, four); err == nil {
		t.Error("four action buttons published")
	}
	if err := p.Publish(context.Background(), "", notice()); err == nil {
		t.Error("published without a topic")
	}
}

func TestNewRefuses(t *testing.T) {
	for name, o := range map[string]Options{
		"no server":          {},
		"relative":           {Server: "ntfy.example.com"},
		"http":               {Server: "http://ntfy.example.com"},
		"http loopback":      {Server: "http://127.0.0.1:8080"}, // AllowHTTP off
		"http localhost":     {Server: "http://localhost:8080", AllowHTTP: true},
		"ftp":                {Server: "ftp://ntfy.example.com"},
		"a path":             {Server: "https://example.com/ntfy"},
		"a query":            {Server: "https://ntfy.example.com/?x=1"},
		"credentials":        {Server: "https://u:p@ntfy.example.com"},
		"priority 6":         {Server: "https://ntfy.example.com", Priority: 6},
		"negative priority":  {Server: "https://ntfy.example.com", Priority: -1},
		"token with a space": {Server: "https://ntfy.example.com", Token: "tk_a b"},
		"token with newline": {Server: "https://ntfy.example.com", Token: "tk_a\r\nX-Evil: 1"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New(%+v) accepted", name, o)
		}
	}
	for _, ok := range []Options{{Server: "https://ntfy.example.com"}, {Server: "https://ntfy.example.com:8443/"},
		{Server: "http://127.0.0.1:8080", AllowHTTP: true}, {Server: "http://[::1]:8080", AllowHTTP: true}} {
		if _, err := New(ok); err != nil {
			t.Errorf("New(%+v): %v", ok, err)
		}
	}
}
