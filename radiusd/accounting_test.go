package radiusd

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
)

// newAccounting returns an Accounting-Request; status is a name or "" for
// the numeric statusValue.
func newAccounting(status string, statusValue uint32) *radius.Packet {
	p := radius.New(radius.CodeAccountingRequest, []byte(testSecret))
	v := map[string]rfc2866.AcctStatusType{
		"Start": rfc2866.AcctStatusType_Value_Start,
		"Stop":  rfc2866.AcctStatusType_Value_Stop,
	}[status]
	if status == "" {
		v = rfc2866.AcctStatusType(statusValue)
	}
	rfc2866.AcctStatusType_Set(p, v)
	rfc2866.AcctSessionID_SetString(p, "sess-42")
	rfc2865.UserName_SetString(p, "alice")
	rfc2865.NASIdentifier_SetString(p, "vpn-1")
	return p
}

func TestAccountingAudited(t *testing.T) {
	ts := startServer(t, nil, nil)
	for _, tc := range []struct {
		status string
		value  uint32
		withMA bool
		want   string
	}{
		{"Start", 0, false, `acct_status_type=Start acct_session_id="sess-42"`},
		{"Stop", 0, true, `acct_status_type=Stop acct_session_id="sess-42"`},
		{"", 99, false, `acct_status_type=99 acct_session_id="sess-42"`},
	} {
		before := len(ts.audit.records())
		reply, _ := ts.exchange(t, ts.acctAddr, newAccounting(tc.status, tc.value), tc.withMA)
		if reply.Code != radius.CodeAccountingResponse {
			t.Fatalf("code %v", reply.Code)
		}
		eventually(t, "audit", func() bool { return len(ts.audit.records()) == before+1 })
		rec := ts.audit.records()[before]
		if rec.Kind != "accounting" || rec.User != "alice" || rec.NASIdentifier != "vpn-1" ||
			rec.Client != "loopback" || rec.Detail != tc.want {
			t.Errorf("audit = %+v, want detail %s", rec, tc.want)
		}
	}
	if n := ts.dec.calls.Load(); n != 0 {
		t.Errorf("Decide called %d times for accounting", n)
	}
}

func TestAccountingRetransmissionAuditedOnce(t *testing.T) {
	ts := startServer(t, nil, nil)
	c := dial(t, ts.acctAddr)
	b := encode(t, newAccounting("Start", 0), false)
	c.Send(b)
	first := receive(t, c)
	c.Send(b)
	if again := receive(t, c); !bytes.Equal(first, again) {
		t.Error("replayed Accounting-Response differs")
	}
	// The record may land just after the reply is written: wait for the
	// first, then check that no second one follows.
	eventually(t, "the audit record", func() bool { return len(ts.audit.records()) >= 1 })
	time.Sleep(50 * time.Millisecond)
	if n := len(ts.audit.records()); n != 1 {
		t.Errorf("%d audit records, want 1", n)
	}
}

func TestAccountingBadAuthenticatorDropped(t *testing.T) {
	ts := startServer(t, nil, nil)
	for name, mutate := range map[string]func([]byte){
		"authenticator": func(b []byte) { b[5] ^= 1 },
		"attribute":     func(b []byte) { b[len(b)-1] ^= 1 },
	} {
		t.Run(name, func(t *testing.T) {
			b := encode(t, newAccounting("Start", 0), false)
			mutate(b)
			c := dial(t, ts.acctAddr)
			c.Send(b)
			expectNoReply(t, c)
		})
	}
	wrong := newAccounting("Stop", 0)
	wrong.Secret = []byte("wrong")
	c := dial(t, ts.acctAddr)
	c.Send(encode(t, wrong, false))
	expectNoReply(t, c)
	if n := dropped(t, ts, "bad_authenticator"); n != 3 {
		t.Errorf("bad_authenticator = %v", n)
	}
}

func TestAcctStatusName(t *testing.T) {
	for v, want := range map[uint32]string{1: "Start", 2: "Stop", 3: "Interim-Update", 7: "Accounting-On", 8: "Accounting-Off", 15: "15"} {
		if got := acctStatusName(radius.NewInteger(v)); got != want {
			t.Errorf("%d: %q, want %q", v, got, want)
		}
	}
	if got := acctStatusName(radius.Attribute{1}); got != "invalid" {
		t.Errorf("short value: %q", got)
	}
	if !strings.Contains(decodeAccounting(&radius.Packet{}).status, "missing") {
		t.Error("missing status not reported")
	}
}
