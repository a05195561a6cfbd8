package webpush

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file is the other side of the wire: a push service in miniature,
// written from RFC 8030, 8291 and 8292 with the standard library alone, so
// the tests check what webpush-go puts on the wire rather than trusting it.

// device is a browser's push subscription: the user agent's key pair and
// auth secret, as pushManager.subscribe makes them.
type device struct {
	key  *ecdh.PrivateKey
	auth []byte
}

func newDevice(t *testing.T) device {
	t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	return device{key: key, auth: auth}
}

// subscription is what the browser would hand the server for endpoint.
func (d device) subscription(endpoint string) Subscription {
	return Subscription{
		Endpoint: endpoint,
		P256dh:   base64.RawURLEncoding.EncodeToString(d.key.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(d.auth),
	}
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
	if err := checkVAPID(r.Header.Get("Authorization"), ps.origin, ps.vapidK, ps.subject, time.Now()); err != nil {
		return nil, 0, fmt.Errorf("authorization: %w", err)
	}
	if got := r.Header.Get("Content-Encoding"); got != "aes128gcm" {
		return nil, 0, fmt.Errorf("Content-Encoding %q, want aes128gcm", got)
	}
	if r.Header.Get("TTL") == "" || r.Header.Get("Urgency") == "" {
		return nil, 0, fmt.Errorf("TTL %q, Urgency %q: both required here", r.Header.Get("TTL"), r.Header.Get("Urgency"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	if err != nil {
		return nil, 0, err
	}
	if len(body) > 4096 {
		// RFC 8030 §7.2: services need not take more than 4096 bytes.
		return nil, 0, fmt.Errorf("body of %d bytes, more than a push service must accept", len(body))
	}
	plain, err := decryptRFC8291(body, ps.device.key, ps.device.auth)
	return plain, len(body), err
}

// checkVAPID verifies an RFC 8292 Authorization header: scheme "vapid",
// t= an ES256 JWT signed by the key k=, which must be wantK, with aud the
// push resource's origin, exp in the next 24 hours and sub the contact.
func checkVAPID(header, aud, wantK, wantSub string, now time.Time) error {
	params, ok := strings.CutPrefix(header, "vapid ")
	if !ok {
		return fmt.Errorf("scheme of %q is not vapid", header)
	}
	var token, k string
	for p := range strings.SplitSeq(params, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch name {
		case "t":
			token = val
		case "k":
			k = val
		}
	}
	if k != wantK {
		return fmt.Errorf("k=%q, want the server's key %q", k, wantK)
	}
	point, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil {
		return fmt.Errorf("k: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return fmt.Errorf("k: %w", err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("t has %d parts, want 3", len(parts))
	}
	var head struct{ Alg, Typ string }
	if err := decodeJWTPart(parts[0], &head); err != nil || head.Alg != "ES256" {
		return fmt.Errorf("JWT header %+v (%v), want alg ES256", head, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return fmt.Errorf("JWT signature is not 64 base64url bytes (%v)", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	rr, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], rr, ss) {
		return errors.New("JWT signature does not verify with k")
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	if err := decodeJWTPart(parts[1], &claims); err != nil {
		return err
	}
	exp := time.Unix(claims.Exp, 0)
	switch {
	case claims.Aud != aud:
		return fmt.Errorf("aud %q, want %q", claims.Aud, aud)
	case !exp.After(now) || exp.After(now.Add(24*time.Hour)):
		return fmt.Errorf("exp %s not within 24 hours of %s", exp, now)
	case claims.Sub != wantSub:
		return fmt.Errorf("sub %q, want %q", claims.Sub, wantSub)
	}
	return nil
}

func decodeJWTPart(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// decryptRFC8291 opens an aes128gcm push message body (RFC 8188 header,
// one record) for the user agent holding ua and auth.
func decryptRFC8291(body []byte, ua *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	// Header: salt (16) | rs (4) | idlen (1) | keyid (idlen): the
	// application server's ephemeral public key (RFC 8291 §4).
	if len(body) < 21 {
		return nil, fmt.Errorf("body of %d bytes has no header", len(body))
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 || len(body) < 21+idlen {
		return nil, fmt.Errorf("keyid of %d bytes, want a 65-byte P-256 point", idlen)
	}
	asPublic, record := body[21:21+idlen], body[21+idlen:]
	if rs < 18 || len(record) > int(rs) || len(record) < 17 {
		return nil, fmt.Errorf("record of %d bytes with rs %d: not a single record", len(record), rs)
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("keyid: %w", err)
	}
	ecdhSecret, err := ua.ECDH(as)
	if err != nil {
		return nil, err
	}
	// §3.3: IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" 0x00 ua_public as_public, 32).
	prkKey, err := hkdf.Extract(sha256.New, ecdhSecret, auth)
	if err != nil {
		return nil, err
	}
	keyInfo := "WebPush: info\x00" + string(ua.PublicKey().Bytes()) + string(asPublic)
	ikm, err := hkdf.Expand(sha256.New, prkKey, keyInfo, 32)
	if err != nil {
		return nil, err
	}
	// §3.4 / RFC 8188 §2.2-2.3: CEK and NONCE from PRK = HKDF-Extract(salt, IKM).
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	// Record 0: the nonce is used as derived (XOR with sequence number 0).
	padded, err := gcm.Open(nil, nonce, record, nil)
	if err != nil {
		return nil, fmt.Errorf("record does not decrypt: %w", err)
	}
	// The plaintext ends with delimiter 0x02 (last record) then zeros.
	end := len(bytes.TrimRight(padded, "\x00"))
	if end == 0 || padded[end-1] != 0x02 {
		return nil, errors.New("no 0x02 padding delimiter: not the last record")
	}
	return padded[:end-1], nil
}

// TestDecryptRFC8291Example checks the test's own decryption against the
// worked example of RFC 8291 §5, so the round trips below check the RFC and
// not merely agreement with webpush-go.
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
	got, err := decryptRFC8291(b64(body), ua, b64(auth))
	if err != nil || string(got) != plaintext {
		t.Fatalf("decrypt the RFC 8291 example: %q, %v", got, err)
	}
	// And a flipped bit anywhere is refused, not returned as garbage.
	for _, i := range []int{0, 20, 40, len(b64(body)) - 1} {
		bad := b64(body)
		bad[i] ^= 1
		if got, err := decryptRFC8291(bad, ua, b64(auth)); err == nil {
			t.Errorf("bit flipped at %d: decrypted to %q", i, got)
		}
	}
}
