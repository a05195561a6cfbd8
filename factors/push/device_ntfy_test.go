package push

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"
)

func fixedNtfyDevice() Device {
	return Device{Channel: ChannelNtfy, Topic: "rmfa-abcdefghijklmnopqrstuvwxyz234567", Site: "https://vpn.example.com", Name: "ntfy on my phone"}
}

// TestDecodeVersion1: records written before ntfy (version 1, no channel)
// still decode, as Web Push devices, and encode again as version 2.
func TestDecodeVersion1(t *testing.T) {
	d := fixedDevice(t)
	der, err := marshalKey(d.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	v1 := `{"v":1,"public_key":"` + base64.StdEncoding.EncodeToString(der) + `","subscription":{"endpoint":"` +
		d.Subscription.Endpoint + `","p256dh":"` + d.Subscription.P256dh + `","auth":"` + d.Subscription.Auth + `"},"name":"Pixel 7"}`
	got, err := DecodeSecret([]byte(v1))
	if err != nil {
		t.Fatalf("a version 1 record: %v", err)
	}
	if got.Channel != ChannelWebPush || !sameDevice(got, d) {
		t.Errorf("version 1 decoded to %+v, want %+v", got, d)
	}
	again, err := EncodeSecret(got)
	if err != nil || !bytes.HasPrefix(again, []byte(`{"v":2,"channel":"webpush",`)) {
		t.Fatalf("re-encoded as %s, %v", again, err)
	}
	if d2, err := DecodeSecret(again); err != nil || !sameDevice(d2, d) {
		t.Errorf("version 2 of it decoded to %+v, %v", d2, err)
	}
	// Version 1 has no room for ntfy.
	for _, bad := range []string{
		strings.Replace(v1, `"v":1,`, `"v":1,"channel":"webpush",`, 1),
		`{"v":1,"topic":"rmfa-abcdefghijklmnopqrstuvwxyz234567","site":"https://vpn.example.com"}`,
		strings.Replace(v1, `"name"`, `"topic":"rmfa-abcdefghijklmnopqrstuvwxyz234567","name"`, 1),
	} {
		if _, err := DecodeSecret([]byte(bad)); err == nil {
			t.Errorf("DecodeSecret(%s) accepted", bad)
		}
	}
}

func TestNtfySecretRoundTrip(t *testing.T) {
	d := fixedNtfyDevice()
	b, err := EncodeSecret(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"v":2,"channel":"ntfy","topic":"rmfa-abcdefghijklmnopqrstuvwxyz234567","site":"https://vpn.example.com","name":"ntfy on my phone"}`; string(b) != want {
		t.Errorf("record %s, want %s", b, want)
	}
	got, err := DecodeSecret(b)
	if err != nil || got != d {
		t.Fatalf("DecodeSecret = %+v, %v; want %+v", got, err, d)
	}
	for _, site := range []string{"https://127.0.0.1:8443", "https://[::1]:8443", "https://vpn.example.com:8443"} {
		d.Site = site
		if b, err := EncodeSecret(d); err != nil {
			t.Errorf("site %s: %v", site, err)
		} else if _, err := DecodeSecret(b); err != nil {
			t.Errorf("site %s: DecodeSecret: %v", site, err)
		}
	}
}

func TestNtfySecretRefuses(t *testing.T) {
	valid, err := EncodeSecret(fixedNtfyDevice())
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		if !bytes.Contains(valid, []byte(old)) {
			t.Fatalf("%q not in %s", old, valid)
		}
		return bytes.Replace(valid, []byte(old), []byte(new), 1)
	}
	const topic = "rmfa-abcdefghijklmnopqrstuvwxyz234567"
	cases := map[string][]byte{
		"topic missing":        replace(`"topic":"`+topic+`",`, ``),
		"topic empty":          replace(topic, ""),
		"topic null":           replace(`"`+topic+`"`, `null`),
		"topic short":          replace(topic, topic[:len(topic)-1]),
		"topic long":           replace(topic, topic+"a"),
		"topic other prefix":   replace(topic, "xmfa-"+topic[5:]),
		"topic upper case":     replace(topic, strings.ToUpper(topic)),
		"topic not base32":     replace(topic, topic[:len(topic)-1]+"1"),
		"topic guessable":      replace(topic, "mytopic"),
		"site missing":         replace(`"site":"https://vpn.example.com",`, ``),
		"site http":            replace("https://vpn.example.com", "http://vpn.example.com"),
		"site with a path":     replace("https://vpn.example.com", "https://vpn.example.com/"),
		"site with a query":    replace("https://vpn.example.com", "https://vpn.example.com?x=1"),
		"site with userinfo":   replace("https://vpn.example.com", "https://u@vpn.example.com"),
		"site with a fragment": replace("https://vpn.example.com", "https://vpn.example.com#f"),
		"site with a space":    replace("https://vpn.example.com", "https://vpn example.com"),
		"site empty host":      replace("https://vpn.example.com", "https://"),
		"with a public key":    replace(`"name"`, `"public_key":"","name"`),
		"with a subscription":  replace(`"name"`, `"subscription":null,"name"`),
		"channel missing":      replace(`"channel":"ntfy",`, ``),
		"version 1":            replace(`"v":2,`, `"v":1,`),
		"repeated topic":       replace(`"topic"`, `"topic":"`+topic+`","topic"`),
	}
	for name, b := range cases {
		if d, err := DecodeSecret(b); err == nil {
			t.Errorf("%s: DecodeSecret(%s) accepted: %+v", name, b, d)
		}
	}
	enc := map[string]func(*Device){
		"a key":          func(d *Device) { d.PublicKey = &fixedKey(t, 1).PublicKey },
		"a subscription": func(d *Device) { d.Subscription = testSubscription(t) },
		"no topic":       func(d *Device) { d.Topic = "" },
		"no site":        func(d *Device) { d.Site = "" },
		"unknown":        func(d *Device) { d.Channel = "sms" },
	}
	for name, change := range enc {
		d := fixedNtfyDevice()
		change(&d)
		if b, err := EncodeSecret(d); err == nil {
			t.Errorf("EncodeSecret with %s accepted: %s", name, b)
		}
	}
	wp := fixedDevice(t)
	wp.Topic = fixedNtfyDevice().Topic
	if b, err := EncodeSecret(wp); err == nil {
		t.Errorf("a Web Push device with a topic encoded: %s", b)
	}
}

func TestNewNtfyEnrollment(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	e, d, err := NewNtfyEnrollment("alice", " ", "https://vpn.example.com", at)
	if err != nil {
		t.Fatal(err)
	}
	if e.User != "alice" || e.Kind != Kind || e.Label != DefaultNtfyName || d.Name != DefaultNtfyName || d.Channel != ChannelNtfy {
		t.Errorf("enrollment %+v, device %+v", e, d)
	}
	if !regexp.MustCompile(`^rmfa-[a-z2-7]{32}$`).MatchString(d.Topic) || d.Site != "https://vpn.example.com" {
		t.Errorf("device %+v", d)
	}
	if got, err := DeviceOf(e); err != nil || got != d {
		t.Errorf("DeviceOf = %+v, %v", got, err)
	}
	_, d2, err := NewNtfyEnrollment("alice", "work phone", "https://vpn.example.com", at)
	if err != nil || d2.Topic == d.Topic || d2.Name != "work phone" {
		t.Errorf("second: %+v, %v", d2, err)
	}
	if _, _, err := NewNtfyEnrollment("alice", "x", "http://vpn.example.com", at); err == nil {
		t.Error("an http site accepted")
	}
	if _, _, err := NewNtfyEnrollment("", "x", "https://vpn.example.com", at); err == nil {
		t.Error("no user accepted")
	}
	if _, _, err := newNtfyEnrollment(bytes.NewReader(make([]byte, 20)), "alice", "x", "https://vpn.example.com", at); err == nil {
		t.Error("a random source that runs out before the id")
	}
}
