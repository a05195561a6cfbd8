// Package webpushtest is test support for Web Push: the browser's side of
// the wire, written from RFC 8030, 8291 and 8292 with the standard library
// alone, so that tests check what the server puts on the wire rather than
// trusting the library that sends it. It makes a subscription key pair the
// way pushManager.subscribe does, verifies a request's VAPID Authorization
// header and decrypts aes128gcm payloads with the key pair the test made.
//
// It is for tests only and never used by the server, which holds no
// subscription private key and has nothing to decrypt.
package webpushtest

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
	"strings"
	"time"
)

// MaxBody is the largest encrypted body a push service must accept (RFC
// 8030 §7.2); ReadMessage refuses larger ones.
const MaxBody = 4096

// Keys are a browser's push subscription keys: the user agent's P-256 key
// pair and the authentication secret.
type Keys struct {
	Private *ecdh.PrivateKey // the public half is the subscription's p256dh
	Auth    []byte           // 16 bytes
}

// NewSubscriptionKeys makes a fresh key pair and auth secret, as
// pushManager.subscribe does.
func NewSubscriptionKeys() (Keys, error) {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return Keys{}, err
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		return Keys{}, err
	}
	return Keys{Private: key, Auth: auth}, nil
}

// Subscription is PushSubscription.toJSON(): what a browser hands the
// server, with the keys base64url (unpadded).
type Subscription struct {
	Endpoint       string `json:"endpoint"`
	ExpirationTime *int64 `json:"expirationTime"` // always null here
	Keys           struct {
		Auth   string `json:"auth"`
		P256dh string `json:"p256dh"`
	} `json:"keys"`
}

// Subscription is the subscription of k for endpoint.
func (k Keys) Subscription(endpoint string) Subscription {
	s := Subscription{Endpoint: endpoint}
	s.Keys.Auth = base64.RawURLEncoding.EncodeToString(k.Auth)
	s.Keys.P256dh = base64.RawURLEncoding.EncodeToString(k.Private.PublicKey().Bytes())
	return s
}

// JSON is s marshalled, as the browser would post it.
func (s Subscription) JSON() json.RawMessage {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // strings and a nil pointer always marshal
	}
	return b
}

// VAPID is what a verified Authorization header identifies.
type VAPID struct {
	Key     string // k=: the server's public key, base64url
	Subject string // the JWT's sub: the server's contact
}

// VerifyVAPID verifies an RFC 8292 Authorization header: scheme "vapid",
// t= an ES256 JWT signed by the key k=, with aud the push resource's
// origin and exp in the next 24 hours. It returns k and the JWT's sub for
// the caller to compare with the server's.
func VerifyVAPID(header, origin string) (VAPID, error) {
	now := time.Now()
	params, ok := strings.CutPrefix(header, "vapid ")
	if !ok {
		return VAPID{}, fmt.Errorf("scheme of %q is not vapid", header)
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
	point, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil {
		return VAPID{}, fmt.Errorf("k: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return VAPID{}, fmt.Errorf("k: %w", err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return VAPID{}, fmt.Errorf("t has %d parts, want 3", len(parts))
	}
	var head struct{ Alg, Typ string }
	if err := decodeJWTPart(parts[0], &head); err != nil || head.Alg != "ES256" {
		return VAPID{}, fmt.Errorf("JWT header %+v (%v), want alg ES256", head, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return VAPID{}, fmt.Errorf("JWT signature is not 64 base64url bytes (%v)", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	rr, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], rr, ss) {
		return VAPID{}, errors.New("JWT signature does not verify with k")
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	if err := decodeJWTPart(parts[1], &claims); err != nil {
		return VAPID{}, err
	}
	exp := time.Unix(claims.Exp, 0)
	switch {
	case claims.Aud != origin:
		return VAPID{}, fmt.Errorf("aud %q, want %q", claims.Aud, origin)
	case !exp.After(now) || exp.After(now.Add(24*time.Hour)):
		return VAPID{}, fmt.Errorf("exp %s not within 24 hours of %s", exp, now)
	}
	return VAPID{Key: k, Subject: claims.Sub}, nil
}

func decodeJWTPart(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// ReadMessage checks the headers every push request must carry
// (Content-Encoding aes128gcm, a TTL), reads a body of at most MaxBody
// bytes and decrypts it for keys. It returns the payload and the length of
// the encrypted body. The Authorization header is VerifyVAPID's business.
func ReadMessage(r *http.Request, keys Keys) ([]byte, int, error) {
	if got := r.Header.Get("Content-Encoding"); got != "aes128gcm" {
		return nil, 0, fmt.Errorf("Content-Encoding %q, want aes128gcm", got)
	}
	if r.Header.Get("TTL") == "" {
		return nil, 0, errors.New("no TTL header (RFC 8030 §5.2 requires one)")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 2*MaxBody))
	if err != nil {
		return nil, 0, err
	}
	if len(body) > MaxBody {
		return nil, 0, fmt.Errorf("body of %d bytes, more than a push service must accept", len(body))
	}
	plain, err := Decrypt(keys, body)
	return plain, len(body), err
}

// Decrypt opens an aes128gcm push message body (RFC 8188 header, one
// record) for the user agent holding keys (RFC 8291).
func Decrypt(keys Keys, body []byte) ([]byte, error) {
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
	ecdhSecret, err := keys.Private.ECDH(as)
	if err != nil {
		return nil, err
	}
	// §3.3: IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" 0x00 ua_public as_public, 32).
	prkKey, err := hkdf.Extract(sha256.New, ecdhSecret, keys.Auth)
	if err != nil {
		return nil, err
	}
	keyInfo := "WebPush: info\x00" + string(keys.Private.PublicKey().Bytes()) + string(asPublic)
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
