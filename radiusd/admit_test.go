package radiusd

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// Tests of the admission stage (client table, code per port, authenticator
// checks, Message-Authenticator policy) over loopback.

func TestMessageAuthenticatorPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy   MARequirement
		sequence []bool // withMA per request
		answered []bool
	}{
		{MARequire, []bool{false, true, false}, []bool{false, true, false}},
		{MAAuto, []bool{false, false, true, false}, []bool{true, true, true, false}},
		{MAOptional, []bool{false, true, false}, []bool{true, true, true}},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			cfg := testConfig()
			cfg.Clients[0].RequireMA = tc.policy
			ts := startServer(t, &cfg, nil)
			for i, withMA := range tc.sequence {
				c := dial(t, ts.authAddr)
				c.Send(encode(t, newRequest("alice"), withMA))
				if tc.answered[i] {
					receive(t, c)
				} else {
					expectNoReply(t, c)
				}
			}
			if latched := strings.Contains(ts.logs.String(), "now required"); latched != (tc.policy == MAAuto) {
				t.Errorf("latch logged = %v", latched)
			}
		})
	}
}

func TestBadMessageAuthenticatorDropped(t *testing.T) {
	ts := startServer(t, nil, nil)
	good := encode(t, newRequest("alice"), true)
	flipped := bytes.Clone(good)
	flipped[25] ^= 1 // inside the Message-Authenticator value
	wrongSecret := newRequest("alice")
	wrongSecret.Secret = []byte("not-the-secret")
	short := bytes.Clone(good[:20])
	short = append(short, 80, 10, 1, 2, 3, 4, 5, 6, 7, 8)
	short = append(short, good[38:]...)
	short[2], short[3] = byte(len(short)>>8), byte(len(short))
	for name, b := range map[string][]byte{
		"flipped": flipped, "wrong secret": encode(t, wrongSecret, true), "wrong length": short,
	} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, ts.authAddr)
			c.Send(b)
			expectNoReply(t, c)
		})
	}
	if n := dropped(t, ts, "bad_message_authenticator"); n != 3 {
		t.Errorf("bad_message_authenticator = %v, want 3", n)
	}
	if n := ts.dec.calls.Load(); n != 0 {
		t.Errorf("Decide called %d times", n)
	}
	if !strings.Contains(ts.logs.String(), "check the shared secret") {
		t.Error("no shared-secret warning logged")
	}
}

func TestInvariantProxyStateRequiresMessageAuthenticator(t *testing.T) {
	for _, policy := range []MARequirement{MAOptional, MAAuto} {
		cfg := testConfig()
		cfg.Clients[0].RequireMA = policy
		ts := startServer(t, &cfg, nil)
		p := newRequest("alice")
		p.Add(rfc2865.ProxyState_Type, radius.Attribute("first"))
		p.Add(rfc2865.ProxyState_Type, radius.Attribute("second"))
		c := dial(t, ts.authAddr)
		c.Send(encode(t, p, false))
		expectNoReply(t, c)
		if n := dropped(t, ts, "missing_message_authenticator"); n != 1 {
			t.Errorf("%v: missing_message_authenticator = %v", policy, n)
		}
		reply, _ := ts.exchange(t, ts.authAddr, p, true)
		var states []string
		for _, a := range reply.Attributes {
			if a.Type == rfc2865.ProxyState_Type {
				states = append(states, string(a.Attribute))
			}
		}
		if strings.Join(states, ",") != "first,second" {
			t.Errorf("%v: Proxy-State copies = %q", policy, states)
		}
	}
}

func TestUnknownClientDropped(t *testing.T) {
	cfg := testConfig()
	cfg.Clients[0].Networks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	ts := startServer(t, &cfg, nil)
	c := dial(t, ts.authAddr)
	c.Send(encode(t, newRequest("alice"), true))
	c.Send(encode(t, newRequest("alice"), true))
	expectNoReply(t, c)
	if n := dropped(t, ts, "unknown_client"); n != 2 {
		t.Errorf("unknown_client = %v", n)
	}
	if n := strings.Count(ts.logs.String(), "unknown client"); n != 1 {
		t.Errorf("unknown client logged %d times, want once per interval", n)
	}
}

func TestWrongCodeForPortDropped(t *testing.T) {
	ts := startServer(t, nil, nil)
	acct := newAccounting("Start", 1)
	access := newRequest("alice")
	for addr, b := range map[string][]byte{ts.authAddr: encode(t, acct, false), ts.acctAddr: encode(t, access, true)} {
		c := dial(t, addr)
		c.Send(b)
		expectNoReply(t, c)
	}
	if n := dropped(t, ts, "unexpected_code"); n != 2 {
		t.Errorf("unexpected_code = %v", n)
	}
}
