package integration

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

// This file is the phone's side of Web Push: a push service in miniature
// on loopback that checks each message's VAPID signature and decrypts it
// (RFC 8030, 8291, 8292) with the subscription's private key, as a browser
// would. It is plain http: the server runs with
// push.allow_loopback_http_endpoints, since it trusts no test CA for https.

// pushMessage is the payload the server pushes (factors/push.Payload).
type pushMessage struct {
	V       int    `json:"v"`
	Nonce   string `json:"nonce"`
	User    string `json:"user"`
	Context struct {
		User             string    `json:"user"`
		Client           string    `json:"client"`
		NASIdentifier    string    `json:"nas_identifier"`
		CallingStationID string    `json:"calling_station_id"`
		Time             time.Time `json:"time"`
		Choices          []int     `json:"choices"`
	} `json:"context"`
	Expires time.Time `json:"expires"`
}

// subscriber is a browser's push subscription: the user agent's ECDH key
// pair and auth secret; its messages go to a channel.
type subscriber struct {
	ua   *ecdh.PrivateKey
	auth []byte
	path string // on the push service: /push/<random>
	msgs chan pushMessage
	raw  chan []byte // the decrypted payloads, as delivered
}

func newSubscriber(t *testing.T) *subscriber {
	t.Helper()
	ua, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	id := make([]byte, 12)
	_, _ = rand.Read(auth)
	_, _ = rand.Read(id)
	return &subscriber{ua: ua, auth: auth, path: "/push/" + base64.RawURLEncoding.EncodeToString(id),
		msgs: make(chan pushMessage, 16), raw: make(chan []byte, 16)}
}

// subscriptionJSON is PushSubscription.toJSON() for endpoint.
func (sub *subscriber) subscriptionJSON(endpoint string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"endpoint": endpoint, "expirationTime": nil,
		"keys": map[string]string{
			"p256dh": base64.RawURLEncoding.EncodeToString(sub.ua.PublicKey().Bytes()),
			"auth":   base64.RawURLEncoding.EncodeToString(sub.auth),
		},
	})
	return b
}

// next waits up to d for the next message pushed to sub.
func (sub *subscriber) next(d time.Duration) (pushMessage, bool) {
	select {
	case m := <-sub.msgs:
		return m, true
	case <-time.After(d):
		return pushMessage{}, false
	}
}

// pushService accepts messages for its subscribers.
type pushService struct {
	t      *testing.T
	srv    *httptest.Server
	origin string

	mu        sync.Mutex
	vapidKey  string // the k= every message must carry ("" until set)
	subs      map[string]*subscriber
	delivered map[string]int // messages accepted, by subscriber path
}

func startPushService(t *testing.T) *pushService {
	t.Helper()
	ps := &pushService{t: t, subs: map[string]*subscriber{}, delivered: map[string]int{}}
	ps.srv = httptest.NewServer(ps) // 127.0.0.1, a free port
	ps.origin = ps.srv.URL
	t.Cleanup(ps.srv.Close)
	return ps
}

// expectVAPIDKey sets the server's VAPID public key the messages must be
// signed with.
func (ps *pushService) expectVAPIDKey(k string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.vapidKey = k
}

// add registers sub and returns its endpoint.
func (ps *pushService) add(sub *subscriber) string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.subs[sub.path] = sub
	return ps.origin + sub.path
}

// count is how many messages sub was sent.
func (ps *pushService) count(sub *subscriber) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.delivered[sub.path]
}

func (ps *pushService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ps.mu.Lock()
	sub, k := ps.subs[r.URL.Path], ps.vapidKey
	ps.mu.Unlock()
	if r.Method != http.MethodPost || sub == nil {
		ps.t.Errorf("push service: %s %s: no such subscription", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	plain, err := checkPush(r, ps.origin, k, sub)
	if err != nil {
		ps.t.Errorf("push service: %s: %v", r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var m pushMessage
	if err := json.Unmarshal(plain, &m); err != nil {
		ps.t.Errorf("push service: payload %q: %v", plain, err)
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	ps.mu.Lock()
	ps.delivered[sub.path]++
	ps.mu.Unlock()
	select {
	case sub.msgs <- m:
	default:
		ps.t.Errorf("push service: %s: more messages than the test reads", r.URL.Path)
	}
	select {
	case sub.raw <- plain:
	default:
	}
	w.WriteHeader(http.StatusCreated)
}

// checkPush validates one push request and returns its decrypted payload.
func checkPush(r *http.Request, origin, vapidKey string, sub *subscriber) ([]byte, error) {
	if err := checkVAPID(r.Header.Get("Authorization"), origin, vapidKey, time.Now()); err != nil {
		return nil, fmt.Errorf("authorization: %w", err)
	}
	if got := r.Header.Get("Content-Encoding"); got != "aes128gcm" {
		return nil, fmt.Errorf("Content-Encoding %q, want aes128gcm", got)
	}
	if r.Header.Get("TTL") == "" {
		return nil, errors.New("no TTL header (RFC 8030 §5.2 requires one)")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	if err != nil {
		return nil, err
	}
	if len(body) > 4096 {
		return nil, fmt.Errorf("body of %d bytes, more than a push service must accept", len(body))
	}
	return decryptRFC8291(body, sub.ua, sub.auth)
}

// checkVAPID verifies an RFC 8292 Authorization header: "vapid t=<ES256
// JWT>, k=<key>", k being the server's key when wantK is set, the JWT
// signed by k, for aud the push service's origin, expiring within 24 h.
func checkVAPID(header, aud, wantK string, now time.Time) error {
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
	if wantK != "" && k != wantK {
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
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return fmt.Errorf("JWT signature is not 64 base64url bytes (%v)", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("JWT signature does not verify with k")
	}
	claimsJSON, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
	}
	if err := json.Unmarshal(claimsJSON, &claims); err != nil {
		return err
	}
	exp := time.Unix(claims.Exp, 0)
	switch {
	case claims.Aud != aud:
		return fmt.Errorf("aud %q, want %q", claims.Aud, aud)
	case !exp.After(now) || exp.After(now.Add(24*time.Hour)):
		return fmt.Errorf("exp %s not within 24 hours of %s", exp, now)
	}
	return nil
}

// decryptRFC8291 opens an aes128gcm push message body (RFC 8188 header,
// one record) for the user agent holding ua and auth. It is the decryption
// of factors/push/webpush's tests, checked there against RFC 8291 §5.
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
	ikm, err := hkdf.Expand(sha256.New, prkKey, "WebPush: info\x00"+string(ua.PublicKey().Bytes())+string(asPublic), 32)
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
