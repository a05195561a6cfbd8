package integration

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
)

// TestLockout: three wrong passwords lock the account (threshold 3, no expiry),
// the right password and code are then refused as locked_out, and
// `user unlock` lets the user in again.
func TestLockout(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	addr := s.authAddr(t)
	a := s.newAccount(t, "lockout-user")

	for i := range 3 {
		r := login(t, addr, a.Name, "wrong-password,"+a.wrongCode(t))
		s.expectCode(t, r, "Access-Reject")
		s.expectAudit(t, a.Name, i+1, "reject", "bad_credentials")
	}
	if state := userState(t, s, a.Name); state != "locked-out" {
		s.fatalf(t, "user list: %s is %q after 3 failures, want locked-out", a.Name, state)
	}

	c := a.code(t)
	s.expectCode(t, login(t, addr, a.Name, a.Password+","+c.Code), "Access-Reject")
	s.expectAudit(t, a.Name, 4, "reject", "locked_out")

	s.mustCLI(t, "", "user", "unlock", a.Name)
	if state := userState(t, s, a.Name); state != "active" {
		s.fatalf(t, "user list: %s is %q after unlock, want active", a.Name, state)
	}
	// The locked attempt must not have spent the code, but code() waits for
	// the next step if the server had accepted this one.
	c = a.code(t)
	s.expectCode(t, login(t, addr, a.Name, a.Password+","+c.Code), "Access-Accept")
	a.accepted(c)
	s.expectAudit(t, a.Name, 5, "accept", "ok")
}

// userState is the STATE column of `user list` for name.
func userState(t *testing.T, s *server, name string) string {
	t.Helper()
	return userListFields(t, s, name)[2]
}

// userListFields is name's row of `user list`: NAME DIRECTORY STATE
// FAILURES DEVICES CREATED MAIL PHONE.
func userListFields(t *testing.T, s *server, name string) []string {
	t.Helper()
	out := s.mustCLI(t, "", "user", "list")
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) == 8 && f[0] == name {
			return f
		}
	}
	s.fatalf(t, "user list has no %s:\n%s", name, out)
	return nil
}

// TestReplayAcrossRestart: an accepted code is refused when sent again, and
// still refused after a restart on the same data directory, because the
// single-use counter is durable.
func TestReplayAcrossRestart(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	a := s.newAccount(t, "replay-user")
	c := a.code(t)
	password := a.Password + "," + c.Code

	s.expectCode(t, login(t, s.authAddr(t), a.Name, password), "Access-Accept")
	a.accepted(c)
	s.expectAudit(t, a.Name, 1, "accept", "ok")

	s.expectCode(t, login(t, s.authAddr(t), a.Name, password), "Access-Reject")
	s.expectAudit(t, a.Name, 2, "reject", "replayed_passcode")

	s.restart(t)
	s.expectCode(t, login(t, s.authAddr(t), a.Name, password), "Access-Reject")
	s.expectAudit(t, a.Name, 3, "reject", "replayed_passcode")
}

// TestRetransmissionBeforeReply sends one request twice while the first copy
// is still being decided (argon2 makes the password check slow), then once
// more after the reply: the engine runs once, so there is one audit record,
// the code is not burnt twice, and every reply is the same bytes.
func TestRetransmissionBeforeReply(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{SlowHash: true})
	a := s.newAccount(t, "early-retrans-user")
	conn := dialUDP(t, s.authAddr(t))
	req := accessRequest(t, radius.CodeAccessRequest, a.Name, a.Password+","+a.code(t).Code)

	start := time.Now()
	conn.send(t, req)
	conn.send(t, req)
	var replies [][]byte
	for {
		// Wait long for the first reply, then briefly for any second one.
		wait := 500 * time.Millisecond
		if len(replies) == 0 {
			wait = replyTimeout
		}
		b := conn.recv(t, wait)
		if b == nil {
			break
		}
		if len(replies) == 0 {
			t.Logf("first reply after %s", time.Since(start).Round(time.Millisecond))
		}
		replies = append(replies, b)
	}
	if len(replies) == 0 {
		s.fatalf(t, "no reply to a request sent twice")
	}
	t.Logf("%d reply(ies) to two copies sent before the reply", len(replies))
	if p := s.mustReply(t, req, replies[0]); p.Code != radius.CodeAccessAccept {
		s.fatalf(t, "got %v, want Access-Accept", p.Code)
	}
	replies = append(replies, conn.exchange(t, req))
	for i, r := range replies[1:] {
		if !bytes.Equal(r, replies[0]) {
			s.fatalf(t, "reply %d differs from the first:\nfirst: % x\nthis:  % x", i+2, replies[0], r)
		}
	}
	s.expectSingleDecision(t, a.Name, "accept", "ok")
}
