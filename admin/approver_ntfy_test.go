package admin

import (
	"errors"
	"strings"
	"testing"

	"radiusmfa/factors/push"
	"radiusmfa/store"
)

func TestPairNtfy(t *testing.T) {
	c := newConsole(t, nil)
	// Only the user themself pairs: not another user, not an admin.
	if _, err := c.svc.PairNtfy(asBob, "alice", "x", "https://vpn.example.com"); !errors.Is(err, ErrForbidden) {
		t.Errorf("bob pairing for alice: %v", err)
	}
	if _, err := c.svc.PairNtfy(asAdmin, "alice", "x", "https://vpn.example.com"); !errors.Is(err, ErrForbidden) {
		t.Errorf("an admin pairing for alice: %v", err)
	}
	got, err := c.svc.PairNtfy(asAlice, "alice", "", "https://vpn.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Topic, push.TopicPrefix) || got.ID == "" {
		t.Fatalf("pairing %+v", got)
	}
	e := c.enrollment(t, "alice", got.ID)
	d, err := push.DeviceOf(e)
	if err != nil || d.Channel != push.ChannelNtfy || d.Topic != got.Topic || d.Site != "https://vpn.example.com" || e.Label != push.DefaultNtfyName {
		t.Errorf("stored %+v / %+v, %v", e, d, err)
	}
	recs, _ := c.st.RecentAudit(anon, 1)
	if len(recs) != 1 || recs[0].Detail != "push.pair "+got.ID+" (ntfy)" || recs[0].User != "alice" {
		t.Errorf("audit %+v", recs)
	}
	// Listed as a push device of the ntfy channel, and the app key
	// lookup finds nothing to verify with.
	var listed *Device
	for _, dv := range c.devices(t, "alice") {
		if dv.ID == got.ID {
			listed = &dv
		}
	}
	if listed == nil || listed.Kind != push.Kind || listed.Channel != "ntfy" {
		t.Errorf("listed as %+v", listed)
	}
	if _, err := c.svc.ApproverKey(anon, "alice", got.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ApproverKey of an ntfy device: %v", err)
	}
	if err := c.svc.LinkApprover(anon, "alice", got.ID); err != nil {
		t.Errorf("LinkApprover: %v", err)
	}
	for name, id := range map[string]string{"another user's": got.ID, "a totp device": c.totpID, "unknown": "ffff"} {
		user := "alice"
		if name == "another user's" {
			user = "bob"
		}
		if err := c.svc.LinkApprover(anon, user, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LinkApprover of %s: %v", name, err)
		}
	}
	if err := c.svc.SetDeviceDisabled(asAdmin, "alice", got.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := c.svc.LinkApprover(anon, "alice", got.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LinkApprover of a disabled device: %v", err)
	}
	for name, site := range map[string]string{"http site": "http://vpn.example.com", "site with a path": "https://vpn.example.com/x"} {
		if _, err := c.svc.PairNtfy(asAlice, "alice", "x", site); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := c.svc.PairNtfy(asAlice, "alice", "bad\nname", "https://vpn.example.com"); !errors.Is(err, ErrInvalid) {
		t.Errorf("a bad name: %v", err)
	}
}
