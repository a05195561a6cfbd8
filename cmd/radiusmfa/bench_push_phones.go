package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"radiusmfa/factors/push"
	"radiusmfa/factors/push/webpush/webpushtest"
)

// benchPhone is one paired approver app of a push run: the browser's
// subscription keys, which decrypt its pushes, and the app's signing key.
// The private keys never leave the bench process.
type benchPhone struct {
	user string
	keys webpushtest.Keys
	sign *ecdsa.PrivateKey
}

// benchPhones is the phones' side of a push run: a Web Push service on
// loopback that checks each push's VAPID signature and decrypts it as a
// browser would (webpushtest), and, when answering, the approver app,
// which signs an approval and posts it to the site's /approver/answer.
type benchPhones struct {
	phones []benchPhone // phone i is pushed to at /push/i
	origin string       // http://127.0.0.1:port
	srv    *http.Server

	answer    bool // approve every push (the logins run)
	answering sync.WaitGroup
	site      string       // https://127.0.0.1:port/, once the server is up
	client    *http.Client // to the site, trusting its certificate only
	vapid     atomic.Pointer[string]

	received atomic.Int64 // pushes verified and decrypted
	answered atomic.Int64 // approvals the site took
	refused  atomic.Int64 // pushes or answers that failed a check
	firstErr atomic.Pointer[error]
}

// newBenchPhones makes n phones for users named by name(i) and starts
// their push service on a free loopback port.
func newBenchPhones(n int, name func(int) string, answer bool) (*benchPhones, error) {
	ps := &benchPhones{phones: make([]benchPhone, n), answer: answer}
	for i := range ps.phones {
		keys, err := webpushtest.NewSubscriptionKeys()
		if err != nil {
			return nil, err
		}
		sign, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		ps.phones[i] = benchPhone{user: name(i), keys: keys, sign: sign}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ps.origin = "http://" + ln.Addr().String()
	ps.srv = &http.Server{Handler: ps, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = ps.srv.Serve(ln) }()
	return ps, nil
}

// subscription is phone i's Web Push subscription, as the server stores it.
func (ps *benchPhones) subscription(i int) push.Subscription {
	s := ps.phones[i].keys.Subscription(fmt.Sprintf("%s/push/%d", ps.origin, i))
	return push.Subscription{Endpoint: s.Endpoint, P256dh: s.Keys.P256dh, Auth: s.Keys.Auth}
}

// close stops the push service; pushes still arriving are refused.
func (ps *benchPhones) close() {
	_ = ps.srv.Close()
	if ps.client != nil {
		ps.client.CloseIdleConnections()
	}
}

// connectSite points the approver at the spawned server's site, trusting
// exactly the certificate in certFile, and learns the VAPID key every push
// must be signed with from the app's own endpoint.
func (ps *benchPhones) connectSite(siteURL, certFile string, conns int) error {
	u, err := url.Parse(siteURL)
	if err != nil || u.Scheme != "https" || !net.ParseIP(u.Hostname()).IsLoopback() {
		return fmt.Errorf("bench: the site %q is not https on a loopback address", siteURL)
	}
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		return err
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return fmt.Errorf("bench: %s holds no PEM certificate", certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	// No proxy from the environment: nothing leaves loopback.
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	ps.site, ps.client = strings.TrimSuffix(siteURL, "/")+"/", &http.Client{Timeout: 10 * time.Second, Transport: tr}
	resp, err := ps.client.Get(ps.site + "approver/vapid")
	if err != nil {
		return fmt.Errorf("bench: GET /approver/vapid: %w", err)
	}
	defer resp.Body.Close()
	var v struct {
		PublicKey string `json:"public_key"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&v); err != nil || resp.StatusCode != http.StatusOK || v.PublicKey == "" {
		return fmt.Errorf("bench: GET /approver/vapid: status %d (%v)", resp.StatusCode, err)
	}
	ps.vapid.Store(&v.PublicKey)
	return nil
}

// ServeHTTP is the push service: POST /push/i delivers to phone i.
func (ps *benchPhones) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/push/"))
	if r.Method != http.MethodPost || err != nil || i < 0 || i >= len(ps.phones) {
		// Not 404: that would tell the server the subscription is gone.
		ps.fail(fmt.Errorf("push service: %s %s: no such subscription", r.Method, r.URL.Path))
		http.Error(w, "no such subscription", http.StatusBadRequest)
		return
	}
	ph := &ps.phones[i]
	p, err := ps.open(r, ph)
	if err != nil {
		ps.fail(fmt.Errorf("push service: push to %s: %w", ph.user, err))
		http.Error(w, "refused", http.StatusBadRequest)
		return
	}
	ps.received.Add(1)
	w.WriteHeader(http.StatusCreated)
	if ps.answer {
		// As a phone does: the push service has taken the message; the
		// app answers on its own connection to the site.
		ps.answering.Go(func() { ps.approve(ph, p) })
	}
}

// open checks one push request as a browser's push service and user agent
// would and returns its payload.
func (ps *benchPhones) open(r *http.Request, ph *benchPhone) (push.Payload, error) {
	var p push.Payload
	want := ps.vapid.Load()
	if want == nil {
		return p, errors.New("a push before the server's VAPID key was known")
	}
	v, err := webpushtest.VerifyVAPID(r.Header.Get("Authorization"), ps.origin)
	if err != nil {
		return p, fmt.Errorf("authorization: %w", err)
	}
	if v.Key != *want {
		return p, fmt.Errorf("VAPID key %q, not the site's %q", v.Key, *want)
	}
	plain, _, err := webpushtest.ReadMessage(r, ph.keys)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(plain, &p); err != nil {
		return p, fmt.Errorf("payload: %w", err)
	}
	if p.User != ph.user || p.Nonce == "" {
		return p, fmt.Errorf("payload for %q (nonce %q) at this phone", p.User, p.Nonce)
	}
	return p, nil
}

// approve signs an approval of p as the app does (ECDSA P-256 over
// push.Message, r||s, base64url) and posts it to the site.
func (ps *benchPhones) approve(ph *benchPhone, p push.Payload) {
	at := time.Now().Unix()
	h := sha256.Sum256(push.Message(p.Nonce, p.User, push.AnswerApprove, time.Unix(at, 0)))
	r, s, err := ecdsa.Sign(rand.Reader, ph.sign, h[:])
	if err != nil {
		ps.fail(err)
		return
	}
	sig := make([]byte, push.SignatureSize)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	body, _ := json.Marshal(map[string]any{"nonce": p.Nonce, "user": p.User, "verdict": push.AnswerApprove,
		"time": at, "signature": base64.RawURLEncoding.EncodeToString(sig), "number": 0})
	resp, err := ps.client.Post(ps.site+"approver/answer", "application/json", bytes.NewReader(body))
	if err != nil {
		ps.fail(fmt.Errorf("approver: POST /approver/answer: %w", err))
		return
	}
	defer resp.Body.Close()
	var res struct{ Verdict, Error string }
	err = json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&res)
	if err != nil || resp.StatusCode != http.StatusOK || res.Verdict != push.Approved.String() {
		ps.fail(fmt.Errorf("approver: POST /approver/answer for %s: status %d, verdict %q, error %q (%v)",
			p.User, resp.StatusCode, res.Verdict, res.Error, err))
		return
	}
	ps.answered.Add(1)
}

func (ps *benchPhones) fail(err error) {
	ps.refused.Add(1)
	ps.firstErr.CompareAndSwap(nil, &err)
}

// err is the first failure seen, if any.
func (ps *benchPhones) err() error {
	if e := ps.firstErr.Load(); e != nil {
		return fmt.Errorf("bench: %d failures at the phones, the first: %w", ps.refused.Load(), *e)
	}
	return nil
}

// finish stops taking pushes and waits for the answers being posted: a
// push may still come for a login the generator gave up on.
func (ps *benchPhones) finish() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = ps.srv.Shutdown(ctx) // waits for the handlers, which start the answers
	ps.answering.Wait()
}
