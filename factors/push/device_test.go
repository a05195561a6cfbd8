package push

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fixedDevice is a deterministic device, the base of the refusal cases and
// of the fuzz corpus.
func fixedDevice(t testing.TB) Device {
	t.Helper()
	dh, err := fixedKey(t, 2).PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return Device{
		PublicKey: &fixedKey(t, 1).PublicKey,
		Subscription: Subscription{
			Endpoint: "https://push.example.net/wpush/v2/gAAAAABo",
			P256dh:   base64.RawURLEncoding.EncodeToString(dh),
			Auth:     base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef")),
		},
		Name: "Pixel 7",
	}
}

func sameDevice(a, b Device) bool {
	return a.channel() == b.channel() && (a.PublicKey == b.PublicKey || a.PublicKey.Equal(b.PublicKey)) &&
		a.Subscription == b.Subscription && a.Topic == b.Topic && a.Site == b.Site && a.Name == b.Name
}

func TestSecretRoundTrip(t *testing.T) {
	for _, d := range []Device{fixedDevice(t), {PublicKey: &newKey(t).PublicKey, Subscription: testSubscription(t)}} {
		b, err := EncodeSecret(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeSecret(b)
		if err != nil {
			t.Fatalf("DecodeSecret(%s): %v", b, err)
		}
		if !sameDevice(got, d) {
			t.Errorf("round trip: got %+v, want %+v", got, d)
		}
	}
	b, _ := EncodeSecret(fixedDevice(t))
	if !regexp.MustCompile(`^\{"v":2,"channel":"webpush","public_key":"[A-Za-z0-9+/]+=*","subscription":\{"endpoint":"https://[^"]+","p256dh":"[\w-]+","auth":"[\w-]+"\},"name":"Pixel 7"\}$`).Match(b) {
		t.Errorf("record %s is not in the documented form", b)
	}
}

// TestInvariantDecodeAcceptsOnlyEncodable: what DecodeSecret accepts
// re-encodes to a record that decodes to the same device.
func TestInvariantDecodeAcceptsOnlyEncodable(t *testing.T) {
	b, err := EncodeSecret(fixedDevice(t))
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeSecret(b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := EncodeSecret(d)
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-encoding gave %s, %v; want %s", again, err, b)
	}
}

func TestSecretAllowsLoopbackHTTP(t *testing.T) {
	for _, ep := range []string{"http://127.0.0.1:8080/push/1", "http://localhost/p", "http://[::1]:9/x", "https://push.example.test/p"} {
		d := fixedDevice(t)
		d.Subscription.Endpoint = ep
		b, err := EncodeSecret(d)
		if err != nil {
			t.Errorf("%s: EncodeSecret: %v", ep, err)
			continue
		}
		if _, err := DecodeSecret(b); err != nil {
			t.Errorf("%s: DecodeSecret: %v", ep, err)
		}
	}
}

func TestDecodeSecretRefuses(t *testing.T) {
	valid, err := EncodeSecret(fixedDevice(t))
	if err != nil {
		t.Fatal(err)
	}
	d := fixedDevice(t)
	spki := func(k any) string {
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(der)
	}
	stdKey := spki(d.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	der, _ := base64.StdEncoding.DecodeString(stdKey)
	replace := func(old, new string) []byte {
		if !bytes.Contains(valid, []byte(old)) {
			t.Fatalf("%q not in %s", old, valid)
		}
		return bytes.Replace(valid, []byte(old), []byte(new), 1)
	}
	cases := map[string][]byte{
		"empty":                   nil,
		"not json":                []byte("v=1"),
		"array":                   []byte("[]"),
		"null":                    []byte("null"),
		"unknown field":           replace(`"v":2,`, `"v":2,"admin":true,`),
		"unknown sub field":       replace(`"endpoint"`, `"expirationTime":null,"endpoint"`),
		"field at wrong level":    replace(`"v":2,`, `"v":2,"auth":"x",`),
		"key in other case":       replace(`"public_key"`, `"Public_Key"`),
		"repeated key":            replace(`"v":2,`, `"v":2,"v":2,`),
		"trailing data":           append(bytes.Clone(valid), []byte(`{}`)...),
		"version 0":               replace(`"v":2,`, `"v":0,`),
		"version 3":               replace(`"v":2,`, `"v":3,`),
		"version missing":         replace(`"v":2,`, ``),
		"version as string":       replace(`"v":2,`, `"v":"2",`),
		"version 1 with channel":  replace(`"v":2,`, `"v":1,`),
		"channel missing":         replace(`"channel":"webpush",`, ``),
		"channel unknown":         replace(`"channel":"webpush"`, `"channel":"sms"`),
		"channel in other case":   replace(`"channel":"webpush"`, `"channel":"WebPush"`),
		"channel ntfy with a key": replace(`"channel":"webpush"`, `"channel":"ntfy"`),
		"web push with a topic":   replace(`"name"`, `"topic":"rmfa-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","name"`),
		"web push with a site":    replace(`"name"`, `"site":"https://vpn.example.com","name"`),
		"web push empty topic":    replace(`"name"`, `"topic":"","name"`),
		"key missing":             replace(`"public_key":"`+stdKey+`",`, ``),
		"key not base64":          replace(stdKey, "!!"+stdKey[2:]),
		"key in base64url":        replace(stdKey, base64.RawURLEncoding.EncodeToString(der)),
		"key truncated":           replace(stdKey, base64.StdEncoding.EncodeToString(der[:60])),
		"key with trailing bytes": replace(stdKey, base64.StdEncoding.EncodeToString(append(der, 0))),
		"key P-384":               replace(stdKey, spki(&p384.PublicKey)),
		"key RSA":                 replace(stdKey, spki(&rsaKey.PublicKey)),
		"subscription null":       replace(`"subscription":{`, `"subscription":null,"x":{`),
		"endpoint http":           replace("https://push.example.net", "http://push.example.net"),
		"endpoint ftp":            replace("https://push.example.net", "ftp://push.example.net"),
		"endpoint relative":       replace("https://push.example.net", "/push.example.net"),
		"endpoint userinfo":       replace("https://push.example.net", "https://u:p@push.example.net"),
		"endpoint fragment":       replace("gAAAAABo", "gAAAAABo#f"),
		"endpoint space":          replace("gAAAAABo", "gAAA ABo"),
		"endpoint empty":          replace("https://push.example.net/wpush/v2/gAAAAABo", ""),
		"endpoint too long":       replace("gAAAAABo", strings.Repeat("a", MaxEndpointLen)),
		"p256dh padded":           replace(d.Subscription.P256dh, d.Subscription.P256dh+"="),
		"p256dh std base64":       replace(d.Subscription.P256dh, base64.StdEncoding.EncodeToString([]byte(d.Subscription.P256dh))),
		"p256dh not a point":      replace(d.Subscription.P256dh, "A"+d.Subscription.P256dh[1:]),
		"p256dh off the curve":    replace(d.Subscription.P256dh, offCurve(t, d.Subscription.P256dh)),
		"p256dh short":            replace(d.Subscription.P256dh, d.Subscription.P256dh[:40]),
		"auth 15 bytes":           replace(d.Subscription.Auth, base64.RawURLEncoding.EncodeToString(make([]byte, 15))),
		"auth not base64":         replace(d.Subscription.Auth, "*"+d.Subscription.Auth[1:]),
		"name control":            replace(`"Pixel 7"`, `"Pixel\u00077"`),
		"name too long":           replace(`"Pixel 7"`, `"`+strings.Repeat("x", MaxNameLen+1)+`"`),
		"oversized":               replace(`"Pixel 7"`, `"Pixel 7"`+strings.Repeat(" ", maxSecretLen)),
	}
	for name, b := range cases {
		if _, err := DecodeSecret(b); err == nil {
			t.Errorf("%s: DecodeSecret(%s) accepted", name, b)
		}
	}
}

func TestEncodeSecretRefuses(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	cases := map[string]func(*Device){
		"no key":       func(d *Device) { d.PublicKey = nil },
		"P-384 key":    func(d *Device) { d.PublicKey = &p384.PublicKey },
		"http":         func(d *Device) { d.Subscription.Endpoint = "http://push.example.net/x" },
		"no auth":      func(d *Device) { d.Subscription.Auth = "" },
		"bad name":     func(d *Device) { d.Name = "a\nb" },
		"invalid utf8": func(d *Device) { d.Name = "\xff" },
	}
	for name, change := range cases {
		d := fixedDevice(t)
		change(&d)
		if b, err := EncodeSecret(d); err == nil {
			t.Errorf("%s: EncodeSecret accepted, gave %s", name, b)
		}
	}
}

func TestParsePublicKey(t *testing.T) {
	k := newKey(t)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{base64.StdEncoding.EncodeToString(der), base64.RawURLEncoding.EncodeToString(der)} {
		pub, err := ParsePublicKey(s)
		if err != nil || !pub.Equal(&k.PublicKey) {
			t.Errorf("ParsePublicKey(%s) = %v, %v", s, pub, err)
		}
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	point, _ := k.PublicKey.Bytes() // the raw point, not an SPKI
	for _, s := range []string{"", "not base64!", base64.StdEncoding.EncodeToString(der384),
		base64.StdEncoding.EncodeToString(der[:90]), base64.StdEncoding.EncodeToString(point)} {
		if _, err := ParsePublicKey(s); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", s)
		}
	}
}

func TestParseSubscription(t *testing.T) {
	want := testSubscription(t)
	// As Chrome posts PushSubscription.toJSON().
	js := `{"endpoint":"` + want.Endpoint + `","expirationTime":null,"keys":{"p256dh":"` + want.P256dh + `","auth":"` + want.Auth + `"}}`
	got, err := ParseSubscription([]byte(js))
	if err != nil || got != want {
		t.Fatalf("ParseSubscription = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{``, `{}`, `{"endpoint":"` + want.Endpoint + `"}`,
		strings.Replace(js, "https:", "http:", 1), strings.Replace(js, `"auth":"`, `"auth":"A`, 1),
		// addresses a push service cannot have: the server's own network
		endpointJSON(js, want.Endpoint, "https://10.0.0.7/push"), endpointJSON(js, want.Endpoint, "https://169.254.169.254/latest"),
		endpointJSON(js, want.Endpoint, "https://[fd00::1]/push"), endpointJSON(js, want.Endpoint, "https://[::ffff:192.168.1.1]/push")} {
		if _, err := ParseSubscription([]byte(bad)); err == nil {
			t.Errorf("ParseSubscription(%s) accepted", bad)
		}
	}
}

func endpointJSON(js, from, to string) string { return strings.Replace(js, from, to, 1) }

func TestNewEnrollment(t *testing.T) {
	k := newKey(t)
	sub := testSubscription(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	e, err := NewEnrollment("alice", "  ", &k.PublicKey, sub, at)
	if err != nil {
		t.Fatal(err)
	}
	if e.User != "alice" || e.Kind != Kind || e.Label != DefaultName || !e.CreatedAt.Equal(at) || e.CreatedAt.Location() != time.UTC {
		t.Errorf("unexpected enrollment %+v", e)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(e.ID) {
		t.Errorf("id %q is not 16 hex digits", e.ID)
	}
	d, err := DeviceOf(e)
	if err != nil || !sameDevice(d, Device{PublicKey: &k.PublicKey, Subscription: sub, Name: DefaultName}) {
		t.Errorf("DeviceOf = %+v, %v", d, err)
	}
	e2, err := NewEnrollment("alice", "Pixel 7", &k.PublicKey, sub, at)
	if err != nil || e2.ID == e.ID || e2.Label != "Pixel 7" {
		t.Errorf("second enrollment %+v, %v", e2, err)
	}
	if _, err := NewEnrollment("", "x", &k.PublicKey, sub, at); err == nil {
		t.Error("enrollment without a user accepted")
	}
	if _, err := NewEnrollment("alice", "x", nil, sub, at); err == nil {
		t.Error("enrollment without a key accepted")
	}
	e.Kind = "totp"
	if _, err := DeviceOf(e); err == nil {
		t.Error("DeviceOf accepted a totp enrollment")
	}
	if _, err := newEnrollment(bytes.NewReader(nil), "alice", "x", &k.PublicKey, sub, at); err == nil {
		t.Errorf("broken random source: %v", err)
	}
}

// offCurve returns the base64url point p with its last byte changed, which
// leaves it off the curve.
func offCurve(t *testing.T, p string) string {
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || len(b) != 65 {
		t.Fatalf("p256dh %q", p)
	}
	b[64] ^= 1
	return base64.RawURLEncoding.EncodeToString(b)
}
