package push

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"radiusmfa/auth"
	"radiusmfa/store"
)

func testLinkKey(t testing.TB, b byte) *LinkKey {
	t.Helper()
	k, err := NewLinkKey(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// beginLinked begins a push answered through links, for alice's ntfy device.
func (r *rig) beginLinked(c Context) *Pending {
	r.t.Helper()
	p, err := r.h.BeginLinked("alice", "ntfy-dev", c, time.Minute)
	if err != nil {
		r.t.Fatalf("BeginLinked: %v", err)
	}
	return p
}

func mustSign(t *testing.T, k *LinkKey, p *Pending, verdict string, number int) string {
	t.Helper()
	tok, err := k.Sign(*p, verdict, number)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestLinkApproveDenyReport(t *testing.T) {
	k := testLinkKey(t, 7)
	for verdict, want := range map[string]Verdict{AnswerApprove: Approved, AnswerDeny: Denied, AnswerReport: Reported} {
		r := newRig(t, Options{})
		p := r.beginLinked(Context{Client: "vpn"})
		tok := mustSign(t, k, p, verdict, 0)
		if len(tok) != 79 || strings.ContainsAny(tok, "+/=") {
			t.Errorf("token %q is not 79 characters of base64url", tok)
		}
		l, err := k.Verify(tok, r.clk.Now())
		if err != nil || l.Verdict() != verdict || l.Number() != 0 || !l.Expires().Equal(time.Unix(p.Expires.Unix(), 0)) {
			t.Fatalf("Verify: %+v, %v", l, err)
		}
		if pd, ok := r.h.LinkPending(l); !ok || pd.Nonce != p.Nonce || pd.Context.Client != "vpn" {
			t.Errorf("LinkPending = %+v, %v", pd, ok)
		}
		w := r.waitAsync(context.Background(), p)
		if v, err := r.h.AnswerLink(l); err != nil || v != want {
			t.Errorf("%s: AnswerLink = %v, %v", verdict, v, err)
		}
		if v := <-w; v != want {
			t.Errorf("%s: the waiter got %v", verdict, v)
		}
		if ev := r.logged(); len(ev) != 1 || ev[0].Verdict != want || ev[0].DeviceID != "ntfy-dev" {
			t.Errorf("events %+v", ev)
		}
	}
}

// TestLinkReplayed: a link works once, and the other links of its push
// stop working when one is used.
func TestLinkReplayed(t *testing.T) {
	k := testLinkKey(t, 7)
	r := newRig(t, Options{})
	p := r.beginLinked(Context{})
	approve, _ := k.Verify(mustSign(t, k, p, AnswerApprove, 0), r.clk.Now())
	deny, _ := k.Verify(mustSign(t, k, p, AnswerDeny, 0), r.clk.Now())
	if v, err := r.h.AnswerLink(deny); err != nil || v != Denied {
		t.Fatalf("deny: %v %v", v, err)
	}
	for _, l := range []Link{deny, approve} {
		if v, err := r.h.AnswerLink(l); !errors.Is(err, ErrUnknown) || v != 0 {
			t.Errorf("%s again: %v, %v", l.Verdict(), v, err)
		}
		if _, ok := r.h.LinkPending(l); ok {
			t.Errorf("%s: still pending after use", l.Verdict())
		}
	}
	if ev := r.logged(); len(ev) != 1 {
		t.Errorf("events %+v", ev)
	}
}

// TestLinkTampered: every change to a token, and a token of another key,
// is refused as invalid.
func TestLinkTampered(t *testing.T) {
	k := testLinkKey(t, 7)
	r := newRig(t, Options{})
	p := r.beginLinked(Context{})
	tok := mustSign(t, k, p, AnswerDeny, 0)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		if _, err := k.Verify(base64.RawURLEncoding.EncodeToString(b), r.clk.Now()); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("byte %d flipped: %v", i, err)
		}
	}
	// Deny turned into approve, without the key.
	b := bytes.Clone(raw)
	b[1+nonceLen] = 'a'
	if _, err := k.Verify(base64.RawURLEncoding.EncodeToString(b), r.clk.Now()); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("deny edited into approve: %v", err)
	}
	other := testLinkKey(t, 8)
	for name, bad := range map[string]string{
		"another key":   mustSign(t, other, p, AnswerDeny, 0),
		"empty":         "",
		"truncated":     tok[:len(tok)-1],
		"longer":        tok + "A",
		"not base64url": tok[:len(tok)-1] + "=",
		"padded":        base64.URLEncoding.EncodeToString(raw),
		"std base64":    strings.NewReplacer("-", "+", "_", "/").Replace(tok),
	} {
		if bad == tok {
			continue
		}
		if _, err := k.Verify(bad, r.clk.Now()); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if r.h.Len() != 1 {
		t.Error("a refused link settled the push")
	}
}

func TestLinkExpired(t *testing.T) {
	k := testLinkKey(t, 7)
	r := newRig(t, Options{})
	p := r.beginLinked(Context{})
	tok := mustSign(t, k, p, AnswerApprove, 0)
	l, err := k.Verify(tok, r.clk.Now().Add(59*time.Second))
	if err != nil {
		t.Fatalf("just before expiry: %v", err)
	}
	if _, err := k.Verify(tok, r.clk.Now().Add(time.Minute)); !errors.Is(err, ErrLinkExpired) {
		t.Errorf("at expiry: %v", err)
	}
	// A link verified in time but used after the push expired.
	r.clk.Advance(time.Minute)
	if v, err := r.h.AnswerLink(l); !errors.Is(err, ErrExpired) || v != 0 {
		t.Errorf("AnswerLink after expiry: %v, %v", v, err)
	}
	if ev := r.logged(); len(ev) != 1 || ev[0].Verdict != TimedOut {
		t.Errorf("events %+v", ev)
	}
}

// TestLinkCannotSettleWebPush: a Web Push device's push is answered by the
// app's signature only, not by a link even with a valid MAC.
func TestLinkCannotSettleWebPush(t *testing.T) {
	k := testLinkKey(t, 7)
	r := newRig(t, Options{})
	p := r.begin("alice")
	l, err := k.Verify(mustSign(t, k, p, AnswerApprove, 0), r.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.h.LinkPending(l); ok {
		t.Error("LinkPending shows a Web Push device's push")
	}
	if v, err := r.h.AnswerLink(l); !errors.Is(err, ErrUnknown) || v != 0 {
		t.Fatalf("AnswerLink on a Web Push push: %v, %v", v, err)
	}
	if r.h.Len() != 1 || len(r.logged()) != 0 {
		t.Fatal("the Web Push push was settled")
	}
	if v, err := r.answer(p, AnswerApprove); err != nil || v != Approved {
		t.Errorf("the app's own answer after: %v, %v", v, err)
	}
	// The zero Link, not made by Verify, settles nothing either.
	p2 := r.beginLinked(Context{})
	if _, err := r.h.AnswerLink(Link{}); !errors.Is(err, ErrUnknown) {
		t.Errorf("zero Link: %v", err)
	}
	if _, err := r.h.AnswerLink(Link{nonce: p2.Nonce}); !errors.Is(err, ErrUnknown) {
		t.Errorf("a Link without a verdict: %v", err)
	}
}

// TestAnswerCannotSettleLinked: a push begun for links has no key, so no
// signed app answer settles it.
func TestAnswerCannotSettleLinked(t *testing.T) {
	r := newRig(t, Options{})
	p := r.beginLinked(Context{})
	if _, err := r.answer(p, AnswerApprove); err == nil {
		t.Fatal("a signed answer settled a linked push")
	}
	if r.h.Len() != 1 {
		t.Error("the linked push is gone")
	}
}

func TestLinkNumberMatching(t *testing.T) {
	k := testLinkKey(t, 7)
	for _, pick := range []string{"right", "wrong", "none"} {
		r := newRig(t, Options{})
		p := r.beginLinked(Context{Number: 42, Choices: []int{17, 42, 88}})
		n := map[string]int{"right": 42, "wrong": 17, "none": 0}[pick]
		l, err := k.Verify(mustSign(t, k, p, AnswerApprove, n), r.clk.Now())
		if err != nil || l.Number() != n {
			t.Fatalf("%s: %+v %v", pick, l, err)
		}
		v, err := r.h.AnswerLink(l)
		want := map[string]Verdict{"right": Approved, "wrong": Denied, "none": Denied}[pick]
		if err != nil || v != want {
			t.Errorf("%s pick: %v, %v", pick, v, err)
		}
		if ev := r.logged(); pick != "right" && ev[0].Reason != ReasonWrongNumber {
			t.Errorf("%s pick: reason %q", pick, ev[0].Reason)
		}
	}
	r := newRig(t, Options{})
	p := r.beginLinked(Context{})
	for _, bad := range []struct {
		verdict string
		number  int
	}{{"maybe", 0}, {AnswerDeny, 42}, {AnswerApprove, 9}, {AnswerApprove, 100}} {
		if _, err := k.Sign(*p, bad.verdict, bad.number); err == nil {
			t.Errorf("Sign(%q, %d) accepted", bad.verdict, bad.number)
		}
	}
	if _, err := k.Sign(Pending{Nonce: "short"}, AnswerApprove, 0); err == nil {
		t.Error("Sign of a push without a proper nonce")
	}
}

// secrets is a SecretStore in memory.
type secrets struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *secrets) ServerSecret(_ context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[name]
	if !ok {
		return nil, store.ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (s *secrets) PutServerSecretIfAbsent(_ context.Context, name string, value []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[name]; ok {
		return bytes.Clone(v), nil
	}
	s.m[name] = bytes.Clone(value)
	return bytes.Clone(value), nil
}

func TestLoadOrCreateLinkKey(t *testing.T) {
	st := &secrets{m: map[string][]byte{}}
	k1, err := LoadOrCreateLinkKey(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.m[LinkSecretName]) != 32 {
		t.Fatalf("stored key of %d bytes", len(st.m[LinkSecretName]))
	}
	k2, err := LoadOrCreateLinkKey(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, Options{})
	p := r.beginLinked(Context{})
	if _, err := k2.Verify(mustSign(t, k1, p, AnswerDeny, 0), r.clk.Now()); err != nil {
		t.Errorf("a link of the first load does not verify with the second: %v", err)
	}
	if s := k1.String(); strings.Contains(s, string(st.m[LinkSecretName])) || s != "push link key" {
		t.Errorf("String() = %q", s)
	}
	st.m[LinkSecretName] = []byte("short")
	if _, err := LoadOrCreateLinkKey(context.Background(), st); err == nil {
		t.Error("a stored key of the wrong size accepted")
	}
}

// publisher plays the ntfy server and app: it records each notice and,
// if told to, "taps" one of its buttons by verifying its link and
// answering with it, as the site's link endpoint does.
type publisher struct {
	t     *testing.T
	hub   *Hub
	key   *LinkKey
	clock *clock
	tap   string // label of the button to tap; "": none
	err   error
	mu    sync.Mutex
	got   []Notice
	topic string
}

func (p *publisher) Publish(_ context.Context, topic string, n Notice) error {
	if p.err != nil {
		return p.err
	}
	p.mu.Lock()
	p.got = append(p.got, n)
	p.topic = topic
	p.mu.Unlock()
	for _, a := range n.Actions {
		if a.Label != p.tap {
			continue
		}
		go func() {
			tok := strings.TrimPrefix(a.URL, "https://vpn.example.com"+LinkPath)
			l, err := p.key.Verify(tok, p.clock.Now())
			if err == nil {
				_, err = p.hub.AnswerLink(l)
			}
			if err != nil {
				p.t.Errorf("tap %s: %v", a.Label, err)
			}
		}()
	}
	return nil
}

func ntfyServiceFixture(t *testing.T, tap string) (*Service, *publisher, store.Enrollment) {
	t.Helper()
	clk := newClock()
	hub := NewHub(Options{Now: clk.Now})
	k := testLinkKey(t, 3)
	pub := &publisher{t: t, hub: hub, key: k, clock: clk, tap: tap}
	svc := NewService(hub, nil, ServiceOptions{Timeout: func(string) time.Duration { return 300 * time.Millisecond },
		Ntfy: pub, Links: k})
	en, _, err := NewNtfyEnrollment("alice", "ntfy", "https://vpn.example.com", clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	return svc, pub, en
}

func TestServiceNtfy(t *testing.T) {
	for tap, want := range map[string]auth.PushVerdict{"Approve": auth.PushApproved, "Deny": auth.PushDenied,
		"Deny and report": auth.PushReported, "": auth.PushTimedOut} {
		svc, pub, en := ntfyServiceFixture(t, tap)
		dev, _ := DeviceOf(en)
		w, err := svc.Push(context.Background(), en, auth.PushContext{User: "alice", Client: "vpn", NASIdentifier: "gw1",
			CallingStationID: "203.0.113.7", Time: t0})
		if err != nil {
			t.Fatalf("tap %q: %v", tap, err)
		}
		if v := awaitVerdict(t, w); v != want {
			t.Errorf("tap %q: %v; want %v", tap, v, want)
		}
		if len(pub.got) != 1 || pub.topic != dev.Topic {
			t.Fatalf("published %+v to %q", pub.got, pub.topic)
		}
		n := pub.got[0]
		var labels []string
		for _, a := range n.Actions {
			labels = append(labels, a.Label)
			if !strings.HasPrefix(a.URL, "https://vpn.example.com/approver/link/") {
				t.Errorf("action URL %s", a.URL)
			}
		}
		if strings.Join(labels, "|") != "Approve|Deny|Deny and report" {
			t.Errorf("buttons %v", labels)
		}
		for _, s := range []string{"alice", "vpn", "gw1", "203.0.113.7", "2026-03-01 09:14:00 UTC"} {
			if !strings.Contains(n.Message, s) {
				t.Errorf("message %q lacks %q", n.Message, s)
			}
		}
	}
}

func TestServiceNtfyNumbered(t *testing.T) {
	svc, pub, en := ntfyServiceFixture(t, "")
	w, number, err := svc.PushNumbered(context.Background(), en, auth.PushContext{User: "alice", Time: t0})
	if err != nil {
		t.Fatal(err)
	}
	n := pub.got[0]
	if len(n.Actions) != 3 || !strings.Contains(n.Message, "Tap the number shown") {
		t.Errorf("notice %+v", n)
	}
	for _, a := range n.Actions {
		if _, err := strconv.Atoi(a.Label); err != nil {
			t.Errorf("a numbered push has the button %q: only numbers fit", a.Label)
		}
	}
	found := false
	for _, a := range n.Actions {
		if a.Label == strconv.Itoa(number) {
			found = true
			l, err := pub.key.Verify(strings.TrimPrefix(a.URL, "https://vpn.example.com"+LinkPath), pub.clock.Now())
			if err != nil || l.Number() != number {
				t.Fatalf("the right button: %+v %v", l, err)
			}
			if _, err := svc.Hub().AnswerLink(l); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !found {
		t.Fatalf("no button for %d among %+v", number, n.Actions)
	}
	if v := w.Wait(context.Background()); v != auth.PushApproved {
		t.Errorf("right number: %v", v)
	}
}

func TestServiceNtfyUndelivered(t *testing.T) {
	svc, pub, en := ntfyServiceFixture(t, "Approve")
	pub.err = errors.New("ntfy: server 127.0.0.1:1: status 403 Forbidden")
	for range 5 {
		if _, err := svc.Push(context.Background(), en, auth.PushContext{User: "alice"}); !errors.Is(err, auth.ErrPushUnavailable) {
			t.Fatalf("undelivered: %v", err)
		}
	}
	if svc.Hub().Len() != 0 || svc.Hub().Suspended("alice") {
		t.Error("undelivered ntfy pushes stay pending or suspend the user")
	}
	// Without ntfy configured, an ntfy device gets no push.
	bare := NewService(NewHub(Options{}), nil, ServiceOptions{})
	if _, err := bare.Push(context.Background(), en, auth.PushContext{User: "alice"}); !errors.Is(err, auth.ErrPushUnavailable) {
		t.Errorf("ntfy not configured: %v", err)
	}
	if bare.Hub().Len() != 0 {
		t.Error("a push was begun without ntfy")
	}
}
