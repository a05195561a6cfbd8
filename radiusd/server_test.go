package radiusd

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"radiusmfa/auth"
	"radiusmfa/radiusd/radiustest"
)

func newRequest(user string) *radius.Packet {
	p := radiustest.NewAccessRequest([]byte(testSecret), user, testPassword)
	p.Add(rfc2865.NASIdentifier_Type, radius.Attribute("vpn-1"))
	p.Add(rfc2865.NASIPAddress_Type, radius.Attribute{192, 0, 2, 7})
	p.Add(rfc2865.CallingStationID_Type, radius.Attribute("198.51.100.9"))
	return p
}

func TestAccept(t *testing.T) {
	ts := startServer(t, nil, nil)
	reply, _ := ts.exchange(t, ts.authAddr, newRequest("alice"), true)
	if reply.Code != radius.CodeAccessAccept {
		t.Fatalf("code = %v, want Access-Accept", reply.Code)
	}
	if got := rfc2865.ReplyMessage_GetString(reply); got != "Welcome" {
		t.Errorf("Reply-Message = %q", got)
	}
	reqs := ts.dec.requests()
	if len(reqs) != 1 {
		t.Fatalf("Decide called %d times", len(reqs))
	}
	want := auth.Request{UserName: "alice", Password: testPassword, Client: "loopback",
		NASIdentifier: "vpn-1", NASIPAddress: "192.0.2.7", CallingStationID: "198.51.100.9"}
	got := reqs[0]
	if !got.Source.Addr().Is4() || got.Source.Port() == 0 {
		t.Errorf("Source = %v", got.Source)
	}
	got.Source = netip.AddrPort{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("request = %+v\nwant      %+v", got, want)
	}
	eventually(t, "audit record", func() bool { return len(ts.audit.records()) == 1 })
	rec := ts.audit.records()[0]
	if rec.Kind != "auth" || rec.User != "alice" || rec.Client != "loopback" || rec.Outcome != "accept" ||
		rec.Reason != "ok" || rec.Factor != "totp" || rec.NASIdentifier != "vpn-1" ||
		rec.NASIPAddress != "192.0.2.7" || rec.CallingStationID != "198.51.100.9" {
		t.Errorf("audit = %+v", rec)
	}
	for _, key := range []string{`"user":"alice"`, `"client":"loopback"`, `"src":"127.0.0.1:`, `"nas_identifier":"vpn-1"`,
		`"nas_ip_address":"192.0.2.7"`, `"calling_station_id":"198.51.100.9"`, `"factor":"totp"`,
		`"outcome":"accept"`, `"reason":"ok"`, `"duration_ms":`} {
		if !strings.Contains(ts.logs.String(), key) {
			t.Errorf("log lacks %s:\n%s", key, ts.logs)
		}
	}
	if n := metric(t, ts.reg, "radiusmfa_decisions_total", "client", "loopback", "outcome", "accept", "reason", "ok"); n != 1 {
		t.Errorf("decisions_total = %v", n)
	}
	if n := metric(t, ts.reg, "radiusmfa_requests_total", "client", "loopback", "type", "access_request"); n != 1 {
		t.Errorf("requests_total = %v", n)
	}
}

func TestRejectAndChallenge(t *testing.T) {
	dec := &fakeDecider{fn: func(_ context.Context, r auth.Request) auth.Decision {
		if r.UserName == "bob" {
			return auth.Decision{Outcome: auth.Reject, Reason: auth.ReasonBadCredentials, Message: "Login failed"}
		}
		return auth.Decision{Outcome: auth.Challenge, Reason: auth.ReasonPasscodeRequired, Message: "Code?", State: []byte("st-1")}
	}}
	ts := startServer(t, nil, dec)
	reply, _ := ts.exchange(t, ts.authAddr, newRequest("bob"), true)
	if reply.Code != radius.CodeAccessReject || rfc2865.ReplyMessage_GetString(reply) != "Login failed" {
		t.Errorf("reject: code %v, message %q", reply.Code, rfc2865.ReplyMessage_GetString(reply))
	}
	reply, _ = ts.exchange(t, ts.authAddr, newRequest("carol"), true)
	if reply.Code != radius.CodeAccessChallenge || string(rfc2865.State_Get(reply)) != "st-1" {
		t.Errorf("challenge: code %v, State %q", reply.Code, rfc2865.State_Get(reply))
	}
}

func TestEmptyMessageHasNoReplyMessage(t *testing.T) {
	dec := &fakeDecider{fn: func(context.Context, auth.Request) auth.Decision {
		return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK}
	}}
	ts := startServer(t, nil, dec)
	reply, _ := ts.exchange(t, ts.authAddr, newRequest("alice"), true)
	if _, ok := reply.Lookup(rfc2865.ReplyMessage_Type); ok || len(reply.Attributes) != 1 {
		t.Errorf("attributes = %d, want only Message-Authenticator", len(reply.Attributes))
	}
}

func TestInvalidRequestRejected(t *testing.T) {
	ts := startServer(t, nil, nil)
	noPassword := radius.New(radius.CodeAccessRequest, []byte(testSecret))
	noPassword.Add(rfc2865.UserName_Type, radius.Attribute("alice"))
	noPassword.Add(rfc2865.CHAPPassword_Type, make(radius.Attribute, 17))
	noUser := radiustest.NewAccessRequest([]byte(testSecret), "x", "pw")
	noUser.Del(rfc2865.UserName_Type)
	for name, p := range map[string]*radius.Packet{"chap": noPassword, "no user": noUser} {
		c := dial(t, ts.authAddr)
		b := encode(t, p, true)
		c.Send(b)
		raw := receive(t, c)
		if err := radiustest.VerifyResponse(raw, b[4:20], []byte(testSecret)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if radius.Code(raw[0]) != radius.CodeAccessReject {
			t.Errorf("%s: code %v", name, radius.Code(raw[0]))
		}
		c.Send(b) // cached like any reply
		if again := receive(t, c); !bytes.Equal(again, raw) {
			t.Errorf("%s: retransmission got different bytes", name)
		}
	}
	if n := ts.dec.calls.Load(); n != 0 {
		t.Errorf("Decide called %d times", n)
	}
	if n := metric(t, ts.reg, "radiusmfa_decisions_total", "reason", "invalid_request"); n != 2 {
		t.Errorf("invalid_request decisions = %v", n)
	}
}

// Invariant: a retransmitted request never runs the engine twice.
func TestInvariantRetransmissionDecidedOnce(t *testing.T) {
	release := make(chan struct{})
	dec := &fakeDecider{}
	dec.fn = func(context.Context, auth.Request) auth.Decision {
		<-release
		return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK, Message: "ok"}
	}
	ts := startServer(t, nil, dec)
	c := dial(t, ts.authAddr)
	b := encode(t, newRequest("alice"), true)
	c.Send(b)
	eventually(t, "Decide", func() bool { return dec.calls.Load() == 1 })
	c.Send(b) // while pending: dropped
	eventually(t, "pending drop", func() bool { return dropped(t, ts, "duplicate_pending") == 1 })
	close(release)
	first := receive(t, c)
	expectNoReply(t, c)
	c.Send(b) // after the reply: the same bytes again
	if again := receive(t, c); !bytes.Equal(again, first) {
		t.Errorf("replayed reply differs:\n%x\n%x", again, first)
	}
	if n := dec.calls.Load(); n != 1 {
		t.Errorf("Decide called %d times, want 1", n)
	}
	// The counter may move just after the cached reply is written.
	eventually(t, "duplicate_replayed = 1", func() bool { return dropped(t, ts, "duplicate_replayed") == 1 })
	eventually(t, "one audit record", func() bool { return len(ts.audit.records()) == 1 })

	// Same Identifier, new Request Authenticator: a new request.
	p := newRequest("alice")
	p.Identifier = b[1]
	c.Send(encode(t, p, true))
	receive(t, c)
	if n := dec.calls.Load(); n != 2 {
		t.Errorf("Decide called %d times after a new authenticator, want 2", n)
	}
}

func TestDecisionDropSendsNothingAndForgets(t *testing.T) {
	dec := &fakeDecider{}
	dec.fn = func(context.Context, auth.Request) auth.Decision {
		if dec.calls.Load() == 1 {
			return auth.Decision{Outcome: auth.Drop, Reason: auth.ReasonOverloaded}
		}
		return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK}
	}
	ts := startServer(t, nil, dec)
	c := dial(t, ts.authAddr)
	b := encode(t, newRequest("alice"), true)
	c.Send(b)
	expectNoReply(t, c)
	c.Send(b) // the retransmission is processed anew
	if raw := receive(t, c); radius.Code(raw[0]) != radius.CodeAccessAccept {
		t.Errorf("code %v", radius.Code(raw[0]))
	}
	if n := dec.calls.Load(); n != 2 {
		t.Errorf("Decide called %d times", n)
	}
}

func TestOverloadDropsAndForgets(t *testing.T) {
	release := make(chan struct{})
	dec := &fakeDecider{}
	dec.fn = func(_ context.Context, r auth.Request) auth.Decision {
		if r.UserName == "slow" {
			<-release
		}
		return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK}
	}
	cfg := testConfig()
	cfg.MaxInFlight = 1
	ts := startServer(t, &cfg, dec)
	slow := dial(t, ts.authAddr)
	slow.Send(encode(t, newRequest("slow"), true))
	eventually(t, "slow Decide", func() bool { return dec.calls.Load() == 1 })
	if n := metric(t, ts.reg, "radiusmfa_in_flight"); n != 1 {
		t.Errorf("in_flight = %v", n)
	}
	c := dial(t, ts.authAddr)
	b := encode(t, newRequest("fast"), true)
	c.Send(b)
	expectNoReply(t, c)
	if n := dropped(t, ts, "overloaded"); n != 1 {
		t.Errorf("overloaded = %v", n)
	}
	close(release)
	receive(t, slow)
	// The slot is released just after the reply is written.
	eventually(t, "slot released", func() bool { return metric(t, ts.reg, "radiusmfa_in_flight") == 0 })
	c.Send(b) // not left pending in the cache: processed now
	receive(t, c)
}

func TestStatusServer(t *testing.T) {
	ts := startServer(t, nil, nil)
	for _, tc := range []struct {
		addr string
		want radius.Code
	}{{ts.authAddr, radius.CodeAccessAccept}, {ts.acctAddr, radius.CodeAccountingResponse}} {
		p := radius.New(radius.CodeStatusServer, []byte(testSecret))
		reply, _ := ts.exchange(t, tc.addr, p, true)
		if reply.Code != tc.want {
			t.Errorf("%s: code %v, want %v", tc.addr, reply.Code, tc.want)
		}
		c := dial(t, tc.addr)
		c.Send(encode(t, p, false)) // RFC 5997: Message-Authenticator is mandatory
		expectNoReply(t, c)
	}
	if n := ts.dec.calls.Load(); n != 0 {
		t.Errorf("Decide called %d times", n)
	}
	if n := metric(t, ts.reg, "radiusmfa_requests_total", "type", "status_server"); n != 2 {
		t.Errorf("status_server requests = %v", n)
	}
}

func TestShutdownAnswersInFlight(t *testing.T) {
	dec := &fakeDecider{fn: func(context.Context, auth.Request) auth.Decision {
		time.Sleep(300 * time.Millisecond)
		return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK}
	}}
	cfg := testConfig()
	s, err := NewServer(cfg, dec, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background()) }()
	addr := s.AuthAddrs()[0].String()
	const n = 5
	conns := make([]*radiustest.Conn, n)
	for i := range conns {
		conns[i] = dial(t, addr)
		conns[i].Send(encode(t, newRequest("alice"), true))
	}
	eventually(t, "all in flight", func() bool { return dec.calls.Load() == n })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			if raw := receive(t, c); radius.Code(raw[0]) != radius.CodeAccessAccept {
				t.Errorf("code %v", radius.Code(raw[0]))
			}
		})
	}
	wg.Wait()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	late := dial(t, addr)
	late.Send(encode(t, newRequest("alice"), true))
	expectNoReply(t, late)
	if err := s.Serve(context.Background()); err != ErrServerClosed {
		t.Errorf("Serve after Shutdown = %v", err)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	s, err := NewServer(testConfig(), &fakeDecider{}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	eventually(t, "listening", func() bool { return len(s.AuthAddrs()) == 1 })
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func TestIPv6Listener(t *testing.T) {
	ln, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("cannot bind [::1]: %v", err)
	}
	ln.Close()
	cfg := testConfig()
	cfg.AuthAddrs = []string{"[::1]:0"}
	cfg.AcctAddrs = nil
	cfg.Clients[0].Networks = []netip.Prefix{netip.MustParsePrefix("::1/128")}
	ts := startServer(t, &cfg, nil)
	reply, _ := ts.exchange(t, ts.authAddr, newRequest("alice"), true)
	if reply.Code != radius.CodeAccessAccept {
		t.Errorf("code %v", reply.Code)
	}
	if src := ts.dec.requests()[0].Source.Addr(); src != netip.IPv6Loopback() {
		t.Errorf("Source = %v", src)
	}
}
