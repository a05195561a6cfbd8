package radiusd

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"radiusmfa/auth"
	"radiusmfa/radiusd/radiustest"
)

// Invariant: every reply to an Access-Request or Status-Server carries a
// valid Message-Authenticator as its first attribute; an Accounting-Response
// to an Accounting-Request carries none (see encodeReply).
func TestInvariantMessageAuthenticatorFirst(t *testing.T) {
	dec := &fakeDecider{fn: func(_ context.Context, r auth.Request) auth.Decision {
		switch r.UserName {
		case "accept":
			return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK, Message: strings.Repeat("a", 600)}
		case "challenge":
			return auth.Decision{Outcome: auth.Challenge, Reason: auth.ReasonPasscodeRequired, Message: "Code?", State: []byte("s")}
		}
		return auth.Decision{Outcome: auth.Reject, Reason: auth.ReasonBadCredentials, Message: "No"}
	}}
	cfg := testConfig()
	cfg.Clients[0].RequireMA = MAOptional // requests without MA get signed replies too
	ts := startServer(t, &cfg, dec)
	invalid := newRequest("x")
	invalid.Del(rfc2865.UserPassword_Type)
	proxied := newRequest("accept")
	proxied.Add(rfc2865.ProxyState_Type, radius.Attribute("px"))
	cases := []struct {
		name   string
		addr   string
		p      *radius.Packet
		withMA bool
	}{
		{"accept", ts.authAddr, newRequest("accept"), true},
		{"accept without MA", ts.authAddr, newRequest("accept"), false},
		{"accept with Proxy-State", ts.authAddr, proxied, true},
		{"reject", ts.authAddr, newRequest("reject"), false},
		{"challenge", ts.authAddr, newRequest("challenge"), true},
		{"invalid request", ts.authAddr, invalid, true},
		{"status auth", ts.authAddr, radius.New(radius.CodeStatusServer, []byte(testSecret)), true},
		{"status acct", ts.acctAddr, radius.New(radius.CodeStatusServer, []byte(testSecret)), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, tc.addr)
			b := encode(t, tc.p, tc.withMA)
			c.Send(b)
			raw := receive(t, c)
			if err := radiustest.VerifyResponse(raw, b[4:20], []byte(testSecret)); err != nil {
				t.Fatal(err)
			}
			if raw[20] != 80 || raw[21] != 18 {
				t.Fatalf("first attribute type %d length %d", raw[20], raw[21])
			}
			signed := bytes.Clone(raw)
			copy(signed[4:20], b[4:20])
			if want := rfcHMAC([]byte(testSecret), signed, 22); !bytes.Equal(raw[22:38], want) {
				t.Errorf("Message-Authenticator %x, want %x", raw[22:38], want)
			}
		})
	}
	t.Run("accounting", func(t *testing.T) {
		for _, withMA := range []bool{false, true} {
			c := dial(t, ts.acctAddr)
			b := encode(t, newAccounting("Start", 0), withMA)
			c.Send(b)
			raw := receive(t, c)
			if err := radiustest.VerifyResponseAuthenticator(raw, b[4:20], []byte(testSecret)); err != nil {
				t.Fatal(err)
			}
			if _, ok := scanForMA(raw); ok {
				t.Error("Accounting-Response carries a Message-Authenticator")
			}
		}
	})
}

func scanForMA(raw []byte) (int, bool) {
	ma, _, _, ok := scanAttributes(raw[20:])
	return ma, ok && ma >= 0
}

// Invariant: no password, State or secret is logged or audited.
func TestInvariantNoSecretLogged(t *testing.T) {
	const state = "STATE-VALUE-must-not-leak"
	dec := &fakeDecider{fn: func(context.Context, auth.Request) auth.Decision {
		return auth.Decision{Outcome: auth.Challenge, Reason: auth.ReasonPasscodeRequired, State: []byte(state)}
	}}
	ts := startServer(t, nil, dec) // logs at debug level
	ts.exchange(t, ts.authAddr, newRequest("alice"), true)
	wrong := newRequest("alice") // a drop path too
	wrong.Secret = []byte("other-secret")
	c := dial(t, ts.authAddr)
	c.Send(encode(t, wrong, true))
	expectNoReply(t, c)
	ts.exchange(t, ts.acctAddr, newAccounting("Start", 0), false)
	eventually(t, "audit", func() bool { return len(ts.audit.records()) == 2 })
	all := ts.logs.String() + fmt.Sprintf("%+v", ts.audit.records())
	for _, secret := range []string{testPassword, "correct-horse", "otpXYZ", state, testSecret, "other-secret"} {
		if strings.Contains(all, secret) {
			t.Errorf("%q appears in logs or audit:\n%s", secret, all)
		}
	}
}

// Invariant: granted attributes are sent in an Access-Accept only, never in
// a Reject or Challenge, whatever the decision carries (see encodeReply). A
// retransmitted Accept gets them again from the reply cache.
func TestInvariantGrantedAttributesOnlyOnAccept(t *testing.T) {
	attrs := mustAttributes(t, grantedPairs...)
	dec := &fakeDecider{fn: func(_ context.Context, r auth.Request) auth.Decision {
		d := auth.Decision{Outcome: auth.Reject, Reason: auth.ReasonBadCredentials, Message: "No", Attributes: attrs}
		switch r.UserName {
		case "accept":
			d.Outcome, d.Reason, d.Message = auth.Accept, auth.ReasonOK, "Welcome"
		case "challenge":
			d.Outcome, d.Reason, d.Message, d.State = auth.Challenge, auth.ReasonPasscodeRequired, "Code?", []byte("s")
		}
		return d
	}}
	ts := startServer(t, nil, dec)
	for _, tc := range []struct {
		user string
		code radius.Code
	}{
		{"accept", radius.CodeAccessAccept},
		{"reject", radius.CodeAccessReject},
		{"challenge", radius.CodeAccessChallenge},
	} {
		t.Run(tc.user, func(t *testing.T) {
			c := dial(t, ts.authAddr)
			b := encode(t, newRequest(tc.user), true)
			c.Send(b)
			raw := receive(t, c)
			if err := radiustest.VerifyResponse(raw, b[4:20], []byte(testSecret)); err != nil {
				t.Fatal(err)
			}
			p, err := radius.Parse(raw, []byte(testSecret))
			if err != nil {
				t.Fatal(err)
			}
			if p.Code != tc.code {
				t.Fatalf("code %v, want %v", p.Code, tc.code)
			}
			if tc.code == radius.CodeAccessAccept {
				checkGranted(t, p)
				c.Send(b) // a retransmission: the cached bytes, attributes included
				if again := receive(t, c); !bytes.Equal(again, raw) {
					t.Errorf("replayed Accept differs:\n%x\n%x", again, raw)
				}
				return
			}
			for _, a := range p.Attributes {
				if a.Type == rfc2865.VendorSpecific_Type || a.Type == rfc2865.Class_Type {
					t.Errorf("%v carries attribute %d: %q", p.Code, a.Type, a.Attribute)
				}
			}
		})
	}
	if n := dec.calls.Load(); n != 3 {
		t.Errorf("Decide called %d times, want 3 (the retransmission is answered from the cache)", n)
	}
	// The Accept's log line names what was granted; the others name nothing.
	deadline := time.Now().Add(2 * time.Second)
	for strings.Count(ts.logs.String(), `"msg":"radius decision"`) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	logs := ts.logs.String()
	if n := strings.Count(logs, `"reply_attributes":`); n != 1 || !strings.Contains(logs, attrs[0].Name+`=\"`) {
		t.Errorf("reply_attributes in %d decision lines, want 1 naming %s:\n%s", n, attrs[0].Name, logs)
	}
}
