package push

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"testing"
	"time"
)

func TestMessage(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 14, 5, 999_000_000, time.FixedZone("CET", 3600))
	got := string(Message("q83vEjRWeJASNFZ4kBI0Vg", "alice", AnswerApprove, at))
	want := "radiusmfa-push-v1\nq83vEjRWeJASNFZ4kBI0Vg\nalice\napprove\n1772352845"
	if got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	got = string(NumberedMessage("q83vEjRWeJASNFZ4kBI0Vg", "alice", AnswerApprove, 47, at))
	want = "radiusmfa-push-v2\nq83vEjRWeJASNFZ4kBI0Vg\nalice\napprove\n47\n1772352845"
	if got != want {
		t.Errorf("NumberedMessage = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	k := newKey(t)
	msg := Message("nonce", "alice", AnswerApprove, t0)
	sig := sign(t, k, msg)
	n := elliptic.P256().Params().N
	with := func(r, s *big.Int) []byte {
		b := make([]byte, SignatureSize)
		r.FillBytes(b[:32])
		s.FillBytes(b[32:])
		return b
	}
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	h := sha256.Sum256(msg)
	der, err := ecdsa.SignASN1(rand.Reader, k, h[:])
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(&k.PublicKey, h[:], der) {
		t.Fatal("DER signature does not verify with VerifyASN1")
	}
	tampered := Message("nonce", "alice", AnswerApprove, t0.Add(time.Second))
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)

	if !Verify(&k.PublicKey, msg, sig) {
		t.Fatal("valid P1363 signature refused")
	}
	// WebCrypto does not normalise s: the high-S twin is valid too.
	if !Verify(&k.PublicKey, msg, with(r, new(big.Int).Sub(n, s))) {
		t.Error("high-S twin refused")
	}
	cases := map[string]struct {
		pub *ecdsa.PublicKey
		msg []byte
		sig []byte
	}{
		"tampered message": {&k.PublicKey, tampered, sig},
		"other verdict":    {&k.PublicKey, Message("nonce", "alice", AnswerDeny, t0), sig},
		"DER signature":    {&k.PublicKey, msg, der},
		"zero r":           {&k.PublicKey, msg, with(big.NewInt(0), s)},
		"zero s":           {&k.PublicKey, msg, with(r, big.NewInt(0))},
		"r = N":            {&k.PublicKey, msg, with(n, s)},
		"s = N":            {&k.PublicKey, msg, with(r, n)},
		"other key":        {&newKey(t).PublicKey, msg, sig},
		"nil key":          {nil, msg, sig},
		"P-384 key":        {&p384.PublicKey, msg, sig},
		"63 bytes":         {&k.PublicKey, msg, sig[:63]},
		"65 bytes":         {&k.PublicKey, msg, append(sig[:64:64], 0)},
		"empty":            {&k.PublicKey, msg, nil},
	}
	for name, c := range cases {
		if Verify(c.pub, c.msg, c.sig) {
			t.Errorf("%s: accepted", name)
		}
	}
}
