package radiusd

import (
	"bytes"
	"context"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"radiusmfa/auth"
	"radiusmfa/radiusd/radiustest"
)

// answerLater is a push whose verdict the test gives.
type answerLater struct{ v chan auth.PushVerdict }

func newAnswerLater() answerLater { return answerLater{v: make(chan auth.PushVerdict, 1)} }

func (a answerLater) Wait(ctx context.Context) auth.PushVerdict {
	select {
	case v := <-a.v:
		return v
	case <-ctx.Done():
		return auth.PushTimedOut
	}
}

func (a answerLater) Then(ctx context.Context, fn func(auth.PushVerdict)) {
	go func() { fn(a.Wait(ctx)) }()
}

// pushDecider answers "push" users with a Pending decision waiting on the
// answerLater of their name; everyone else is accepted at once.
func pushDecider(pushes map[string]answerLater) *fakeDecider {
	dec := &fakeDecider{}
	dec.fn = func(_ context.Context, r auth.Request) auth.Decision {
		d := auth.Decision{User: r.UserName}
		w, ok := pushes[r.UserName]
		if !ok {
			d.Outcome, d.Reason, d.Factor = auth.Accept, auth.ReasonOK, "totp"
			return d
		}
		return auth.Awaiting(d, w, func(_ context.Context, v auth.PushVerdict) auth.Decision {
			if v == auth.PushApproved {
				d.Outcome, d.Reason, d.Factor, d.Message = auth.Accept, auth.ReasonOK, auth.KindPush, "Welcome"
			} else {
				d.Outcome, d.Reason, d.Message = auth.Reject, auth.ReasonPushTimedOut, auth.MsgPushTimedOut
			}
			return d
		})
	}
	return dec
}

// A login waiting on a push holds no in-flight slot and no handler: with
// one slot, another login is answered meanwhile. Its retransmissions are
// dropped, never decided again; the answer's reply is signed for the
// original request and echoes its Proxy-State.
func TestHeldRequestAnsweredLater(t *testing.T) {
	alice := newAnswerLater()
	dec := pushDecider(map[string]answerLater{"alice": alice})
	cfg := testConfig()
	cfg.MaxInFlight = 1
	ts := startServer(t, &cfg, dec)

	c := dial(t, ts.authAddr)
	p := newRequest("alice")
	p.Add(rfc2865.ProxyState_Type, radius.Attribute("proxy-one"))
	p.Add(rfc2865.ProxyState_Type, radius.Attribute("proxy-two"))
	b := encode(t, p, true)
	c.Send(b)
	eventually(t, "held", func() bool { return metric(t, ts.reg, "radiusmfa_held") == 1 })
	if n := metric(t, ts.reg, "radiusmfa_in_flight"); n != 0 {
		t.Errorf("in_flight while held = %v, want 0", n)
	}
	expectNoReply(t, c)

	// The only in-flight slot is free: bob is answered now.
	if reply, _ := ts.exchange(t, ts.authAddr, newRequest("bob"), true); reply.Code != radius.CodeAccessAccept {
		t.Fatalf("bob beside a held login: %v", reply.Code)
	}
	c.Send(b) // a retransmission while held
	eventually(t, "pending drop", func() bool { return dropped(t, ts, "duplicate_pending") == 1 })

	alice.v <- auth.PushApproved
	raw := receive(t, c)
	if err := radiustest.VerifyResponse(raw, b[4:20], []byte(testSecret)); err != nil {
		t.Fatalf("reply to the held request: %v", err)
	}
	reply, err := radius.Parse(raw, []byte(testSecret))
	if err != nil || reply.Code != radius.CodeAccessAccept || reply.Identifier != b[1] {
		t.Fatalf("reply %v (identifier %d, want %d): %v", reply.Code, reply.Identifier, b[1], err)
	}
	var proxy [][]byte
	for _, a := range reply.Attributes {
		if a.Type == rfc2865.ProxyState_Type {
			proxy = append(proxy, a.Attribute)
		}
	}
	if len(proxy) != 2 || string(proxy[0]) != "proxy-one" || string(proxy[1]) != "proxy-two" {
		t.Errorf("Proxy-State echoed: %q", proxy)
	}
	c.Send(b) // after the answer: the cached reply
	if again := receive(t, c); !bytes.Equal(again, raw) {
		t.Error("a retransmission after the answer got other bytes")
	}
	if n := dec.calls.Load(); n != 2 {
		t.Errorf("Decide called %d times, want 2 (alice once, bob once)", n)
	}
	eventually(t, "held released", func() bool { return metric(t, ts.reg, "radiusmfa_held") == 0 })
	eventually(t, "audited", func() bool {
		for _, r := range ts.audit.records() {
			if r.User == "alice" && r.Outcome == "accept" && r.Factor == auth.KindPush {
				return true
			}
		}
		return false
	})
	if n := metric(t, ts.reg, "radiusmfa_decisions_total", "outcome", "accept"); n != 2 {
		t.Errorf("accept decisions = %v, want 2", n)
	}
}

// Shutdown waits for a held login; when its deadline comes first, the
// login's wait ends (a timeout) and the NAS still gets the reply before the
// sockets close.
func TestShutdownAnswersHeldRequests(t *testing.T) {
	alice := newAnswerLater()
	ts := startServer(t, nil, pushDecider(map[string]answerLater{"alice": alice}))
	c := dial(t, ts.authAddr)
	b := encode(t, newRequest("alice"), true)
	c.Send(b)
	eventually(t, "held", func() bool { return metric(t, ts.reg, "radiusmfa_held") == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); err == nil {
		t.Error("Shutdown returned before the held login ended")
	}
	raw := receive(t, c)
	if err := radiustest.VerifyResponse(raw, b[4:20], []byte(testSecret)); err != nil || radius.Code(raw[0]) != radius.CodeAccessReject {
		t.Fatalf("reply after the shutdown deadline: code %d, %v", raw[0], err)
	}
	<-ts.done
}
