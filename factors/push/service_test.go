package push

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"radiusmfa/auth"
)

// phone is a Sender that plays the approver app: it reads the payload and
// answers with a signed verdict, as the app does.
type phone struct {
	t       *testing.T
	hub     *Hub
	key     *ecdsa.PrivateKey
	clock   *clock
	verdict string // "" sends nothing back (the user ignores the push)
	err     error
	mu      sync.Mutex
	got     []Payload
}

func (p *phone) Send(_ context.Context, _ Subscription, payload []byte) error {
	if p.err != nil {
		return p.err
	}
	var pl Payload
	if err := json.Unmarshal(payload, &pl); err != nil {
		p.t.Errorf("payload: %v", err)
		return err
	}
	p.mu.Lock()
	p.got = append(p.got, pl)
	p.mu.Unlock()
	if p.verdict == "" {
		return nil
	}
	go func() {
		pend, ok := p.hub.Get(pl.Nonce, pl.User)
		if !ok {
			p.t.Errorf("the pushed nonce is not pending")
			return
		}
		if _, err := p.hub.Answer(answer(p.t, p.key, pend, p.verdict, p.clock.Now())); err != nil {
			p.t.Errorf("answer: %v", err)
		}
	}()
	return nil
}

func serviceFixture(t *testing.T, verdict string) (*Service, *phone, func(string) auth.PushVerdict) {
	t.Helper()
	clk := newClock()
	hub := NewHub(Options{Now: clk.Now})
	key := newKey(t)
	ph := &phone{t: t, hub: hub, key: key, clock: clk, verdict: verdict}
	svc := NewService(hub, ph, ServiceOptions{Timeout: func(string) time.Duration { return 200 * time.Millisecond }})
	en, err := NewEnrollment("alice", "Pixel 7", &key.PublicKey, testSubscription(t), clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	push := func(client string) auth.PushVerdict {
		t.Helper()
		w, err := svc.Push(context.Background(), en, auth.PushContext{User: "alice", Client: client, NASIdentifier: "gw1", Time: clk.Now()})
		if err != nil {
			t.Fatalf("Push: %v", err)
		}
		return awaitVerdict(t, w)
	}
	return svc, ph, push
}

// awaitVerdict waits on w the way the RADIUS server does: Then, with no
// goroutine blocked meanwhile.
func awaitVerdict(t *testing.T, w auth.PushWait) auth.PushVerdict {
	t.Helper()
	got := make(chan auth.PushVerdict, 1)
	w.Then(context.Background(), func(v auth.PushVerdict) { got <- v })
	select {
	case v := <-got:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("Then never called back")
		return 0
	}
}

func TestServiceVerdicts(t *testing.T) {
	for verdict, want := range map[string]auth.PushVerdict{AnswerApprove: auth.PushApproved, AnswerDeny: auth.PushDenied,
		AnswerReport: auth.PushReported, "": auth.PushTimedOut} {
		_, ph, push := serviceFixture(t, verdict)
		if got := push("vpn"); got != want {
			t.Errorf("app answers %q: verdict %d, want %d", verdict, got, want)
		}
		if len(ph.got) != 1 || ph.got[0].User != "alice" || ph.got[0].Context.NASIdentifier != "gw1" || ph.got[0].Nonce == "" {
			t.Errorf("payload %+v", ph.got)
		}
	}
}

func TestServiceDeliveryFailures(t *testing.T) {
	svc, ph, _ := serviceFixture(t, AnswerApprove)
	var gone []string
	svc.o.Gone = func(user, id string) { gone = append(gone, user+"/"+id) }
	key := newKey(t)
	en, _ := NewEnrollment("alice", "old phone", &key.PublicKey, testSubscription(t), time.Now())
	en.ID = "dev1"
	ph.err = fmt.Errorf("push service: status 410: %w", ErrGone)
	_, err := svc.Push(context.Background(), en, auth.PushContext{User: "alice"})
	if !errors.Is(err, auth.ErrPushUnavailable) || len(gone) != 1 || gone[0] != "alice/dev1" {
		t.Fatalf("gone subscription: %v, gone %v", err, gone)
	}
	if svc.Hub().Len() != 0 {
		t.Errorf("an undelivered push stays pending")
	}
	// Undelivered pushes count toward no suspension.
	for range 5 {
		svc.Push(context.Background(), en, auth.PushContext{User: "alice"})
	}
	if svc.Hub().Suspended("alice") {
		t.Error("undelivered pushes suspended the user")
	}
}

func TestServiceRateLimitIsUnavailable(t *testing.T) {
	clk := newClock()
	hub := NewHub(Options{Now: clk.Now, PerWindow: 1, Window: time.Hour})
	key := newKey(t)
	svc := NewService(hub, &phone{t: t, hub: hub, key: key, clock: clk, verdict: AnswerApprove},
		ServiceOptions{Timeout: func(string) time.Duration { return time.Second }})
	en, _ := NewEnrollment("alice", "Pixel", &key.PublicKey, testSubscription(t), clk.Now())
	w, err := svc.Push(context.Background(), en, auth.PushContext{User: "alice"})
	if err != nil {
		t.Fatalf("first push: %v", err)
	}
	if v := w.Wait(context.Background()); v != auth.PushApproved {
		t.Fatalf("first push: %v", v)
	}
	if _, err := svc.Push(context.Background(), en, auth.PushContext{User: "alice"}); !errors.Is(err, auth.ErrPushUnavailable) {
		t.Fatalf("second push in the window: %v", err)
	}
}

// A numbered push carries the choices, never the number; the login waits
// on it after showing the number, and only the right pick approves.
func TestServiceNumbered(t *testing.T) {
	for _, right := range []bool{true, false} {
		svc, ph, _ := serviceFixture(t, "")
		en, err := NewEnrollment("alice", "Pixel 7", &ph.key.PublicKey, testSubscription(t), ph.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		w, n, err := svc.PushNumbered(context.Background(), en, auth.PushContext{User: "alice", Client: "vpn", Time: ph.clock.Now()})
		if err != nil || n < MinNumber || n > MaxNumber {
			t.Fatalf("PushNumbered: %d %v", n, err)
		}
		pl := ph.got[0]
		if len(pl.Context.Choices) != NumChoices || !slices.Contains(pl.Context.Choices, n) {
			t.Fatalf("choices %v do not offer %d", pl.Context.Choices, n)
		}
		raw, _ := json.Marshal(pl)
		if strings.Contains(string(raw), `"number"`) {
			t.Fatalf("the payload carries the number: %s", raw)
		}
		pick := n
		if !right {
			pick = slices.IndexFunc(pl.Context.Choices, func(c int) bool { return c != n })
			pick = pl.Context.Choices[pick]
		}
		pend, _ := svc.Hub().Get(pl.Nonce, "alice")
		a := numbered(t, ph.key, pend, pick, ph.clock.Now())
		if _, err := svc.Hub().Answer(a); err != nil {
			t.Fatal(err)
		}
		want := auth.PushApproved
		if !right {
			want = auth.PushDenied
		}
		if got := w.Wait(context.Background()); got != want {
			t.Errorf("pick right=%v: verdict %d, want %d", right, got, want)
		}
	}
}

// What a NAS sends is shown on one line: no forged second line, no
// reordered text, no endless string.
func TestDisplayText(t *testing.T) {
	for in, want := range map[string]string{
		"vpn-gw1":                       "vpn-gw1",
		"gw\nFrom: 10.0.0.1\r\nAt: now": "gw From: 10.0.0.1  At: now",
		"a\u2028b\u2029c":               "a b c",
		"evil\u202Egnp.exe":             "evil gnp.exe",
		"\u2066x\u2069\u200F":           " x  ",
		"bad\xffutf8":                   "bad\uFFFDutf8",
		strings.Repeat("é", 100):        strings.Repeat("é", 64),
	} {
		if got := displayText(in); got != want {
			t.Errorf("displayText(%q) = %q, want %q", in, got, want)
		}
	}
}
