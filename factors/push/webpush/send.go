package webpush

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	lib "github.com/SherClockHolmes/webpush-go"
)

// Defaults of Options.
const (
	DefaultTTL     = 60 * time.Second
	DefaultUrgency = "high"
	// DefaultTimeout bounds one send when Options.HTTPClient is nil.
	DefaultTimeout = 30 * time.Second
)

// MaxPayload is the largest payload Send accepts, in bytes. RFC 8030 push
// services must take 4096 bytes of encrypted body; the margin covers the
// aes128gcm header, tag and padding delimiter, and a push that asks for an
// approval has no business being larger.
const MaxPayload = 3 << 10

var (
	// ErrGone is returned (wrapped in a *StatusError) when the push service
	// answers 404 or 410: the subscription expired or was withdrawn, and
	// the caller should disable the device rather than retry.
	ErrGone = errors.New("webpush: subscription expired or unsubscribed")
	// ErrPayloadTooLarge is returned for a payload over MaxPayload, before
	// any request, and (wrapped in a *StatusError) for a 413 answer.
	ErrPayloadTooLarge = errors.New("webpush: payload too large")
	// ErrInsecureEndpoint is returned for an endpoint that is not https
	// (http is allowed only with Options.AllowHTTP to a loopback address).
	ErrInsecureEndpoint = errors.New("webpush: push endpoint is not https")
	// ErrInvalidSubscription is returned for an endpoint or keys that
	// cannot be used.
	ErrInvalidSubscription = errors.New("webpush: invalid subscription")
)

// StatusError is a push service's answer other than 201 or 202.
type StatusError struct {
	StatusCode int
	// RetryAfter is the service's Retry-After given in seconds (as on 429
	// and 503); 0 when absent or given as a date.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}

// Unwrap lets callers test the answers that call for an action with
// errors.Is: ErrGone (disable the device) and ErrPayloadTooLarge.
func (e *StatusError) Unwrap() error {
	switch e.StatusCode {
	case http.StatusNotFound, http.StatusGone:
		return ErrGone
	case http.StatusRequestEntityTooLarge:
		return ErrPayloadTooLarge
	}
	return nil
}

// Subscription is a browser's PushSubscription: the endpoint URL and its
// keys, base64url as PushSubscription.toJSON gives them.
type Subscription struct {
	Endpoint string
	P256dh   string // the user agent's P-256 public key, uncompressed point
	Auth     string // the 16-byte authentication secret
}

// Options tune a Sender. The zero value is ready for production.
type Options struct {
	// HTTPClient sends the requests; nil: a client with DefaultTimeout
	// that connects only to public addresses (loopback ones too with
	// AllowHTTP), directly, never through a proxy from the environment.
	// Redirects are never followed, whatever the client says: a push
	// service does not redirect, and following one could lead off https.
	HTTPClient *http.Client
	// TTL is how long the push service keeps an undelivered message
	// (whole seconds, rounded up); 0: DefaultTTL.
	TTL time.Duration
	// Urgency is "very-low", "low", "normal" or "high" (RFC 8030 §5.3);
	// "": DefaultUrgency.
	Urgency string
	// AllowHTTP permits http endpoints on a loopback address, for tests
	// with a local push service. https is always required elsewhere.
	AllowHTTP bool
}

// Sender sends encrypted pushes signed with the server's VAPID key. It is
// safe for concurrent use.
type Sender struct {
	client     *http.Client
	publicKey  string // VAPID, base64url
	privateKey string // VAPID scalar, base64url, as webpush-go takes it
	subscriber string
	ttl        int // seconds
	urgency    lib.Urgency
	allowHTTP  bool
	err        error // a misconfiguration every Send reports
}

// NewSender returns a Sender signing with v. A misconfiguration (keys not
// loaded, a bad subject, urgency or TTL) is returned by every Send, so it
// surfaces on the first push rather than as a silent fallback.
func NewSender(v *VAPID, o Options) *Sender {
	c := o.HTTPClient
	if c == nil {
		c = guardedClient(o.AllowHTTP)
	}
	s := &Sender{client: noRedirects(c), allowHTTP: o.AllowHTTP,
		urgency: lib.Urgency(o.Urgency), ttl: int((o.TTL + time.Second - 1) / time.Second)}
	if o.Urgency == "" {
		s.urgency = DefaultUrgency
	}
	if o.TTL == 0 {
		s.ttl = int(DefaultTTL / time.Second)
	}
	switch {
	case v == nil || v.private == nil:
		s.err = errors.New("webpush: VAPID keys not loaded (use LoadOrCreateVAPID)")
	case o.TTL < 0:
		s.err = fmt.Errorf("webpush: negative TTL %s", o.TTL)
	case !validUrgency(s.urgency):
		s.err = fmt.Errorf("webpush: urgency %q is not very-low, low, normal or high", o.Urgency)
	default:
		s.err = checkSubject(v.Subject)
	}
	if s.err != nil {
		return s
	}
	scalar, err := v.private.Bytes()
	if err != nil {
		s.err = fmt.Errorf("webpush: VAPID private key: %w", err)
		return s
	}
	defer clear(scalar)
	s.publicKey = v.Public
	s.privateKey = base64.RawURLEncoding.EncodeToString(scalar)
	s.subscriber = libSubscriber(v.Subject)
	return s
}

func validUrgency(u lib.Urgency) bool {
	switch u {
	case lib.UrgencyVeryLow, lib.UrgencyLow, lib.UrgencyNormal, lib.UrgencyHigh:
		return true
	}
	return false
}

// noRedirects returns a copy of c (or a default client) that returns a
// redirect as the answer instead of following it.
func noRedirects(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

// Send encrypts payload to sub and posts it to sub's push service. nil means
// the service accepted the message (201 or 202), not that the phone got it.
// A 404 or 410 answer is ErrGone; every other answer is a *StatusError.
func (s *Sender) Send(ctx context.Context, sub Subscription, payload []byte) error {
	if s.err != nil {
		return s.err
	}
	if len(payload) > MaxPayload {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrPayloadTooLarge, len(payload), MaxPayload)
	}
	endpoint, err := checkEndpoint(sub.Endpoint, s.allowHTTP)
	if err != nil {
		return err
	}
	keys, err := checkKeys(sub)
	if err != nil {
		return err
	}
	// webpush-go appends its padding to the message's backing array: give
	// it a copy, so a payload sliced from a larger buffer is not written past.
	msg := bytes.Clone(payload)
	defer clear(msg)
	resp, err := lib.SendNotificationWithContext(ctx, msg,
		&lib.Subscription{Endpoint: sub.Endpoint, Keys: keys},
		&lib.Options{
			HTTPClient:      s.client,
			Subscriber:      s.subscriber,
			TTL:             s.ttl,
			Urgency:         s.urgency,
			VAPIDPublicKey:  s.publicKey,
			VAPIDPrivateKey: s.privateKey,
		})
	if err != nil {
		return fmt.Errorf("webpush: send to %s: %w", endpoint.Host, withoutURL(err))
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused; the body is not read
	// further, nor reported.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusAccepted:
		return nil
	}
	return fmt.Errorf("webpush: push service %s: %w", endpoint.Host, &StatusError{
		StatusCode: resp.StatusCode,
		RetryAfter: retryAfter(resp.Header.Get("Retry-After")),
	})
}

// checkEndpoint parses the endpoint and enforces https (or http to a
// loopback address when allowed). Its errors do not repeat the URL.
func checkEndpoint(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("%w: endpoint is not an absolute URL without credentials", ErrInvalidSubscription)
	}
	switch {
	case u.Scheme == "https":
		return u, nil
	case u.Scheme == "http" && allowHTTP && isLoopback(u.Hostname()):
		return u, nil
	}
	return nil, fmt.Errorf("%w: %s://%s", ErrInsecureEndpoint, u.Scheme, u.Host)
}

// isLoopback reports a literal loopback address. Names, even "localhost",
// are refused: what they resolve to is not ours to check here.
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkKeys validates the subscription's keys and returns them in the form
// webpush-go decodes: a P-256 point and a 16-byte secret (RFC 8291 §3).
func checkKeys(sub Subscription) (lib.Keys, error) {
	p256dh, err := decodeKey(sub.P256dh)
	if err == nil {
		_, err = ecdh.P256().NewPublicKey(p256dh)
	}
	if err != nil {
		return lib.Keys{}, fmt.Errorf("%w: p256dh is not a base64url P-256 public key", ErrInvalidSubscription)
	}
	auth, err := decodeKey(sub.Auth)
	if err != nil || len(auth) != 16 {
		return lib.Keys{}, fmt.Errorf("%w: auth is not a base64url 16-byte secret", ErrInvalidSubscription)
	}
	return lib.Keys{
		P256dh: base64.RawURLEncoding.EncodeToString(p256dh),
		Auth:   base64.RawURLEncoding.EncodeToString(auth),
	}, nil
}

// decodeKey decodes base64url, padded or not, which browsers give; standard
// base64 is accepted too, as some client libraries send it.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// withoutURL drops the request URL from a client error: the endpoint's path
// identifies the device, and errors end up in logs.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// retryAfter reads a Retry-After given in seconds.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(min(n, 24*3600)) * time.Second
}
