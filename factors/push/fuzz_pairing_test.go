package push

import (
	"encoding/json"
	"testing"
)

// FuzzParseSubscription feeds arbitrary pairing bodies to
// ParseSubscription: it must not panic, and what it accepts must validate
// and survive a device record round trip.
func FuzzParseSubscription(f *testing.F) {
	sub := testSubscription(f)
	js, _ := json.Marshal(map[string]any{"endpoint": sub.Endpoint, "expirationTime": nil,
		"keys": map[string]string{"p256dh": sub.P256dh, "auth": sub.Auth}})
	f.Add(js)
	f.Add([]byte(`{"endpoint":"https://10.0.0.1/x","keys":{"p256dh":"AA","auth":"AA"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSubscription(b)
		if err != nil {
			if s != (Subscription{}) {
				t.Fatalf("ParseSubscription(%q) = %+v with error %v", b, s, err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("ParseSubscription(%q) accepted %+v, which does not validate: %v", b, s, err)
		}
	})
}

// FuzzParsePublicKey: arbitrary text never panics, and an accepted key is
// a P-256 point that encodes again.
func FuzzParsePublicKey(f *testing.F) {
	f.Add("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParsePublicKey(s)
		if err != nil {
			if k != nil {
				t.Fatalf("ParsePublicKey(%q) = %v with error %v", s, k, err)
			}
			return
		}
		if _, err := marshalKey(k); err != nil {
			t.Fatalf("ParsePublicKey(%q) accepted a key that does not encode: %v", s, err)
		}
	})
}
