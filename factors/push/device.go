package push

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"radiusmfa/factors/push/webpush"
	"radiusmfa/store"
)

// Kind is the enrollment kind of an approver device.
const Kind = "push"

// DefaultName labels a device paired without a name.
const DefaultName = "approver app"

// Limits on what a browser may register.
const (
	MaxNameLen     = 128  // bytes of a device name
	MaxEndpointLen = 2048 // bytes of a push endpoint URL
)

// spkiLen is the length of the DER SubjectPublicKeyInfo of a P-256 key with
// an uncompressed point, as both WebCrypto exportKey("spki") and
// x509.MarshalPKIXPublicKey write it.
const spkiLen = 91

// Channel is how pushes reach a device and how it answers them.
type Channel string

const (
	// ChannelWebPush is the approver app: pushes go over Web Push to its
	// subscription, and it signs each answer with its key.
	ChannelWebPush Channel = "webpush"
	// ChannelNtfy is the ntfy app subscribed to a secret topic: pushes are
	// published to the site's ntfy server, and answered through one-time
	// signed links (see LinkKey).
	ChannelNtfy Channel = "ntfy"
)

// Device is one paired approver: the approver app (ChannelWebPush), or
// the ntfy app on a topic of its own (ChannelNtfy).
type Device struct {
	// Channel is ChannelWebPush or ChannelNtfy; "" is taken as
	// ChannelWebPush, as every device was before ntfy.
	Channel Channel

	PublicKey    *ecdsa.PublicKey // Web Push: P-256; verifies the app's answers
	Subscription Subscription     // Web Push: where pushes are delivered

	// Topic is the ntfy topic the app subscribes to: TopicPrefix and
	// TopicBits random bits, so that it cannot be guessed.
	Topic string
	// Site is the origin of the enrollment site the device was paired on
	// ("https://host[:port]"): where its approval links point.
	Site string

	Name string // as the user named it at pairing
}

// channel returns d's channel, "" read as ChannelWebPush.
func (d Device) channel() Channel {
	if d.Channel == "" {
		return ChannelWebPush
	}
	return d.Channel
}

// An ntfy topic is TopicPrefix and the base32 (lower case, unpadded) of
// TopicBits random bits: anyone who knows it reads the requests, so it is
// a secret as long as a key.
const (
	TopicPrefix     = "rmfa-"
	TopicBits       = 160
	DefaultNtfyName = "ntfy app"
)

var (
	topicEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	topicRe       = regexp.MustCompile(`^` + TopicPrefix + `[a-z2-7]{32}$`)
)

func validateTopic(topic string) error {
	if !topicRe.MatchString(topic) {
		return fmt.Errorf("push: ntfy topic is not %s and %d random bits in base32", TopicPrefix, TopicBits)
	}
	return nil
}

// validateSite accepts an https origin and nothing more: no path, query,
// fragment or credentials, as the pairing page writes it.
func validateSite(site string) error {
	u, err := url.Parse(site)
	if err != nil || len(site) > 255 || strings.IndexFunc(site, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 ||
		u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Hostname() == "" || u.Path != "" || u.RawPath != "" ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.String() != site {
		return errors.New("push: site is not an https origin (https://host[:port])")
	}
	return nil
}

// Subscription is a Web Push subscription (RFC 8030, keys per RFC 8291) as
// the browser's PushSubscription.toJSON() gives it.
type Subscription struct {
	Endpoint string // https URL of the push service
	P256dh   string // the browser's P-256 ECDH key, uncompressed, base64url unpadded
	Auth     string // 16-byte authentication secret, base64url unpadded
}

// rawURL decodes the unpadded base64url that browsers produce and refuses
// anything else, trailing bits included.
var rawURL = base64.RawURLEncoding.Strict()

// Validate reports whether s is a subscription the server may push to: an
// https endpoint (http only for a loopback host, for tests), a P-256 point
// and a 16-byte auth secret, both base64url without padding.
func (s Subscription) Validate() error {
	if err := validateEndpoint(s.Endpoint); err != nil {
		return err
	}
	p, err := rawURL.DecodeString(s.P256dh)
	if err != nil {
		return fmt.Errorf("push: subscription p256dh: %w", err)
	}
	if _, err := ecdh.P256().NewPublicKey(p); err != nil {
		return fmt.Errorf("push: subscription p256dh is not a P-256 point: %w", err)
	}
	a, err := rawURL.DecodeString(s.Auth)
	if err != nil {
		return fmt.Errorf("push: subscription auth: %w", err)
	}
	if len(a) != 16 {
		return fmt.Errorf("push: subscription auth of %d bytes (want 16)", len(a))
	}
	return nil
}

func validateEndpoint(ep string) error {
	if ep == "" {
		return errors.New("push: subscription has no endpoint")
	}
	if len(ep) > MaxEndpointLen {
		return fmt.Errorf("push: endpoint longer than %d bytes", MaxEndpointLen)
	}
	if strings.IndexFunc(ep, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		return errors.New("push: endpoint holds spaces, controls or non-ASCII")
	}
	u, err := url.Parse(ep)
	if err != nil {
		return fmt.Errorf("push: endpoint: %w", err)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Fragment != "" {
		return errors.New("push: endpoint is not a plain absolute URL")
	}
	// An address a push service cannot have is refused at pairing; the
	// sender checks every resolved address again when it connects.
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && !a.IsLoopback() && !webpush.PublicAddress(a) {
		return fmt.Errorf("push: endpoint address %s is not public", a)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("push: endpoint scheme %q (want https)", u.Scheme)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseSubscription reads the JSON of PushSubscription.toJSON() as the
// browser posts it at pairing ({"endpoint", "expirationTime", "keys":
// {"p256dh", "auth"}}) and validates it. Fields a browser may add later are
// ignored; nothing of them is kept.
func ParseSubscription(b []byte) (Subscription, error) {
	var in struct {
		Endpoint string `json:"endpoint"`
		Keys     struct {
			P256dh string `json:"p256dh"`
			Auth   string `json:"auth"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return Subscription{}, fmt.Errorf("push: subscription: %w", err)
	}
	s := Subscription{Endpoint: in.Endpoint, P256dh: in.Keys.P256dh, Auth: in.Keys.Auth}
	if err := s.Validate(); err != nil {
		return Subscription{}, err
	}
	return s, nil
}

// ParsePublicKey reads the app's public key as WebCrypto exports it
// (exportKey("spki")), in standard base64 (padded, as btoa writes it) or
// unpadded base64url. Only a P-256 key in the usual 91-byte encoding is
// accepted.
func ParsePublicKey(spkiBase64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.Strict().DecodeString(spkiBase64)
	if err != nil {
		der, err = rawURL.DecodeString(spkiBase64)
	}
	if err != nil {
		return nil, errors.New("push: public key is not base64")
	}
	return parseSPKI(der)
}

// parseSPKI accepts only the canonical encoding of a P-256 key, so a record
// re-encodes to the same bytes it was read from.
func parseSPKI(der []byte) (*ecdsa.PublicKey, error) {
	if len(der) != spkiLen {
		return nil, fmt.Errorf("push: public key of %d bytes (want a %d-byte P-256 SPKI)", len(der), spkiLen)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("push: public key: %w", err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("push: public key is not ECDSA P-256")
	}
	if again, err := x509.MarshalPKIXPublicKey(pub); err != nil || !bytes.Equal(again, der) {
		return nil, errors.New("push: public key is not canonically encoded")
	}
	return pub, nil
}

// marshalKey returns the SPKI of a P-256 key, refusing any other.
func marshalKey(pub *ecdsa.PublicKey) ([]byte, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return nil, errors.New("push: public key is not ECDSA P-256")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("push: public key: %w", err)
	}
	return der, nil
}

func validateName(name string) error {
	if len(name) > MaxNameLen {
		return fmt.Errorf("push: device name longer than %d bytes", MaxNameLen)
	}
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return errors.New("push: device name is not printable UTF-8")
	}
	return nil
}

// NewEnrollment makes the enrollment of a newly paired approver app of user.
// The caller stores it; the store seals its Secret at rest.
func NewEnrollment(user, name string, pub *ecdsa.PublicKey, sub Subscription, now time.Time) (store.Enrollment, error) {
	return newEnrollment(rand.Reader, user, name, pub, sub, now)
}

func newEnrollment(r io.Reader, user, name string, pub *ecdsa.PublicKey, sub Subscription, now time.Time) (store.Enrollment, error) {
	return enroll(r, user, Device{Channel: ChannelWebPush, PublicKey: pub, Subscription: sub, Name: name}, now)
}

// NewNtfyEnrollment makes the enrollment of an ntfy approver of user, with
// a new random topic, whose links point at site (the origin of the page
// the user paired on). It returns the device too, for its topic.
func NewNtfyEnrollment(user, name, site string, now time.Time) (store.Enrollment, Device, error) {
	return newNtfyEnrollment(rand.Reader, user, name, site, now)
}

func newNtfyEnrollment(r io.Reader, user, name, site string, now time.Time) (store.Enrollment, Device, error) {
	raw := make([]byte, TopicBits/8)
	if _, err := io.ReadFull(r, raw); err != nil {
		return store.Enrollment{}, Device{}, fmt.Errorf("push: random topic: %w", err)
	}
	d := Device{Channel: ChannelNtfy, Topic: TopicPrefix + topicEncoding.EncodeToString(raw), Site: site, Name: name}
	e, err := enroll(r, user, d, now)
	if err != nil {
		return store.Enrollment{}, Device{}, err
	}
	d, err = DecodeSecret(e.Secret)
	return e, d, err
}

func enroll(r io.Reader, user string, d Device, now time.Time) (store.Enrollment, error) {
	if user == "" {
		return store.Enrollment{}, errors.New("push: enrollment without a user")
	}
	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" {
		d.Name = DefaultName
		if d.channel() == ChannelNtfy {
			d.Name = DefaultNtfyName
		}
	}
	name := d.Name
	secret, err := EncodeSecret(d)
	if err != nil {
		return store.Enrollment{}, err
	}
	var idb [8]byte
	if _, err := io.ReadFull(r, idb[:]); err != nil {
		return store.Enrollment{}, fmt.Errorf("push: random id: %w", err)
	}
	return store.Enrollment{
		ID: hex.EncodeToString(idb[:]), User: user, Kind: Kind, Label: name,
		Secret: secret, CreatedAt: now.UTC(),
	}, nil
}

// DeviceOf returns the device an enrollment of kind "push" describes.
func DeviceOf(e store.Enrollment) (Device, error) {
	if e.Kind != Kind {
		return Device{}, fmt.Errorf("push: enrollment of kind %q", e.Kind)
	}
	return DecodeSecret(e.Secret)
}
