package push

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// rig is a Hub on a settable clock, one device key and a log of events.
type rig struct {
	t   *testing.T
	h   *Hub
	clk *clock
	key *ecdsa.PrivateKey

	mu     sync.Mutex
	events []Event
}

func newRig(t *testing.T, o Options) *rig {
	r := &rig{t: t, clk: newClock(), key: newKey(t)}
	if o.Now == nil {
		o.Now = r.clk.Now
	}
	o.OnEvent = func(ev Event) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events = append(r.events, ev)
	}
	r.h = NewHub(o)
	return r
}

func (r *rig) begin(user string) *Pending {
	r.t.Helper()
	p, err := r.h.Begin(user, "dev-"+user, &r.key.PublicKey, Context{Client: "vpn-gw1", CallingStationID: "203.0.113.7"}, time.Minute)
	if err != nil {
		r.t.Fatalf("Begin(%s): %v", user, err)
	}
	return p
}

func (r *rig) answer(p *Pending, verdict string) (Verdict, error) {
	r.t.Helper()
	return r.h.Answer(answer(r.t, r.key, *p, verdict, r.clk.Now()))
}

func (r *rig) logged() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// waitAsync starts the login's wait and returns where its verdict arrives.
func (r *rig) waitAsync(ctx context.Context, p *Pending) <-chan Verdict {
	ch := make(chan Verdict, 1)
	go func() { ch <- r.h.Wait(ctx, p) }()
	return ch
}

func TestBegin(t *testing.T) {
	r := newRig(t, Options{})
	p := r.begin("alice")
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`).MatchString(p.Nonce) {
		t.Errorf("nonce %q is not 16 bytes of base64url", p.Nonce)
	}
	if p.User != "alice" || p.DeviceID != "dev-alice" || p.Context.User != "alice" ||
		!p.Context.Time.Equal(t0) || !p.Expires.Equal(t0.Add(time.Minute)) || p.Context.Client != "vpn-gw1" {
		t.Errorf("unexpected pending %+v", p)
	}
	if q := r.begin("alice"); q.Nonce == p.Nonce {
		t.Error("two pushes share a nonce")
	}
	if r.h.Len() != 2 {
		t.Errorf("Len = %d, want 2", r.h.Len())
	}
}

func TestBeginRefusesBadArguments(t *testing.T) {
	r := newRig(t, Options{})
	pub := &r.key.PublicKey
	cases := map[string]func() (*Pending, error){
		"no user":    func() (*Pending, error) { return r.h.Begin("", "d", pub, Context{}, time.Minute) },
		"no device":  func() (*Pending, error) { return r.h.Begin("alice", "", pub, Context{}, time.Minute) },
		"no key":     func() (*Pending, error) { return r.h.Begin("alice", "d", nil, Context{}, time.Minute) },
		"zero ttl":   func() (*Pending, error) { return r.h.Begin("alice", "d", pub, Context{}, 0) },
		"other user": func() (*Pending, error) { return r.h.Begin("alice", "d", pub, Context{User: "bob"}, time.Minute) },
		"number 9":   func() (*Pending, error) { return r.h.Begin("alice", "d", pub, Context{Number: 9}, time.Minute) },
		"number 100": func() (*Pending, error) { return r.h.Begin("alice", "d", pub, Context{Number: 100}, time.Minute) },
		"no number": func() (*Pending, error) {
			return r.h.Begin("alice", "d", pub, Context{Choices: []int{1, 2, 3}}, time.Minute)
		},
		"2 choices": func() (*Pending, error) {
			return r.h.Begin("alice", "d", pub, Context{Number: 42, Choices: []int{42, 17}}, time.Minute)
		},
		"missing": func() (*Pending, error) {
			return r.h.Begin("alice", "d", pub, Context{Number: 42, Choices: []int{41, 17, 23}}, time.Minute)
		},
		"repeated": func() (*Pending, error) {
			return r.h.Begin("alice", "d", pub, Context{Number: 42, Choices: []int{42, 17, 17}}, time.Minute)
		},
		"out of range": func() (*Pending, error) {
			return r.h.Begin("alice", "d", pub, Context{Number: 42, Choices: []int{42, 17, 100}}, time.Minute)
		},
		"broken random": func() (*Pending, error) {
			return NewHub(Options{Rand: strings.NewReader("")}).Begin("alice", "d", pub, Context{}, time.Minute)
		},
	}
	for name, begin := range cases {
		if p, err := begin(); err == nil {
			t.Errorf("%s: Begin accepted: %+v", name, p)
		}
	}
	if r.h.Len() != 0 {
		t.Errorf("Len = %d after refusals", r.h.Len())
	}
}

func TestApproveWakesWaiterAtOnce(t *testing.T) {
	r := newRig(t, Options{Now: time.Now})
	p, err := r.h.Begin("alice", "d1", &r.key.PublicKey, Context{}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := r.waitAsync(context.Background(), p)
	time.Sleep(20 * time.Millisecond) // let the waiter block
	start := time.Now()
	if v, err := r.h.Answer(answer(t, r.key, *p, AnswerApprove, time.Now())); v != Approved || err != nil {
		t.Fatalf("Answer = %v, %v", v, err)
	}
	select {
	case v := <-got:
		if v != Approved {
			t.Fatalf("Wait = %v, want approved", v)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("waiter woke %v after the answer", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiter still blocked 10s after the answer (ttl 30s)")
	}
	if r.h.Len() != 0 {
		t.Errorf("Len = %d after the verdict", r.h.Len())
	}
}

func TestAnswerBeforeWait(t *testing.T) {
	r := newRig(t, Options{})
	p := r.begin("alice")
	if v, err := r.answer(p, AnswerApprove); v != Approved || err != nil {
		t.Fatalf("Answer = %v, %v", v, err)
	}
	if v := r.h.Wait(context.Background(), p); v != Approved {
		t.Errorf("Wait after the answer = %v", v)
	}
}

func TestDeny(t *testing.T) {
	r := newRig(t, Options{})
	p := r.begin("alice")
	got := r.waitAsync(context.Background(), p)
	if v, err := r.answer(p, AnswerDeny); v != Denied || err != nil {
		t.Fatalf("Answer = %v, %v", v, err)
	}
	if v := <-got; v != Denied {
		t.Errorf("Wait = %v", v)
	}
	if r.h.Suspended("alice") {
		t.Error("one denial suspended push")
	}
	ev := r.logged()
	if len(ev) != 1 || ev[0].Verdict != Denied || ev[0].User != "alice" || ev[0].Nonce != p.Nonce || ev[0].Suspended || ev[0].Context.Client != "vpn-gw1" {
		t.Errorf("events %+v", ev)
	}
}

func TestReportSuspends(t *testing.T) {
	r := newRig(t, Options{})
	p := r.begin("alice")
	other := r.begin("alice")
	otherWait := r.waitAsync(context.Background(), other)
	if v, err := r.answer(p, AnswerReport); v != Reported || err != nil {
		t.Fatalf("Answer = %v, %v", v, err)
	}
	if v := r.h.Wait(context.Background(), p); v != Reported {
		t.Errorf("Wait = %v", v)
	}
	if !r.h.Suspended("alice") {
		t.Fatal("report did not suspend push")
	}
	if v := <-otherWait; v != Cancelled {
		t.Errorf("the other pending push ended %v, want cancelled", v)
	}
	if _, err := r.h.Begin("alice", "d", &r.key.PublicKey, Context{}, time.Minute); !errors.Is(err, ErrSuspended) {
		t.Errorf("Begin while suspended: %v", err)
	}
	ev := r.logged()
	if len(ev) != 2 || ev[0].Verdict != Reported || !ev[0].Suspended || ev[1].Verdict != Cancelled || ev[1].Reason != ReasonSuspended || ev[1].Nonce != other.Nonce {
		t.Errorf("events %+v", ev)
	}
}

func TestTimeout(t *testing.T) {
	r := newRig(t, Options{Now: time.Now})
	p, err := r.h.Begin("alice", "d1", &r.key.PublicKey, Context{}, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if v := r.h.Wait(context.Background(), p); v != TimedOut {
		t.Errorf("Wait = %v", v)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("timed out after %v, before the ttl", d)
	}
	if _, err := r.h.Answer(answer(t, r.key, *p, AnswerApprove, time.Now())); !errors.Is(err, ErrUnknown) {
		t.Errorf("answer after the timeout: %v", err)
	}
	if ev := r.logged(); len(ev) != 1 || ev[0].Verdict != TimedOut {
		t.Errorf("events %+v", ev)
	}
}

func TestWaitContextCancelled(t *testing.T) {
	r := newRig(t, Options{Now: time.Now})
	p, err := r.h.Begin("alice", "d1", &r.key.PublicKey, Context{}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if v := r.h.Wait(ctx, p); v != TimedOut {
		t.Errorf("Wait = %v", v)
	}
	if r.h.Len() != 0 {
		t.Errorf("Len = %d after the waiter gave up", r.h.Len())
	}
	if _, err := r.h.Answer(answer(t, r.key, *p, AnswerApprove, time.Now())); !errors.Is(err, ErrUnknown) {
		t.Errorf("answer after the waiter gave up: %v", err)
	}
}

func TestReplayedAnswer(t *testing.T) {
	r := newRig(t, Options{})
	p := r.begin("alice")
	a := answer(t, r.key, *p, AnswerApprove, r.clk.Now())
	if v, err := r.h.Answer(a); v != Approved || err != nil {
		t.Fatalf("Answer = %v, %v", v, err)
	}
	if v, err := r.h.Answer(a); !errors.Is(err, ErrUnknown) || v != 0 {
		t.Errorf("replayed answer: %v, %v", v, err)
	}
	// Nor does it approve the user's next push: the nonce is signed.
	q := r.begin("alice")
	a.Nonce = q.Nonce
	if _, err := r.h.Answer(a); !errors.Is(err, ErrBadSignature) {
		t.Errorf("answer moved to another push: %v", err)
	}
}

func TestAnswerWithAnotherDevicesKey(t *testing.T) {
	r := newRig(t, Options{})
	p := r.begin("alice")
	if _, err := r.h.Answer(answer(t, newKey(t), *p, AnswerApprove, r.clk.Now())); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other key: %v", err)
	}
	a := answer(t, r.key, *p, AnswerApprove, r.clk.Now())
	a.Signature[5] ^= 1
	if _, err := r.h.Answer(a); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("bad signature: %v", err)
	}
	// A forged answer leaves the push to its device.
	if v, err := r.answer(p, AnswerApprove); v != Approved || err != nil {
		t.Errorf("device's answer after forgeries: %v, %v", v, err)
	}
}

func TestAnswerForAnotherUsersPush(t *testing.T) {
	r := newRig(t, Options{})
	p := r.begin("alice")
	forged := *p
	forged.User = "mallory" // mallory's own app signs for alice's nonce
	if _, err := r.h.Answer(answer(t, r.key, forged, AnswerApprove, r.clk.Now())); !errors.Is(err, ErrUnknown) {
		t.Errorf("answer naming another user: %v", err)
	}
	if _, ok := r.h.Get(p.Nonce, "mallory"); ok {
		t.Error("Get showed alice's push to mallory")
	}
	if got := r.h.PendingFor("mallory"); len(got) != 0 {
		t.Errorf("PendingFor(mallory) = %+v", got)
	}
	if v, err := r.answer(p, AnswerApprove); v != Approved || err != nil {
		t.Errorf("alice's answer: %v, %v", v, err)
	}
}

func TestExpiredPush(t *testing.T) {
	r := newRig(t, Options{})
	p := r.begin("alice")
	r.clk.Advance(time.Minute)
	if _, ok := r.h.Get(p.Nonce, "alice"); ok {
		t.Error("Get showed an expired push")
	}
	if v, err := r.answer(p, AnswerApprove); !errors.Is(err, ErrExpired) || v != 0 {
		t.Errorf("answer to an expired push: %v, %v", v, err)
	}
	if v := r.h.Wait(context.Background(), p); v != TimedOut {
		t.Errorf("Wait = %v", v)
	}
	if _, err := r.answer(p, AnswerApprove); !errors.Is(err, ErrUnknown) {
		t.Errorf("second answer: %v", err)
	}
}

func TestClockSkew(t *testing.T) {
	r := newRig(t, Options{ClockSkew: 2 * time.Minute})
	for _, c := range []struct {
		skew time.Duration
		ok   bool
	}{{2 * time.Minute, true}, {-2 * time.Minute, true}, {2*time.Minute + time.Second, false}, {-2*time.Minute - time.Second, false}, {-time.Hour, false}} {
		p := r.begin("u" + c.skew.String())
		_, err := r.h.Answer(answer(t, r.key, *p, AnswerDeny, r.clk.Now().Add(c.skew)))
		if c.ok != (err == nil) {
			t.Errorf("skew %v: %v", c.skew, err)
		}
		if !c.ok && !errors.Is(err, ErrClockSkew) {
			t.Errorf("skew %v: %v, want ErrClockSkew", c.skew, err)
		}
	}
	p := r.begin("zero")
	a := answer(t, r.key, *p, AnswerApprove, r.clk.Now())
	a.Time = time.Time{}
	if _, err := r.h.Answer(a); !errors.Is(err, ErrClockSkew) {
		t.Errorf("zero time: %v", err)
	}
}

func TestBadAnswerWord(t *testing.T) {
	r := newRig(t, Options{})
	p := r.begin("alice")
	for _, w := range []string{"", "Approve", "approve ", "yes"} {
		if _, err := r.h.Answer(answer(t, r.key, *p, w, r.clk.Now())); !errors.Is(err, ErrBadAnswer) {
			t.Errorf("verdict %q: %v", w, err)
		}
	}
}

func TestNumberMatching(t *testing.T) {
	r := newRig(t, Options{})
	begin := func() *Pending {
		p, err := r.h.Begin("alice", "d1", &r.key.PublicKey, Context{Number: 42}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := begin()
	if len(p.Context.Choices) != NumChoices || !slices.Contains(p.Context.Choices, 42) {
		t.Fatalf("choices %v", p.Context.Choices)
	}
	for i, c := range p.Context.Choices {
		if c < MinNumber || c > MaxNumber || slices.Contains(p.Context.Choices[:i], c) {
			t.Fatalf("choices %v", p.Context.Choices)
		}
	}
	// The app is shown the choices, never the number itself.
	shown, _ := r.h.Get(p.Nonce, "alice")
	js, _ := json.Marshal(shown)
	if strings.Contains(string(js), `"number"`) || !strings.Contains(string(js), `"choices"`) {
		t.Errorf("the app sees %s", js)
	}

	// The pick is signed: a number put on an answer signed without it
	// (or changed after signing) does not verify.
	a := answer(t, r.key, *p, AnswerApprove, r.clk.Now())
	a.Number = 42
	if v, err := r.h.Answer(a); v != 0 || !errors.Is(err, ErrBadSignature) {
		t.Errorf("number not covered by the signature: %v, %v", v, err)
	}
	a = numbered(t, r.key, *p, 17, r.clk.Now())
	a.Number = 42
	if v, err := r.h.Answer(a); v != 0 || !errors.Is(err, ErrBadSignature) {
		t.Errorf("number changed after signing: %v, %v", v, err)
	}
	if v, err := r.h.Answer(numbered(t, r.key, *p, 42, r.clk.Now())); v != Approved || err != nil {
		t.Errorf("right number: %v, %v", v, err)
	}
	for _, pick := range []int{0, 17} {
		p := begin()
		a := answer(t, r.key, *p, AnswerApprove, r.clk.Now())
		if pick != 0 {
			a = numbered(t, r.key, *p, pick, r.clk.Now())
		}
		if v, err := r.h.Answer(a); v != Denied || err != nil {
			t.Errorf("number %d: %v, %v", pick, v, err)
		}
		if v := r.h.Wait(context.Background(), p); v != Denied {
			t.Errorf("Wait = %v", v)
		}
		if ev := r.logged(); ev[len(ev)-1].Reason != ReasonWrongNumber || ev[len(ev)-1].Suspended {
			t.Errorf("event %+v", ev[len(ev)-1])
		}
	}
	// Denial with any number is a denial; two wrong numbers and it make three.
	p = begin()
	if v, err := r.answer(p, AnswerDeny); v != Denied || err != nil {
		t.Errorf("deny: %v, %v", v, err)
	}
	if !r.h.Suspended("alice") {
		t.Error("wrong numbers were not counted as denials")
	}
	// Choices given by the caller are kept.
	q, err := r.h.Begin("bob", "d", &r.key.PublicKey, Context{Number: 42, Choices: []int{17, 42, 99}}, time.Minute)
	if err != nil || !slices.Equal(q.Context.Choices, []int{17, 42, 99}) {
		t.Errorf("given choices: %+v, %v", q, err)
	}
}

func TestPickNumber(t *testing.T) {
	seen := map[int]bool{}
	for range 2000 {
		n, err := PickNumber(nil)
		if err != nil || n < MinNumber || n > MaxNumber {
			t.Fatalf("PickNumber = %d, %v", n, err)
		}
		seen[n] = true
	}
	if len(seen) < 80 {
		t.Errorf("only %d numbers drawn in 2000", len(seen))
	}
	if _, err := PickNumber(strings.NewReader("")); err == nil {
		t.Error("PickNumber from an empty source")
	}
}

func TestGetAndPendingFor(t *testing.T) {
	r := newRig(t, Options{})
	p1 := r.begin("alice")
	r.clk.Advance(time.Second)
	p2 := r.begin("alice")
	r.begin("bob")
	got, ok := r.h.Get(p1.Nonce, "alice")
	if !ok || got.Nonce != p1.Nonce || got.DeviceID != "dev-alice" {
		t.Errorf("Get = %+v, %v", got, ok)
	}
	if _, ok := r.h.Get("no-such-nonce", "alice"); ok {
		t.Error("Get of an unknown nonce")
	}
	ps := r.h.PendingFor("alice")
	if len(ps) != 2 || ps[0].Nonce != p1.Nonce || ps[1].Nonce != p2.Nonce {
		t.Errorf("PendingFor = %+v", ps)
	}
	r.clk.Advance(time.Minute - time.Second)
	if ps := r.h.PendingFor("alice"); len(ps) != 1 || ps[0].Nonce != p2.Nonce {
		t.Errorf("PendingFor after p1 expired = %+v", ps)
	}
	// Copies: changing them changes nothing in the Hub.
	ps[0].Context.Client = "x"
	if again, _ := r.h.Get(p2.Nonce, "alice"); again.Context.Client != "vpn-gw1" {
		t.Error("PendingFor returned a shared value")
	}
	// A copy, not the value Begin gave, cannot be waited on.
	if v := r.h.Wait(context.Background(), &Pending{Nonce: p2.Nonce, User: "bob"}); v != TimedOut {
		t.Errorf("Wait on a forged pending = %v", v)
	}
}

// TestInvariantPendingHoldsNoKey: what the app is shown carries neither the
// device key nor the subscription.
func TestInvariantPendingHoldsNoKey(t *testing.T) {
	r := newRig(t, Options{})
	p := r.begin("alice")
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"key", "subscription", "endpoint", "auth", "p256dh", `"X"`} {
		if strings.Contains(strings.ToLower(string(js)), strings.ToLower(s)) {
			t.Errorf("pending JSON mentions %s: %s", s, js)
		}
	}
}
