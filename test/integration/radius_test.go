package integration

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// TestRADIUS runs the request/response behaviour against one shared server;
// each subtest has users of its own, so they run in parallel and their TOTP
// codes never collide.
func TestRADIUS(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	addr := s.authAddr(t)

	t.Run("Accept", func(t *testing.T) {
		t.Parallel()
		a := s.newAccount(t, "accept-user")
		c := a.code(t)
		r := login(t, addr, a.Name, a.Password+","+c.Code)
		s.expectCode(t, r, "Access-Accept")
		a.accepted(c)
		s.expectAudit(t, a.Name, 1, "accept", "ok")
	})

	t.Run("AcceptSHA256EightDigits", func(t *testing.T) {
		t.Parallel()
		a := s.newAccount(t, "sha256-user", "--digits", "8", "--algorithm", "SHA256")
		c := a.code(t)
		if len(c.Code) != 8 {
			t.Fatalf("oathtool gave %q, want 8 digits", c.Code)
		}
		s.expectCode(t, login(t, addr, a.Name, a.Password+","+c.Code), "Access-Accept")
		a.accepted(c)
	})

	t.Run("WrongCode", func(t *testing.T) {
		t.Parallel()
		a := s.newAccount(t, "wrongcode-user")
		r := login(t, addr, a.Name, a.Password+","+a.wrongCode(t))
		s.expectCode(t, r, "Access-Reject")
		s.expectAudit(t, a.Name, 1, "reject", "bad_passcode")
	})

	t.Run("WrongPasswordAndUnknownUserLookAlike", func(t *testing.T) {
		t.Parallel()
		a := s.newAccount(t, "wrongpw-user")
		c := a.code(t)
		wrong := login(t, addr, a.Name, "not-the-password,"+c.Code)
		s.expectCode(t, wrong, "Access-Reject")
		unknown := login(t, addr, "nobody-here", "not-the-password,"+c.Code)
		s.expectCode(t, unknown, "Access-Reject")
		if wrong.ReplyMessage == "" || wrong.ReplyMessage != unknown.ReplyMessage {
			t.Fatalf("Reply-Message differs (or is empty): wrong password %q, unknown user %q",
				wrong.ReplyMessage, unknown.ReplyMessage)
		}
		s.expectAudit(t, a.Name, 1, "reject", "bad_credentials")
		s.expectAudit(t, "nobody-here", 1, "reject", "bad_credentials")
		// The right code after a wrong password was not burnt.
		s.expectCode(t, login(t, addr, a.Name, a.Password+","+c.Code), "Access-Accept")
		a.accepted(c)
	})

	t.Run("StatusServer", func(t *testing.T) {
		t.Parallel()
		r := radclient(t, addr, "NAS-Identifier = \"itest-status\"", radclientOpts{Command: "status", MA: true})
		s.expectCode(t, r, "Access-Accept")
	})

	t.Run("Accounting", func(t *testing.T) {
		t.Parallel()
		attrs := `Acct-Status-Type = Start, User-Name = "acct-user", Acct-Session-Id = "itest-0001", NAS-Identifier = "itest-nas", NAS-IP-Address = 127.0.0.1`
		r := radclient(t, s.acctAddr(t), attrs, radclientOpts{Command: "acct"})
		if r.Code != "Accounting-Response" {
			// Not fatal: the audit below tells whether the server took it.
			t.Errorf("radclient: got %q, want Accounting-Response\n%s", r.Code, r.Output)
		}
		recs := s.waitAuditKind(t, "accounting", "acct-user")
		if d := recs[0].Detail; !strings.Contains(d, "Start") || !strings.Contains(d, "itest-0001") {
			s.fatalf(t, "accounting audit record does not name the status and session: %v", recs[0])
		}
		if len(recs) != 1 {
			s.fatalf(t, "%d accounting records for one request (a retransmission must be answered from the reply cache): %v", len(recs), recs)
		}
	})

	t.Run("MissingMessageAuthenticatorIsDropped", func(t *testing.T) {
		t.Parallel()
		a := s.newAccount(t, "noma-user")
		r := radclient(t, addr, userAttrs(a.Name, a.Password+","+a.code(t).Code), radclientOpts{Timeout: 500 * time.Millisecond})
		s.expectCode(t, r, "")
		s.expectNoDecision(t, a.Name)
	})

	t.Run("WrongMessageAuthenticatorIsDropped", func(t *testing.T) {
		t.Parallel()
		a := s.newAccount(t, "badma-user")
		conn := dialUDP(t, addr)
		req := accessRequest(t, radius.CodeAccessRequest, a.Name, a.Password+","+a.code(t).Code)
		conn.send(t, corruptMA(req))
		conn.send(t, withoutMA(req))
		if reply := conn.recv(t, noReplyWait); reply != nil {
			s.fatalf(t, "a request with a corrupt or no Message-Authenticator got a reply: % x", reply)
		}
		// The same request correctly signed is answered: the drops were
		// about the attribute, not the socket or the cache.
		p := s.mustReply(t, req, conn.exchange(t, req))
		if p.Code != radius.CodeAccessAccept {
			s.fatalf(t, "correctly signed request: got %v, want Access-Accept", p.Code)
		}
		// Only the signed copy reached the engine.
		s.expectSingleDecision(t, a.Name, "accept", "ok")
	})

	t.Run("EveryReplyIsSigned", func(t *testing.T) {
		t.Parallel()
		a := s.newAccount(t, "signed-user")
		conn := dialUDP(t, addr)
		cases := []struct {
			name string
			req  []byte
			want radius.Code
		}{
			{"accept", accessRequest(t, radius.CodeAccessRequest, a.Name, a.Password+","+a.code(t).Code), radius.CodeAccessAccept},
			{"reject", accessRequest(t, radius.CodeAccessRequest, a.Name, "wrong-password,123456"), radius.CodeAccessReject},
			{"unknown user", accessRequest(t, radius.CodeAccessRequest, "signed-nobody", "x,123456"), radius.CodeAccessReject},
			{"status-server", accessRequest(t, radius.CodeStatusServer, "", ""), radius.CodeAccessAccept},
		}
		for _, c := range cases {
			p := s.mustReply(t, c.req, conn.exchange(t, c.req))
			if p.Code != c.want {
				s.fatalf(t, "%s: got %v, want %v", c.name, p.Code, c.want)
			}
			if c.want == radius.CodeAccessReject && rfc2865.ReplyMessage_GetString(p) == "" {
				s.fatalf(t, "%s: Access-Reject without Reply-Message", c.name)
			}
		}
	})

	t.Run("RetransmissionAfterReply", func(t *testing.T) {
		t.Parallel()
		a := s.newAccount(t, "retrans-user")
		conn := dialUDP(t, addr)
		req := accessRequest(t, radius.CodeAccessRequest, a.Name, a.Password+","+a.code(t).Code)
		first := conn.exchange(t, req)
		if p := s.mustReply(t, req, first); p.Code != radius.CodeAccessAccept {
			s.fatalf(t, "got %v, want Access-Accept", p.Code)
		}
		for i := range 2 {
			again := conn.exchange(t, req)
			if string(again) != string(first) {
				s.fatalf(t, "retransmission %d: reply differs\nfirst: % x\nagain: % x", i+1, first, again)
			}
		}
		s.expectSingleDecision(t, a.Name, "accept", "ok")
	})
}

// TestLegacyClientWithoutMessageAuthenticator: a client configured with
// require_message_authenticator "false" is answered without the attribute,
// but a request carrying Proxy-State and no Message-Authenticator (the
// Blast-RADIUS forgery shape) is still dropped.
func TestLegacyClientWithoutMessageAuthenticator(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{RequireMA: "false"})
	addr := s.authAddr(t)
	a := s.newAccount(t, "legacy-user")

	t.Run("Answered", func(t *testing.T) {
		c := a.code(t)
		s.expectCode(t, radclient(t, addr, userAttrs(a.Name, a.Password+","+c.Code), radclientOpts{}), "Access-Accept")
		a.accepted(c)
		s.expectCode(t, radclient(t, addr, userAttrs("legacy-nobody", "x,123456"), radclientOpts{}), "Access-Reject")
	})
	t.Run("ProxyStateWithoutMADropped", func(t *testing.T) {
		attrs := userAttrs("legacy-nobody", "x,123456") + ", Proxy-State = 0x01020304"
		s.expectCode(t, radclient(t, addr, attrs, radclientOpts{Timeout: 500 * time.Millisecond}), "")
	})
}

// TestIPv6: a server bound to [::1] answers radclient and the Go client over
// IPv6, on both its authentication and accounting ports.
func TestIPv6(t *testing.T) {
	t.Parallel()
	probe, err := net.ListenPacket("udp", "[::1]:0")
	if err != nil {
		t.Fatalf("this machine cannot bind UDP on [::1] (%v): the IPv6 test needs a loopback with ::1; enable IPv6 on lo", err)
	}
	probe.Close()

	s := startServer(t, serverOpts{Listen: "[::1]:0", AcctListen: "[::1]:0"})
	addr := s.authAddr(t)
	if ap, err := netip.ParseAddrPort(addr); err != nil || ap.Addr() != netip.IPv6Loopback() {
		s.fatalf(t, "ready line: auth address %q, want [::1]:PORT (%v)", addr, err)
	}
	a := s.newAccount(t, "ipv6-user")

	t.Run("radclient", func(t *testing.T) {
		c := a.code(t)
		s.expectCode(t, login(t, addr, a.Name, a.Password+","+c.Code), "Access-Accept")
		a.accepted(c)
		s.expectAudit(t, a.Name, 1, "accept", "ok")
	})
	t.Run("GoClient", func(t *testing.T) {
		conn := dialUDP(t, addr)
		req := accessRequest(t, radius.CodeAccessRequest, a.Name, "wrong-password,123456")
		if p := s.mustReply(t, req, conn.exchange(t, req)); p.Code != radius.CodeAccessReject {
			s.fatalf(t, "got %v, want Access-Reject", p.Code)
		}
		status := accessRequest(t, radius.CodeStatusServer, "", "")
		if p := s.mustReply(t, status, conn.exchange(t, status)); p.Code != radius.CodeAccessAccept {
			s.fatalf(t, "Status-Server: got %v, want Access-Accept", p.Code)
		}
	})
	t.Run("Accounting", func(t *testing.T) {
		attrs := `Acct-Status-Type = Start, User-Name = "ipv6-acct", Acct-Session-Id = "itest-v6", NAS-Identifier = "itest-nas"`
		s.expectCode(t, radclient(t, s.acctAddr(t), attrs, radclientOpts{Command: "acct"}), "Accounting-Response")
	})
}
