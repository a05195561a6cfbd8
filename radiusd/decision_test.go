package radiusd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"radiusmfa/auth"
	"radiusmfa/radiusd/radiustest"
)

// A Decision's Err reaches the operator's log line, at Error level, and
// nothing else: not the audit record, not the reply.
func TestDecisionErrLoggedOnly(t *testing.T) {
	const cause = "ldap: dial tcp 10.9.8.7:636: INTERNAL-CAUSE-xyz"
	dec := &fakeDecider{fn: func(context.Context, auth.Request) auth.Decision {
		return auth.Decision{Outcome: auth.Reject, Reason: auth.ReasonDirectoryUnavailable,
			Message: auth.MsgInternal, Err: errors.New(cause)}
	}}
	ts := startServer(t, nil, dec)
	reply, raw := ts.exchange(t, ts.authAddr, newRequest("alice"), true)
	if reply.Code != radius.CodeAccessReject || rfc2865.ReplyMessage_GetString(reply) != auth.MsgInternal {
		t.Errorf("reply: code %v, message %q", reply.Code, rfc2865.ReplyMessage_GetString(reply))
	}
	if bytes.Contains(raw, []byte("INTERNAL-CAUSE")) {
		t.Error("the reply carries the internal cause")
	}
	eventually(t, "audit", func() bool { return len(ts.audit.records()) == 1 })
	if rec := fmt.Sprintf("%+v", ts.audit.records()); strings.Contains(rec, "INTERNAL-CAUSE") {
		t.Errorf("the audit carries the internal cause: %s", rec)
	}
	line := logLine(t, ts, "radius decision")
	for _, want := range []string{`"level":"ERROR"`, `"err":"` + cause + `"`, `"reason":"directory_unavailable"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s: %s", want, line)
		}
	}
}

// A decision whose reply cannot be encoded is still logged and audited as
// decided, counted as a reply_error drop, and its retransmissions are
// dropped without running the Decider again.
func TestUnencodableReplyRecordedOnce(t *testing.T) {
	dec := &fakeDecider{fn: func(_ context.Context, r auth.Request) auth.Decision {
		return auth.Decision{Outcome: auth.Challenge, Reason: auth.ReasonPasscodeRequired, User: r.UserName,
			Message: "Code?", State: make([]byte, maxAttrValue+1)} // a State no attribute can hold
	}}
	ts := startServer(t, nil, dec)
	c := dial(t, ts.authAddr)
	b := encode(t, newRequest("alice"), true)
	c.Send(b)
	expectNoReply(t, c)
	eventually(t, "audit", func() bool { return len(ts.audit.records()) == 1 })
	rec := ts.audit.records()[0]
	if rec.Outcome != "challenge" || rec.Reason != "passcode_required" || rec.User != "alice" || rec.Detail != "reply=not_sent" {
		t.Errorf("audit = %+v", rec)
	}
	line := logLine(t, ts, "radius decision")
	for _, want := range []string{`"level":"ERROR"`, `"outcome":"challenge"`, `"reply_error":"` + errStateTooLarge.Error() + `"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s: %s", want, line)
		}
	}
	if n := dropped(t, ts, "reply_error"); n != 1 {
		t.Errorf("reply_error = %v, want 1", n)
	}
	c.Send(b) // a retransmission: nothing to send, nothing to decide
	expectNoReply(t, c)
	if n := dec.calls.Load(); n != 1 {
		t.Errorf("Decide called %d times, want 1", n)
	}
	if n := dropped(t, ts, "reply_error"); n != 2 {
		t.Errorf("reply_error = %v, want 2", n)
	}
	if n := len(ts.audit.records()); n != 1 {
		t.Errorf("%d audit records, want 1", n)
	}
}

// A Reply-Message of any length gives a valid reply: the text is cut to
// maxReplyMessage octets between characters, in 253-octet attributes.
func TestLongReplyMessageFits(t *testing.T) {
	msg := strings.Repeat("Zugriff verweigert: Schlüssel prüfen. ", 200) // ~7600 octets, 2-octet characters
	dec := &fakeDecider{fn: func(context.Context, auth.Request) auth.Decision {
		return auth.Decision{Outcome: auth.Reject, Reason: auth.ReasonBadCredentials, Message: msg}
	}}
	ts := startServer(t, nil, dec)
	p := newRequest("alice")
	p.Add(rfc2865.ProxyState_Type, radius.Attribute("proxy-1"))
	reply, raw := ts.exchange(t, ts.authAddr, p, true)
	if reply.Code != radius.CodeAccessReject {
		t.Fatalf("code %v", reply.Code)
	}
	var text strings.Builder
	for _, a := range reply.Attributes {
		if a.Type != rfc2865.ReplyMessage_Type {
			continue
		}
		if len(a.Attribute) > maxAttrValue || !utf8.Valid(a.Attribute) {
			t.Errorf("Reply-Message attribute of %d octets, valid UTF-8 %v", len(a.Attribute), utf8.Valid(a.Attribute))
		}
		text.Write(a.Attribute)
	}
	if n := text.Len(); n > maxReplyMessage || n < maxReplyMessage-utf8.UTFMax || !strings.HasPrefix(msg, text.String()) {
		t.Errorf("Reply-Message of %d octets is not the message cut near %d", n, maxReplyMessage)
	}
	if string(rfc2865.ProxyState_Get(reply)) != "proxy-1" || len(raw) > radius.MaxPacketLength {
		t.Errorf("Proxy-State %q, length %d", rfc2865.ProxyState_Get(reply), len(raw))
	}
	if n := dropped(t, ts, "reply_error"); n != 0 {
		t.Errorf("reply_error = %v", n)
	}
}

// Invalid requests say why in the log and audit, never in the reply.
func TestInvalidRequestDetail(t *testing.T) {
	ts := startServer(t, nil, nil)
	p := radiustest.NewAccessRequest([]byte(testSecret), "alice", "pw\x00anything")
	reply, _ := ts.exchange(t, ts.authAddr, p, true)
	if reply.Code != radius.CodeAccessReject || rfc2865.ReplyMessage_GetString(reply) != auth.MsgInvalid {
		t.Errorf("reply: code %v, message %q", reply.Code, rfc2865.ReplyMessage_GetString(reply))
	}
	eventually(t, "audit", func() bool { return len(ts.audit.records()) == 1 })
	if rec := ts.audit.records()[0]; rec.Reason != "invalid_request" || rec.Detail != "invalid=user_password_nul" {
		t.Errorf("audit = %+v", rec)
	}
	if line := logLine(t, ts, "radius decision"); !strings.Contains(line, `"detail":"invalid=user_password_nul"`) ||
		!strings.Contains(line, `"level":"INFO"`) {
		t.Errorf("log line: %s", line)
	}
	if n := ts.dec.calls.Load(); n != 0 {
		t.Errorf("Decide called %d times", n)
	}
}

// logLine waits for the first log line with message msg and returns it.
func logLine(t *testing.T, ts *testServer, msg string) string {
	t.Helper()
	var line string
	eventually(t, msg+" log line", func() bool {
		for l := range strings.Lines(ts.logs.String()) {
			if strings.Contains(l, `"msg":"`+msg+`"`) {
				line = l
				return true
			}
		}
		return false
	})
	return line
}
