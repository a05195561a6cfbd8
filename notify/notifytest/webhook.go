package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one request the webhook receiver got.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// SignedWith reports whether the request's X-Radiusmfa-Signature is
// "sha256=" and the hex HMAC-SHA256 of its body under secret, checked as a
// receiver should: in constant time.
func (r Request) SignedWith(secret []byte) bool {
	sig, ok := strings.CutPrefix(r.Header.Get("X-Radiusmfa-Signature"), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(r.Body)
	return hmac.Equal(got, m.Sum(nil))
}

// WebhookReceiver is a plain-http server on 127.0.0.1 that records every
// request. Status picks the answer to the nth request (from 1); nil
// answers 204 to all.
type WebhookReceiver struct {
	URL    string // http://127.0.0.1:port/hook
	Server *httptest.Server

	status func(n int) int
	mu     sync.Mutex
	got    []Request
	more   chan struct{}
}

// StartWebhook runs a receiver until t ends.
func StartWebhook(t testing.TB, status func(n int) int) *WebhookReceiver {
	t.Helper()
	w := &WebhookReceiver{status: status, more: make(chan struct{}, 1)}
	w.Server = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.Server.Close)
	w.URL = w.Server.URL + "/hook"
	return w
}

func (w *WebhookReceiver) serve(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	w.mu.Lock()
	w.got = append(w.got, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	n := len(w.got)
	w.mu.Unlock()
	select {
	case w.more <- struct{}{}:
	default:
	}
	code := http.StatusNoContent
	if w.status != nil {
		code = w.status(n)
	}
	rw.WriteHeader(code)
}

// Requests returns what was received so far.
func (w *WebhookReceiver) Requests() []Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Request(nil), w.got...)
}

// Wait waits up to d for at least n requests and returns them all; ok is
// false if fewer came.
func (w *WebhookReceiver) Wait(n int, d time.Duration) (reqs []Request, ok bool) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if got := w.Requests(); len(got) >= n {
			return got, true
		}
		select {
		case <-w.more:
		case <-deadline.C:
			got := w.Requests()
			return got, len(got) >= n
		}
	}
}
