package push

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"radiusmfa/auth"
)

// TestServiceLocation: ServiceOptions.Locate names where the login's
// Calling-Station-Id is; the payload the phone gets, the pending push it
// lists and the settled push's event carry it, and a login it cannot place
// is pushed without one.
func TestServiceLocation(t *testing.T) {
	clk := newClock()
	var events []Event
	hub := NewHub(Options{Now: clk.Now, OnEvent: func(ev Event) { events = append(events, ev) }})
	key := newKey(t)
	ph := &phone{t: t, hub: hub, key: key, clock: clk}
	var asked []string
	svc := NewService(hub, ph, ServiceOptions{
		Timeout: func(string) time.Duration { return time.Minute },
		Locate: func(id string) string {
			asked = append(asked, id)
			if id == "203.0.113.7" {
				return "Berlin, Germany"
			}
			return ""
		},
	})
	en, err := NewEnrollment("alice", "Pixel 7", &key.PublicKey, testSubscription(t), clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	begin := func(station string) auth.PushWait {
		t.Helper()
		w, _, err := svc.PushNumbered(context.Background(), en, auth.PushContext{User: "alice", Client: "vpn",
			CallingStationID: station, Time: clk.Now()})
		if err != nil {
			t.Fatalf("push from %q: %v", station, err)
		}
		return w
	}

	w := begin("203.0.113.7")
	if got := ph.got[0].Context; got.Location != "Berlin, Germany" || got.CallingStationID != "203.0.113.7" {
		t.Errorf("payload context %+v, want the location Berlin, Germany", got)
	}
	if p := hub.PendingFor("alice"); len(p) != 1 || p[0].Context.Location != "Berlin, Germany" {
		t.Errorf("pending %+v, want the location listed", p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w.Wait(ctx) // given up: settled, with an event
	if len(events) != 1 || events[0].Context.Location != "Berlin, Germany" {
		t.Errorf("events %+v, want the location in the settled push's context", events)
	}

	begin("10.0.0.1")
	begin("")
	if loc := ph.got[1].Context.Location + ph.got[2].Context.Location; loc != "" {
		t.Errorf("pushes that could not be placed carry a location: %q", loc)
	}
	if strings.Join(asked, " ") != "203.0.113.7 10.0.0.1" {
		t.Errorf("Locate asked about %q; want the two Calling-Station-Ids, not the empty one", asked)
	}
	b, err := json.Marshal(Payload{V: 1, Nonce: "n", User: "alice", Context: ph.got[1].Context})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"location"`) {
		t.Errorf("a payload without a location still names the key: %s", b)
	}
}

// TestServiceWithoutLocate: with no Locate, pushes carry no location.
func TestServiceWithoutLocate(t *testing.T) {
	_, ph, push := serviceFixture(t, AnswerApprove)
	if got := push("vpn"); got != auth.PushApproved {
		t.Fatalf("verdict %d", got)
	}
	if ph.got[0].Context.Location != "" {
		t.Errorf("location %q without Locate", ph.got[0].Context.Location)
	}
}
