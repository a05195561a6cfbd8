package webpush

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testVAPID is a key pair made by LoadOrCreateVAPID on a fresh bolt store.
func testVAPID(t *testing.T) *VAPID {
	t.Helper()
	return loadVAPID(t, openStore(t, filepath.Join(t.TempDir(), "radiusmfa.db")))
}

// tlsSetup runs a TLS push service for a new device and returns a Sender
// (options o, with a client trusting the service's certificate) and the
// device's subscription.
func tlsSetup(t *testing.T, o Options) (*pushService, *Sender, Subscription) {
	t.Helper()
	v, dev := testVAPID(t), newDevice(t)
	ps, srv, endpoint := startPushService(t, v, dev, false)
	o.HTTPClient = srv.Client()
	return ps, NewSender(v, o), dev.subscription(endpoint)
}

// only returns the single message the service got.
func only(t *testing.T, ps *pushService) delivered {
	t.Helper()
	n, got := ps.counts()
	if n != 1 || len(got) != 1 {
		t.Fatalf("%d requests, %d messages delivered; want 1", n, len(got))
	}
	return got[0]
}

// The whole path: the payload crosses the wire encrypted to the device and
// comes out intact on its side, signed with a VAPID JWT the service accepts
// (checked in pushService.check).
func TestSendRoundTrip(t *testing.T) {
	ps, s, sub := tlsSetup(t, Options{})
	payload := []byte(`{"push":"p-123","user":"alice","nas":"vpn-gw1","from":"203.0.113.7"}`)
	if err := s.Send(t.Context(), sub, payload); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := only(t, ps)
	if !bytes.Equal(m.plaintext, payload) {
		t.Errorf("device decrypted %q, want %q", m.plaintext, payload)
	}
	if ttl, urg := m.header.Get("TTL"), m.header.Get("Urgency"); ttl != "60" || urg != "high" {
		t.Errorf("TTL %q, Urgency %q, want the defaults 60 and high", ttl, urg)
	}
}

func TestSendOptionsReachTheWire(t *testing.T) {
	ps, s, sub := tlsSetup(t, Options{TTL: 89500 * time.Millisecond, Urgency: "normal"})
	if err := s.Send(t.Context(), sub, []byte("x")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := only(t, ps)
	if ttl, urg := m.header.Get("TTL"), m.header.Get("Urgency"); ttl != "90" || urg != "normal" {
		t.Errorf("TTL %q, Urgency %q, want 90 (rounded up) and normal", ttl, urg)
	}
}

// Payload sizes: empty and exactly MaxPayload go through; one byte more is
// refused before any request. The padding hides the size on the wire.
func TestSendPayloadSize(t *testing.T) {
	ps, s, sub := tlsSetup(t, Options{})
	var lens []int
	for _, n := range []int{0, 1, MaxPayload} {
		payload := bytes.Repeat([]byte{'a'}, n)
		if err := s.Send(t.Context(), sub, payload); err != nil {
			t.Fatalf("Send of %d bytes: %v", n, err)
		}
		_, got := ps.counts()
		last := got[len(got)-1]
		if !bytes.Equal(last.plaintext, payload) {
			t.Errorf("%d bytes sent, %d decrypted", n, len(last.plaintext))
		}
		lens = append(lens, last.bodyLen)
	}
	if lens[0] != lens[1] || lens[1] != lens[2] {
		t.Errorf("encrypted bodies of %v bytes: the size of the payload shows", lens)
	}

	err := s.Send(t.Context(), sub, make([]byte, MaxPayload+1))
	if !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("Send of MaxPayload+1 bytes: %v, want ErrPayloadTooLarge", err)
	}
	if n, _ := ps.counts(); n != 3 {
		t.Errorf("the oversized payload made a request (%d in all, want 3)", n)
	}
}

// webpush-go pads in place; the caller's buffer beyond the payload must be
// left alone.
func TestSendLeavesCallerBufferAlone(t *testing.T) {
	ps, s, sub := tlsSetup(t, Options{})
	buf := []byte("payload|TAIL THE CALLER STILL NEEDS")
	want := bytes.Clone(buf)
	if err := s.Send(t.Context(), sub, buf[:7]); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !bytes.Equal(buf, want) {
		t.Errorf("caller's buffer became %q", buf)
	}
	if m := only(t, ps); string(m.plaintext) != "payload" {
		t.Errorf("decrypted %q", m.plaintext)
	}
}

// Plain http is for a local push service only, and only when allowed.
func TestSendPlainHTTPLoopback(t *testing.T) {
	v, dev := testVAPID(t), newDevice(t)
	ps, _, endpoint := startPushService(t, v, dev, true)
	sub := dev.subscription(endpoint)

	err := NewSender(v, Options{}).Send(t.Context(), sub, []byte("hi"))
	if !errors.Is(err, ErrInsecureEndpoint) {
		t.Fatalf("http endpoint without AllowHTTP: %v, want ErrInsecureEndpoint", err)
	}
	if n, _ := ps.counts(); n != 0 {
		t.Fatalf("refused send made %d requests", n)
	}

	if err := NewSender(v, Options{AllowHTTP: true}).Send(t.Context(), sub, []byte("hi")); err != nil {
		t.Fatalf("http loopback endpoint with AllowHTTP: %v", err)
	}
	if m := only(t, ps); string(m.plaintext) != "hi" {
		t.Errorf("decrypted %q", m.plaintext)
	}
}

// Endpoints refused before any connection is tried (none of these hosts
// is ever contacted).
func TestSendRefusedEndpoints(t *testing.T) {
	v, dev := testVAPID(t), newDevice(t)
	s := NewSender(v, Options{AllowHTTP: true})
	for endpoint, want := range map[string]error{
		"http://192.0.2.1/push/x":              ErrInsecureEndpoint, // not loopback
		"http://localhost/push/x":              ErrInsecureEndpoint, // a name, not an address
		"ftp://127.0.0.1/push/x":               ErrInsecureEndpoint,
		"https://user:pw@push.example.test/x":  ErrInvalidSubscription,
		"/push/x":                              ErrInvalidSubscription,
		"https://push.example.test/x#fragment": ErrInvalidSubscription,
		"https://[::1":                         ErrInvalidSubscription,
	} {
		err := s.Send(t.Context(), dev.subscription(endpoint), []byte("hi"))
		if !errors.Is(err, want) {
			t.Errorf("endpoint %q: %v, want %v", endpoint, err, want)
		}
	}
}

func TestSendInvalidKeys(t *testing.T) {
	ps, s, sub := tlsSetup(t, Options{})
	point := sub.P256dh
	for name, mutate := range map[string]func(*Subscription){
		"p256dh not base64": func(s *Subscription) { s.P256dh = "not base64!" },
		"p256dh 33 bytes":   func(s *Subscription) { s.P256dh = point[:44] },
		"p256dh off curve":  func(s *Subscription) { s.P256dh = point[:40] + strings.Repeat("A", len(point)-40) },
		"auth empty":        func(s *Subscription) { s.Auth = "" },
		"auth 15 bytes":     func(s *Subscription) { s.Auth = "AAAAAAAAAAAAAAAAAAAA" },
	} {
		bad := sub
		mutate(&bad)
		if err := s.Send(t.Context(), bad, []byte("hi")); !errors.Is(err, ErrInvalidSubscription) {
			t.Errorf("%s: %v, want ErrInvalidSubscription", name, err)
		}
	}
	if n, _ := ps.counts(); n != 0 {
		t.Errorf("invalid subscriptions made %d requests", n)
	}
	// Padded base64url, as some clients send, is fine.
	sub.Auth += "=="
	if err := s.Send(t.Context(), sub, []byte("hi")); err != nil {
		t.Errorf("padded auth: %v", err)
	}
}

// The push service's answers map to what the caller must do.
func TestSendStatuses(t *testing.T) {
	ps, s, sub := tlsSetup(t, Options{})
	for _, tc := range []struct {
		status     int
		retryAfter string
		gone       bool
		tooLarge   bool
		wait       time.Duration
	}{
		{status: http.StatusAccepted},
		{status: http.StatusGone, gone: true},
		{status: http.StatusNotFound, gone: true},
		{status: http.StatusRequestEntityTooLarge, tooLarge: true},
		{status: http.StatusTooManyRequests, retryAfter: "7", wait: 7 * time.Second},
		{status: http.StatusInternalServerError},
		{status: http.StatusServiceUnavailable, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT"},
		{status: http.StatusOK}, // not what RFC 8030 answers
		{status: http.StatusBadRequest},
	} {
		h := http.Header{}
		if tc.retryAfter != "" {
			h.Set("Retry-After", tc.retryAfter)
		}
		ps.answer(tc.status, h)
		err := s.Send(t.Context(), sub, []byte("hi"))
		if tc.status == http.StatusAccepted {
			if err != nil {
				t.Errorf("202: %v, want nil", err)
			}
			continue
		}
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != tc.status || se.RetryAfter != tc.wait {
			t.Errorf("%d: %v (%+v), want a StatusError with that status and retry after %s", tc.status, err, se, tc.wait)
			continue
		}
		if errors.Is(err, ErrGone) != tc.gone || errors.Is(err, ErrPayloadTooLarge) != tc.tooLarge {
			t.Errorf("%d: %v: ErrGone %v, ErrPayloadTooLarge %v", tc.status, err,
				errors.Is(err, ErrGone), errors.Is(err, ErrPayloadTooLarge))
		}
		if !strings.Contains(err.Error(), "127.0.0.1") || strings.Contains(err.Error(), "dev-1_token") {
			t.Errorf("%d: error %q should name the service's host and not the endpoint", tc.status, err)
		}
	}
}

// A redirect is an answer, not an instruction: following one could take
// the payload off https or to another host.
func TestSendDoesNotFollowRedirects(t *testing.T) {
	ps, s, sub := tlsSetup(t, Options{})
	ps.answer(http.StatusTemporaryRedirect, http.Header{"Location": {"http://127.0.0.1:1/elsewhere"}})
	var se *StatusError
	if err := s.Send(t.Context(), sub, []byte("hi")); !errors.As(err, &se) || se.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("redirect: %v, want a StatusError 307", err)
	}
	if n, _ := ps.counts(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// A connection error names the host, not the endpoint URL.
func TestSendConnectionErrorHidesEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	v, dev := testVAPID(t), newDevice(t)
	err = NewSender(v, Options{}).Send(t.Context(), dev.subscription("https://"+addr+"/push/secret-device-token"), []byte("hi"))
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "secret-device-token") || !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q should name %s and not the endpoint path", err, addr)
	}
}

func TestSendHonoursContext(t *testing.T) {
	_, s, sub := tlsSetup(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Send(ctx, sub, []byte("hi")); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestSenderMisconfigured(t *testing.T) {
	v, dev := testVAPID(t), newDevice(t)
	sub := dev.subscription("https://127.0.0.1:1/push/x") // never reached
	badSubject := *v
	badSubject.Subject = "helpdesk"
	for name, s := range map[string]*Sender{
		"nil VAPID":           NewSender(nil, Options{}),
		"VAPID not loaded":    NewSender(&VAPID{Public: v.Public, Subject: testSubject}, Options{}),
		"bad subject":         NewSender(&badSubject, Options{}),
		"bad urgency":         NewSender(v, Options{Urgency: "urgent"}),
		"negative TTL":        NewSender(v, Options{TTL: -time.Second}),
		"urgency wrong cases": NewSender(v, Options{Urgency: "HIGH"}),
	} {
		if err := s.Send(t.Context(), sub, []byte("hi")); err == nil {
			t.Errorf("%s: Send succeeded", name)
		}
	}
}

// The caller's client keeps its transport and timeout but never follows
// redirects; the caller's value is not changed.
func TestNoRedirectsCopiesClient(t *testing.T) {
	c := &http.Client{Timeout: time.Second}
	got := noRedirects(c)
	if got == c || c.CheckRedirect != nil || got.Timeout != time.Second || got.CheckRedirect == nil {
		t.Errorf("noRedirects(c) = %+v; c now %+v", got, c)
	}
	if d := NewSender(testVAPID(t), Options{}).client; d.Timeout != DefaultTimeout || d.CheckRedirect == nil {
		t.Errorf("default client timeout %s (want %s), redirects followed: %t", d.Timeout, DefaultTimeout, d.CheckRedirect == nil)
	}
}
