package enrollment

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"radiusmfa/auth"
	"radiusmfa/factors/push"
)

func TestApproverPending(t *testing.T) {
	ps := newPushSite(t)
	ph, alice := ps.pairedPhone("alice")
	second := newPhone(t)
	ps.pair(second, ps.pairToken(alice), "tablet")
	bob, _ := ps.pairedPhone("bob")

	p := ps.begin(ph)
	ps.begin(bob)

	list := func(what string, body map[string]any, status int) []push.Pending {
		t.Helper()
		w := ps.postJSON("/approver/pending", body)
		wantStatus(t, w, status, what)
		var res struct{ Pending []push.Pending }
		_ = json.Unmarshal(w.Body.Bytes(), &res)
		return res.Pending
	}
	got := list("valid", ph.listRequest(t, ps.clock()), http.StatusOK)
	if len(got) != 1 || got[0].Nonce != p.Nonce || got[0].User != "alice" || got[0].DeviceID != ph.device ||
		got[0].Context.CallingStationID != "203.0.113.7" || got[0].Context.Client != "vpn-gw" {
		t.Fatalf("pending %+v", got)
	}
	// The other device of alice's has nothing pending: the push went to ph.
	if got := list("alice's tablet", second.listRequest(t, ps.clock()), http.StatusOK); len(got) != 0 {
		t.Errorf("the tablet lists %+v", got)
	}
	// The app's clock may be off by up to two minutes.
	list("a minute slow", ph.listRequest(t, ps.clock().Add(-time.Minute)), http.StatusOK)

	req := ph.listRequest(t, ps.clock())
	req["signature"] = ph.sign(t, "something else")
	list("bad signature", req, http.StatusForbidden)
	req["signature"] = "not base64!"
	list("not base64", req, http.StatusForbidden)
	req["signature"] = ""
	list("no signature", req, http.StatusForbidden)

	// ph's device named, signed by the tablet's key.
	req = second.listRequest(t, ps.clock())
	req["device"] = ph.device
	req["signature"] = second.sign(t, "radiusmfa-list-v1\nalice\n"+ph.device+"\n"+strconv.FormatInt(req["time"].(int64), 10))
	list("another device's key", req, http.StatusForbidden)

	// bob's device claimed as alice's, and alice's as bob's.
	req = bob.listRequest(t, ps.clock())
	req["user"] = "alice"
	req["signature"] = bob.sign(t, "radiusmfa-list-v1\nalice\n"+bob.device+"\n"+strconv.FormatInt(req["time"].(int64), 10))
	list("bob's device as alice's", req, http.StatusForbidden)
	req = ph.listRequest(t, ps.clock())
	req["user"] = "bob"
	req["signature"] = ph.sign(t, "radiusmfa-list-v1\nbob\n"+ph.device+"\n"+strconv.FormatInt(req["time"].(int64), 10))
	list("alice's device as bob's", req, http.StatusForbidden)
	req["user"] = "nobody"
	list("an unknown user", req, http.StatusForbidden)

	list("stale", ph.listRequest(t, ps.clock().Add(-3*time.Minute)), http.StatusForbidden)
	list("from the future", ph.listRequest(t, ps.clock().Add(3*time.Minute)), http.StatusForbidden)

	// A disabled device lists nothing.
	if err := ps.svc.SetDeviceDisabled(local(), "alice", ph.device, true); err != nil {
		t.Fatal(err)
	}
	list("disabled device", ph.listRequest(t, ps.clock()), http.StatusForbidden)

	wantStatus(t, ps.postRaw("/approver/pending", "text/plain", "{}"), http.StatusUnsupportedMediaType, "text/plain")
	wantStatus(t, ps.postRaw("/approver/pending", "application/json", `{"user":"alice","x":1}`), http.StatusBadRequest, "unknown field")
}

func TestApproverAnswer(t *testing.T) {
	ps := newPushSite(t)
	ph, alice := ps.pairedPhone("alice")
	second := newPhone(t)
	ps.pair(second, ps.pairToken(alice), "tablet")
	bob, _ := ps.pairedPhone("bob")

	answer := func(what string, body map[string]any, status int) string {
		t.Helper()
		w := ps.postJSON("/approver/answer", body)
		wantStatus(t, w, status, what)
		var res struct{ Verdict string }
		_ = json.Unmarshal(w.Body.Bytes(), &res)
		return res.Verdict
	}
	p := ps.begin(ph)
	now := ps.clock()
	// Refusals leave the push pending.
	bad := ph.answerRequest(t, p.Nonce, "alice", "approve", now)
	bad["signature"] = ph.sign(t, "radiusmfa-push-v1\n"+p.Nonce+"\nalice\ndeny\n"+strconv.FormatInt(now.Unix(), 10))
	answer("a signature over another verdict", bad, http.StatusForbidden)
	answer("the tablet's key", second.answerRequest(t, p.Nonce, "alice", "approve", now), http.StatusForbidden)
	answer("bob's key", bob.answerRequest(t, p.Nonce, "alice", "approve", now), http.StatusForbidden)
	answer("as bob", ph.answerRequest(t, p.Nonce, "bob", "approve", now), http.StatusForbidden)
	answer("stale", ph.answerRequest(t, p.Nonce, "alice", "approve", now.Add(-3*time.Minute)), http.StatusForbidden)
	answer("unknown verdict", ph.answerRequest(t, p.Nonce, "alice", "maybe", now), http.StatusForbidden)
	answer("unknown nonce", ph.answerRequest(t, "AAAAAAAAAAAAAAAAAAAAAA", "alice", "approve", now), http.StatusForbidden)
	der := ph.answerRequest(t, p.Nonce, "alice", "approve", now)
	der["signature"] = base64.RawURLEncoding.EncodeToString(make([]byte, 70))
	answer("a DER-sized signature", der, http.StatusForbidden)
	nb := ph.answerRequest(t, p.Nonce, "alice", "approve", now)
	nb["signature"] = "+/+/"
	answer("not base64url", nb, http.StatusBadRequest)
	if _, ok := ps.hub.Get(p.Nonce, "alice"); !ok {
		t.Fatal("a refused answer settled the push")
	}

	// The right one: approved, once.
	good := ph.answerRequest(t, p.Nonce, "alice", "approve", now)
	if v := answer("valid", good, http.StatusOK); v != "approved" {
		t.Fatalf("verdict %q", v)
	}
	if v := ps.hub.Wait(context.Background(), p); v != push.Approved {
		t.Fatalf("the hub's verdict %v", v)
	}
	answer("the same answer again", good, http.StatusForbidden)
	answer("a deny after the approve", ph.answerRequest(t, p.Nonce, "alice", "deny", now), http.StatusForbidden)

	// Deny, and Deny and report.
	p = ps.begin(ph)
	if v := answer("deny", ph.answerRequest(t, p.Nonce, "alice", "deny", ps.clock()), http.StatusOK); v != "denied" {
		t.Fatalf("verdict %q", v)
	}
	if v := ps.hub.Wait(context.Background(), p); v != push.Denied {
		t.Fatalf("the hub's verdict %v", v)
	}
	p = ps.begin(ph)
	if v := answer("report", ph.answerRequest(t, p.Nonce, "alice", "report", ps.clock()), http.StatusOK); v != "reported" {
		t.Fatalf("verdict %q", v)
	}
	if v := ps.hub.Wait(context.Background(), p); v != push.Reported {
		t.Fatalf("the hub's verdict %v", v)
	}
	ps.evMu.Lock()
	last := ps.events[len(ps.events)-1]
	ps.evMu.Unlock()
	if last.Verdict != push.Reported || !last.Suspended {
		t.Errorf("last event %+v: want reported, push suspended", last)
	}
	if _, err := ps.hub.Begin("alice", ph.device, &ph.key.PublicKey, push.Context{}, time.Minute); err == nil {
		t.Error("a push began after a report")
	}

	wantStatus(t, ps.postRaw("/approver/answer", "text/plain", "{}"), http.StatusUnsupportedMediaType, "text/plain")
	wantStatus(t, ps.postRaw("/approver/answer", "application/json", `{"nonce":"x","device":"y"}`), http.StatusBadRequest, "unknown field")
}

// TestApproverAnswerFromDisabledDevice: a phone disabled (lost, stolen)
// while its push was pending cannot answer it; enabled again, it can.
func TestApproverAnswerFromDisabledDevice(t *testing.T) {
	ps := newPushSite(t)
	ph, _ := ps.pairedPhone("alice")
	p := ps.begin(ph)
	if err := ps.svc.SetDeviceDisabled(local(), "alice", ph.device, true); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, ps.postJSON("/approver/answer", ph.answerRequest(t, p.Nonce, "alice", "approve", ps.clock())),
		http.StatusForbidden, "approve from a disabled phone")
	if _, ok := ps.hub.Get(p.Nonce, "alice"); !ok {
		t.Fatal("the refused answer settled the push")
	}
	if err := ps.svc.SetDeviceDisabled(local(), "alice", ph.device, false); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, ps.postJSON("/approver/answer", ph.answerRequest(t, p.Nonce, "alice", "approve", ps.clock())),
		http.StatusOK, "approve from the phone enabled again")
}

// TestApproverAnswerBudget: refused answers use up the address's guess
// budget (then 429), but a right answer is never held back by it: many
// phones may answer from behind one carrier NAT.
func TestApproverAnswerBudget(t *testing.T) {
	ps := newPushSite(t)
	ph, _ := ps.pairedPhone("alice")
	p := ps.begin(ph)
	const nat = "203.0.113.99:5000"
	wrong := ph.answerRequest(t, "AAAAAAAAAAAAAAAAAAAAAA", "alice", "approve", ps.clock())
	for i := range signinBurst {
		wantStatus(t, ps.postJSONFrom(nat, "/approver/answer", wrong), http.StatusForbidden, fmt.Sprintf("refusal %d", i+1))
	}
	wantStatus(t, ps.postJSONFrom(nat, "/approver/answer", wrong), http.StatusTooManyRequests, "a refusal over the budget")
	wantStatus(t, ps.postJSONFrom(nat, "/approver/answer", ph.answerRequest(t, p.Nonce, "alice", "approve", ps.clock())),
		http.StatusOK, "a right answer from the same address")
}

// TestApproverLoginInProcess is a RADIUS login waiting on a push, in one
// process: the engine pushes through the Service, the payload reaches a
// fake push service, and the phone's signed answer through the site wakes
// the login at once.
func TestApproverLoginInProcess(t *testing.T) {
	ps := newPushSite(t)
	ph, _ := ps.pairedPhone("alice")
	sender := &recordingSender{sent: make(chan []byte, 4)}
	ps.engine.SetPusher(push.NewService(ps.hub, sender, push.ServiceOptions{}))

	for _, tc := range []struct {
		verdict string
		want    auth.Outcome
	}{{"approve", auth.Accept}, {"deny", auth.Reject}} {
		done := make(chan auth.Decision, 1)
		go func() {
			d := ps.engine.Decide(context.Background(), auth.Request{UserName: "alice",
				Password: "alice" + testPasswordSuffix + ",push", Client: "vpn-gw", CallingStationID: "203.0.113.7"})
			d.Await(context.Background(), func(f auth.Decision) { done <- f })
		}()
		var payload push.Payload
		select {
		case b := <-sender.sent:
			if err := json.Unmarshal(b, &payload); err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no push sent")
		}
		if payload.User != "alice" || payload.Context.CallingStationID != "203.0.113.7" || payload.Nonce == "" {
			t.Fatalf("payload %+v", payload)
		}
		w := ps.postJSON("/approver/answer", ph.answerRequest(t, payload.Nonce, "alice", tc.verdict, ps.clock()))
		wantStatus(t, w, http.StatusOK, tc.verdict)
		select {
		case d := <-done:
			if d.Outcome != tc.want {
				t.Fatalf("%s: decision %v/%s, want %v", tc.verdict, d.Outcome, d.Reason, tc.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the login did not wake", tc.verdict)
		}
	}
}
