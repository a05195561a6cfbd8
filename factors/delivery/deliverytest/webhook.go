package deliverytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// WebhookRequest is one request the receiver got.
type WebhookRequest struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// WebhookServer is a plain-http receiver on 127.0.0.1 that records every
// request and answers each with the status last set (200 at first).
type WebhookServer struct {
	URL    string // http://127.0.0.1:port/hook
	Server *httptest.Server

	mu     sync.Mutex
	status int
	got    []WebhookRequest
	more   chan struct{}
}

// NewWebhook runs a receiver until t ends; a provider needs
// AllowLoopbackPlaintext to reach it.
func NewWebhook(t testing.TB) *WebhookServer {
	t.Helper()
	w := &WebhookServer{status: http.StatusOK, more: make(chan struct{}, 1)}
	w.Server = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.Server.Close)
	w.URL = w.Server.URL + "/hook"
	return w
}

// SetStatus sets the answer to the requests that come next.
func (w *WebhookServer) SetStatus(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status = code
}

// Requests returns a copy of what was received so far.
func (w *WebhookServer) Requests() []WebhookRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]WebhookRequest(nil), w.got...)
}

// WaitFor waits up to timeout for n requests and returns them all; it
// fails t if fewer came.
func (w *WebhookServer) WaitFor(t testing.TB, n int, timeout time.Duration) []WebhookRequest {
	t.Helper()
	got, ok := waitFor(w.Requests, w.more, n, timeout)
	if !ok {
		t.Fatalf("deliverytest: %d webhook requests after %v, want %d", len(got), timeout, n)
	}
	return got
}

func (w *WebhookServer) serve(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	w.mu.Lock()
	w.got = append(w.got, WebhookRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body})
	code := w.status
	w.mu.Unlock()
	select {
	case w.more <- struct{}{}:
	default:
	}
	rw.WriteHeader(code)
}
