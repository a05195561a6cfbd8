package push

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 9, 14, 0, 0, time.UTC)

// clock is a settable clock for the Hub.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixedKey is a deterministic device key, so records in testdata stay valid.
func fixedKey(t testing.TB, b byte) *ecdsa.PrivateKey {
	t.Helper()
	raw := make([]byte, 32)
	raw[31] = b
	raw[0] = 0x11
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sign is what the app does: ECDSA P-256 over SHA-256, in P1363 form.
func sign(t testing.TB, k *ecdsa.PrivateKey, msg []byte) []byte {
	t.Helper()
	h := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, k, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, SignatureSize)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig
}

// answer is the app's signed answer to p at time at.
func answer(t testing.TB, k *ecdsa.PrivateKey, p Pending, verdict string, at time.Time) Answer {
	t.Helper()
	at = time.Unix(at.Unix(), 0)
	return Answer{Nonce: p.Nonce, User: p.User, Verdict: verdict, Time: at,
		Signature: sign(t, k, Message(p.Nonce, p.User, verdict, at))}
}

// numbered returns k's signed approval of p with the number picked.
func numbered(t testing.TB, k *ecdsa.PrivateKey, p Pending, number int, at time.Time) Answer {
	t.Helper()
	at = time.Unix(at.Unix(), 0)
	return Answer{Nonce: p.Nonce, User: p.User, Verdict: AnswerApprove, Time: at, Number: number,
		Signature: sign(t, k, NumberedMessage(p.Nonce, p.User, AnswerApprove, number, at))}
}

// testSubscription is a valid subscription to a made-up push service.
func testSubscription(t testing.TB) Subscription {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return Subscription{
		Endpoint: "https://push.example.net/wpush/v2/gAAAAABo",
		P256dh:   base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(auth),
	}
}
