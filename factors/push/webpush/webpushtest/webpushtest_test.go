package webpushtest

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"testing"
)

// TestDecryptRFC8291Example checks Decrypt against the worked example of
// RFC 8291 §5, so the round trips of the tests that use it check the RFC
// and not merely agreement with the sender.
func TestDecryptRFC8291Example(t *testing.T) {
	const (
		uaPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
		uaPublic  = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
		auth      = "BTBZMqHH6r4Tts7J_aSIgg"
		body      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocIn" +
			"mYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
		plaintext = "When I grow up, I want to be a watermelon"
	)
	b64 := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ua, err := ecdh.P256().NewPrivateKey(b64(uaPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ua.PublicKey().Bytes(), b64(uaPublic)) {
		t.Fatal("ua_private does not match ua_public")
	}
	keys := Keys{Private: ua, Auth: b64(auth)}
	if s := keys.Subscription("https://push.example/x"); s.Keys.P256dh != uaPublic || s.Keys.Auth != auth {
		t.Errorf("subscription keys %+v, want p256dh %s, auth %s", s.Keys, uaPublic, auth)
	}
	got, err := Decrypt(keys, b64(body))
	if err != nil || string(got) != plaintext {
		t.Fatalf("decrypt the RFC 8291 example: %q, %v", got, err)
	}
	// And a flipped bit anywhere is refused, not returned as garbage.
	for _, i := range []int{0, 20, 40, len(b64(body)) - 1} {
		bad := b64(body)
		bad[i] ^= 1
		if got, err := Decrypt(keys, bad); err == nil {
			t.Errorf("bit flipped at %d: decrypted to %q", i, got)
		}
	}
}

// The JSON is PushSubscription.toJSON()'s shape.
func TestSubscriptionJSON(t *testing.T) {
	keys, err := NewSubscriptionKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.Auth) != 16 {
		t.Errorf("auth secret of %d bytes, want 16", len(keys.Auth))
	}
	got := string(keys.Subscription("https://push.example/x").JSON())
	want := `{"endpoint":"https://push.example/x","expirationTime":null,"keys":{"auth":"` +
		base64.RawURLEncoding.EncodeToString(keys.Auth) + `","p256dh":"` +
		base64.RawURLEncoding.EncodeToString(keys.Private.PublicKey().Bytes()) + `"}}`
	if got != want {
		t.Errorf("JSON\n %s\nwant\n %s", got, want)
	}
}
