package deliverytest

import (
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TwilioRequest is one message or call the server accepted.
type TwilioRequest struct {
	Kind                string // "sms" (Messages.json) or "voice" (Calls.json)
	AccountSID          string // from the path
	To, From            string
	MessagingServiceSID string
	Body                string // Messages
	Twiml               string // Calls
	SID                 string // what the server answered: "SM…" or "CA…"
}

// TwilioServer answers like Twilio's API (version 2010-04-01) on
// 127.0.0.1: it creates messages and calls, as far as recording them.
type TwilioServer struct {
	// URL is the base URL, for delivery.TwilioOptions.BaseURL.
	URL string
	// AccountSID and AuthToken are the credentials requests must carry
	// (HTTP basic); change them, if at all, before the first request.
	AccountSID, AuthToken string
	// RootCAs trusts the server's certificate (nil for plain http).
	RootCAs *x509.CertPool
	Server  *httptest.Server

	mu    sync.Mutex
	got   []TwilioRequest
	fails []twilioError
	n     int // every sid handed out, for unique ones
	more  chan struct{}
}

// twilioError is the JSON of Twilio's error answers.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// NewTwilio runs a plain-http server until t ends; a provider needs
// AllowLoopbackPlaintext to reach it.
func NewTwilio(t testing.TB) *TwilioServer {
	t.Helper()
	s := newTwilio()
	s.Server = httptest.NewServer(s.handler())
	s.URL = s.Server.URL
	t.Cleanup(s.Server.Close)
	return s
}

// NewTwilioTLS runs an https server until t ends, with a certificate for
// 127.0.0.1 that RootCAs trusts.
func NewTwilioTLS(t testing.TB) *TwilioServer {
	t.Helper()
	s := newTwilio()
	s.Server = httptest.NewTLSServer(s.handler())
	s.URL = s.Server.URL
	s.RootCAs = x509.NewCertPool()
	s.RootCAs.AddCert(s.Server.Certificate())
	t.Cleanup(s.Server.Close)
	return s
}

func newTwilio() *TwilioServer {
	return &TwilioServer{
		AccountSID: "AC0123456789abcdef0123456789abcdef",
		AuthToken:  "deliverytest-auth-token",
		more:       make(chan struct{}, 1),
	}
}

// FailNext makes the next request get Twilio's error answer: the HTTP
// status, Twilio's error code (21211 for an invalid To, 21610 for an
// unsubscribed recipient, …) and its message. Calls queue up, one
// request each.
func (s *TwilioServer) FailNext(status int, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, twilioError{Code: code, Message: message, Status: status,
		MoreInfo: fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code)})
}

// Requests returns a copy of what was accepted so far: a request that
// failed (FailNext, bad credentials, a missing field) is not in it.
func (s *TwilioServer) Requests() []TwilioRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TwilioRequest(nil), s.got...)
}

// WaitFor waits up to timeout for n accepted requests and returns them
// all; it fails t if fewer came.
func (s *TwilioServer) WaitFor(t testing.TB, n int, timeout time.Duration) []TwilioRequest {
	t.Helper()
	got, ok := waitFor(s.Requests, s.more, n, timeout)
	if !ok {
		t.Fatalf("deliverytest: %d Twilio requests after %v, want %d", len(got), timeout, n)
	}
	return got
}

func (s *TwilioServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", func(w http.ResponseWriter, r *http.Request) {
		s.create(w, r, "sms")
	})
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Calls.json", func(w http.ResponseWriter, r *http.Request) {
		s.create(w, r, "voice")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		answerError(w, twilioError{Code: 20404, Message: "The requested resource was not found", Status: http.StatusNotFound})
	})
	return mux
}

// create checks a request as Twilio would, as far as a test needs, and
// records it.
func (s *TwilioServer) create(w http.ResponseWriter, r *http.Request, kind string) {
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(s.AccountSID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.AuthToken)) != 1 {
		answerError(w, twilioError{Code: 20003, Message: "Authenticate", Status: http.StatusUnauthorized})
		return
	}
	if r.PathValue("sid") != s.AccountSID {
		answerError(w, twilioError{Code: 20404, Message: "The requested resource was not found", Status: http.StatusNotFound})
		return
	}
	if err := r.ParseForm(); err != nil {
		answerError(w, twilioError{Code: 20001, Message: "Bad request", Status: http.StatusBadRequest})
		return
	}
	req := TwilioRequest{Kind: kind, AccountSID: r.PathValue("sid"), To: r.PostForm.Get("To"), From: r.PostForm.Get("From"),
		MessagingServiceSID: r.PostForm.Get("MessagingServiceSid"), Body: r.PostForm.Get("Body"), Twiml: r.PostForm.Get("Twiml")}
	if missing := missingField(req); missing.Code != 0 {
		answerError(w, missing)
		return
	}

	s.mu.Lock()
	if len(s.fails) > 0 {
		fail := s.fails[0]
		s.fails = s.fails[1:]
		s.mu.Unlock()
		answerError(w, fail)
		return
	}
	s.n++
	prefix := map[string]string{"sms": "SM", "voice": "CA"}[kind]
	req.SID = fmt.Sprintf("%s%032x", prefix, s.n)
	s.got = append(s.got, req)
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"sid": req.SID, "status": "queued", "to": req.To})
}

// missingField is Twilio's answer to a request that lacks what its kind
// needs; zero if nothing is missing.
func missingField(r TwilioRequest) twilioError {
	bad := func(code int, msg string) twilioError {
		return twilioError{Code: code, Message: msg, Status: http.StatusBadRequest}
	}
	switch {
	case r.To == "":
		return bad(21604, "A 'To' phone number is required.")
	case r.Kind == "sms" && r.Body == "":
		return bad(21602, "Message body is required.")
	case r.Kind == "sms" && r.From == "" && r.MessagingServiceSID == "":
		return bad(21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.")
	case r.Kind == "voice" && r.From == "":
		return bad(21213, "No 'From' number is specified.")
	case r.Kind == "voice" && r.Twiml == "":
		return bad(21205, "Url or Twiml parameter is required.")
	}
	return twilioError{}
}

func answerError(w http.ResponseWriter, e twilioError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}

// waitFor polls list until it holds n items or timeout passes, woken by
// more after each new one.
func waitFor[T any](list func() []T, more <-chan struct{}, n int, timeout time.Duration) ([]T, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if got := list(); len(got) >= n {
			return got, true
		}
		select {
		case <-more:
		case <-deadline.C:
			got := list()
			return got, len(got) >= n
		}
	}
}
