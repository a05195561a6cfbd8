package integration

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"radiusmfa/factors/push/webpush/webpushtest"
)

// This file is the phone's side of Web Push: a push service in miniature
// on loopback that checks each message's VAPID signature and decrypts it
// (RFC 8030, 8291, 8292) with the subscription's private key, as a browser
// would, using webpushtest. It is plain http: the server runs with
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
	keys webpushtest.Keys
	path string // on the push service: /push/<random>
	msgs chan pushMessage
	raw  chan []byte // the decrypted payloads, as delivered
}

func newSubscriber(t *testing.T) *subscriber {
	t.Helper()
	keys, err := webpushtest.NewSubscriptionKeys()
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	return &subscriber{keys: keys, path: "/push/" + base64.RawURLEncoding.EncodeToString(id),
		msgs: make(chan pushMessage, 16), raw: make(chan []byte, 16)}
}

// subscriptionJSON is PushSubscription.toJSON() for endpoint.
func (sub *subscriber) subscriptionJSON(endpoint string) json.RawMessage {
	return sub.keys.Subscription(endpoint).JSON()
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

// checkPush validates one push request and returns its decrypted payload:
// its VAPID JWT must be signed for origin by the server's key, when
// vapidKey is set.
func checkPush(r *http.Request, origin, vapidKey string, sub *subscriber) ([]byte, error) {
	v, err := webpushtest.VerifyVAPID(r.Header.Get("Authorization"), origin)
	if err == nil && vapidKey != "" && v.Key != vapidKey {
		err = fmt.Errorf("k=%q, want the server's key %q", v.Key, vapidKey)
	}
	if err != nil {
		return nil, fmt.Errorf("authorization: %w", err)
	}
	plain, _, err := webpushtest.ReadMessage(r, sub.keys)
	return plain, err
}
