package webpush

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"radiusmfa/factors/push/webpush/webpushtest"
)

// This file is the other side of the wire: a push service in miniature
// that verifies and decrypts each message with webpushtest, written from
// RFC 8030, 8291 and 8292 with the standard library alone, so the tests
// check what webpush-go puts on the wire rather than trusting it.

// device is a browser's push subscription: the user agent's key pair and
// auth secret, as pushManager.subscribe makes them.
type device struct{ webpushtest.Keys }

func newDevice(t *testing.T) device {
	t.Helper()
	keys, err := webpushtest.NewSubscriptionKeys()
	if err != nil {
		t.Fatal(err)
	}
	return device{keys}
}

// subscription is what the browser would hand the server for endpoint.
func (d device) subscription(endpoint string) Subscription {
	s := d.Subscription(endpoint)
	return Subscription{Endpoint: s.Endpoint, P256dh: s.Keys.P256dh, Auth: s.Keys.Auth}
}

// delivered is one message the push service accepted.
type delivered struct {
	header    http.Header
	plaintext []byte
	bodyLen   int
}

// pushService checks each POST to /push/<id> (VAPID, headers, encryption),
// decrypts it for the device and answers status.
type pushService struct {
	t       *testing.T
	origin  string // the aud the VAPID JWT must name
	vapidK  string // the k= it must carry
	subject string // the sub it must carry
	device  device

	mu       sync.Mutex
	status   int // the answer; 0: 201
	header   http.Header
	requests int
	received []delivered
}

// startPushService runs a push service on 127.0.0.1, over TLS unless plain.
// It returns the service and the endpoint of the device's subscription.
func startPushService(t *testing.T, v *VAPID, dev device, plain bool) (*pushService, *httptest.Server, string) {
	t.Helper()
	ps := &pushService{t: t, vapidK: v.Public, subject: v.Subject, device: dev}
	srv := httptest.NewUnstartedServer(ps)
	scheme := "https"
	if plain {
		scheme = "http"
	}
	// The listener is bound already: the origin is known before any request.
	ps.origin = scheme + "://" + srv.Listener.Addr().String()
	if plain {
		srv.Start()
	} else {
		srv.StartTLS()
	}
	t.Cleanup(srv.Close)
	if srv.URL != ps.origin {
		t.Fatalf("server URL %s, expected origin %s", srv.URL, ps.origin)
	}
	return ps, srv, srv.URL + "/push/dev-1_token"
}

// answer sets the status (and headers) the service replies with.
func (ps *pushService) answer(status int, header http.Header) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.status, ps.header = status, header
}

func (ps *pushService) counts() (requests int, received []delivered) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.requests, append([]delivered(nil), ps.received...)
}

func (ps *pushService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ps.mu.Lock()
	ps.requests++
	status, header := ps.status, ps.header
	ps.mu.Unlock()

	plain, n, err := ps.check(r)
	if err != nil {
		ps.t.Errorf("push service: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ps.mu.Lock()
	ps.received = append(ps.received, delivered{header: r.Header.Clone(), plaintext: plain, bodyLen: n})
	ps.mu.Unlock()
	for k, vs := range header {
		w.Header()[k] = vs
	}
	if status == 0 {
		status = http.StatusCreated
	}
	w.WriteHeader(status)
}

// check validates one push request and returns the decrypted payload and
// the encrypted body's length.
func (ps *pushService) check(r *http.Request) ([]byte, int, error) {
	if r.Method != http.MethodPost || r.URL.Path != "/push/dev-1_token" {
		return nil, 0, fmt.Errorf("%s %s, want POST /push/dev-1_token", r.Method, r.URL.Path)
	}
	if err := checkVAPID(r.Header.Get("Authorization"), ps.origin, ps.vapidK, ps.subject); err != nil {
		return nil, 0, fmt.Errorf("authorization: %w", err)
	}
	if r.Header.Get("Urgency") == "" {
		return nil, 0, errors.New("no Urgency header: required here")
	}
	return webpushtest.ReadMessage(r, ps.device.Keys)
}

// checkVAPID verifies an RFC 8292 Authorization header for aud (see
// webpushtest.VerifyVAPID) signed by the key k=, which must be wantK, and
// naming the contact wantSub.
func checkVAPID(header, aud, wantK, wantSub string) error {
	v, err := webpushtest.VerifyVAPID(header, aud)
	switch {
	case err != nil:
		return err
	case v.Key != wantK:
		return fmt.Errorf("k=%q, want the server's key %q", v.Key, wantK)
	case v.Subject != wantSub:
		return fmt.Errorf("sub %q, want %q", v.Subject, wantSub)
	}
	return nil
}
