package radiusd

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"radiusmfa/auth"
)

func TestDecisionLabelsBounded(t *testing.T) {
	m := newMetrics(func() float64 { return 0 }, func() float64 { return 0 }, func() float64 { return 0 })
	reg := prometheus.NewRegistry()
	if err := m.register(reg); err != nil {
		t.Fatal(err)
	}
	cm := m.forClient("c")
	for i := range 3 * maxDecisionLabels {
		cm.decision(auth.Reject, auth.Reason(fmt.Sprint("r", i))).Inc()
	}
	if n := len(*cm.decisions.Load()); n > maxDecisionLabels+1 {
		t.Errorf("%d label sets for one client", n)
	}
	if got := metric(t, reg, "radiusmfa_decisions_total", "reason", "other"); got != 2*maxDecisionLabels {
		t.Errorf(`reason="other" = %v, want %d`, got, 2*maxDecisionLabels)
	}
	if cm.decision(auth.Reject, "r0") != cm.decision(auth.Reject, "r0") {
		t.Error("counter not cached")
	}
}

func TestMetricsRegistered(t *testing.T) {
	ts := startServer(t, nil, nil)
	ts.exchange(t, ts.authAddr, newRequest("alice"), true)
	// The decision is counted just after the reply is written.
	eventually(t, "cache gauge and decision", func() bool {
		return metric(t, ts.reg, "radiusmfa_reply_cache_entries") == 1 &&
			metric(t, ts.reg, "radiusmfa_decisions_total") == 1
	})
	mfs, err := ts.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		have[mf.GetName()] = true
	}
	for _, name := range []string{"radiusmfa_requests_total", "radiusmfa_decisions_total",
		"radiusmfa_dropped_packets_total", "radiusmfa_request_duration_seconds",
		"radiusmfa_in_flight", "radiusmfa_reply_cache_entries"} {
		if !have[name] {
			t.Errorf("%s not registered", name)
		}
	}
	if _, err := NewServer(testConfig(), &fakeDecider{}, nil, nil, ts.reg); err == nil {
		t.Error("second registration on the same registry not reported")
	}
}
