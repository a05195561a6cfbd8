package integration

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"radiusmfa/radiusd/radiustest"
)

// answer is radclient answering an Access-Challenge: User-Name, the
// answer as User-Password and the challenge's State.
func answer(t *testing.T, addr, user, reply, state string) radReply {
	t.Helper()
	return radclient(t, addr, userAttrs(user, reply)+", State = "+state, radclientOpts{MA: true})
}

// TestChallengeFlows drives Access-Challenge end to end with radclient: a
// password alone is answered with a prompt and a State; the code with
// that State logs in; the State answers once; another user's name with it
// is refused; and with the Go client from another address (a second
// RADIUS client, 127.0.0.2) the State of the first is refused.
func TestChallengeFlows(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{MoreClients: fmt.Sprintf(
		"    - name: second-nas\n      networks: [\"127.0.0.2/32\"]\n      secret: %q\n", testSecret)})
	alice := s.newAccount(t, "alice-ch")
	bob := s.newAccount(t, "bob-ch")
	addr := s.authAddr(t)

	r := login(t, addr, alice.Name, alice.Password)
	s.expectCode(t, r, "Access-Challenge")
	if r.State == "" || !strings.Contains(r.ReplyMessage, "Enter the code") {
		s.fatalf(t, "challenge without State or prompt:\n%s", r.Output)
	}
	c := alice.code(t)
	s.expectCode(t, answer(t, addr, alice.Name, c.Code, r.State), "Access-Accept")
	alice.accepted(c)
	// The State is spent: a replay with the next code is refused.
	next := alice.oathtool(t, (c.Step+1)*totpPeriod, 0)[0]
	s.expectCode(t, answer(t, addr, alice.Name, next, r.State), "Access-Reject")

	// alice's State answered with bob's name and bob's right code.
	r = login(t, addr, alice.Name, alice.Password)
	s.expectCode(t, r, "Access-Challenge")
	bc := bob.code(t)
	s.expectCode(t, answer(t, addr, bob.Name, bc.Code, r.State), "Access-Reject")

	// The same State from another RADIUS client (another address).
	r = login(t, addr, alice.Name, alice.Password)
	s.expectCode(t, r, "Access-Challenge")
	state, err := hexState(r.State)
	if err != nil {
		t.Fatal(err)
	}
	p := radius.New(radius.CodeAccessRequest, []byte(testSecret))
	_ = rfc2865.UserName_SetString(p, alice.Name)
	_ = rfc2865.UserPassword_SetString(p, alice.oathtool(t, time.Now().Unix(), 0)[0])
	_ = rfc2865.State_Set(p, state)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, _, err := radiustest.ExchangeFrom(ctx, netip.MustParseAddr("127.0.0.2"), addr, []byte(testSecret), p, true)
	if err != nil {
		t.Fatalf("answer from 127.0.0.2: %v", err)
	}
	if reply.Code != radius.CodeAccessReject {
		t.Errorf("a State answered through another client: %v", reply.Code)
	}
	s.settleAudit(t)
	var bad int
	for _, rec := range s.auditTail(t, 100) {
		if rec.Reason == "bad_state" {
			bad++
		}
	}
	if bad != 3 {
		t.Errorf("%d bad_state decisions audited, want 3 (replay, other user, other client)", bad)
	}
}

// TestChallengeMenuAndExpiry: a client in "challenge" mode answers with a
// menu; "1" asks for the code, which logs in; a State answered after
// auth.challenge_timeout is refused.
func TestChallengeMenuAndExpiry(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{Challenge: "challenge", Auth: "  challenge_timeout: 5s\n"})
	a := s.newAccount(t, "menu-user")
	addr := s.authAddr(t)
	r := login(t, addr, a.Name, a.Password)
	s.expectCode(t, r, "Access-Challenge")
	if !strings.Contains(r.ReplyMessage, "1. Passcode") {
		s.fatalf(t, "no menu:\n%s", r.Output)
	}
	r = answer(t, addr, a.Name, "1", r.State)
	s.expectCode(t, r, "Access-Challenge")
	if !strings.Contains(r.ReplyMessage, "Enter the code") {
		s.fatalf(t, "choice 1 did not ask for the code:\n%s", r.Output)
	}
	c := a.code(t)
	s.expectCode(t, answer(t, addr, a.Name, c.Code, r.State), "Access-Accept")
	a.accepted(c)

	// Expiry: a State answered 5 s later is refused, though the code is right.
	r = login(t, addr, a.Name, a.Password)
	s.expectCode(t, r, "Access-Challenge")
	time.Sleep(5*time.Second + 200*time.Millisecond)
	c = a.code(t)
	late := answer(t, addr, a.Name, c.Code, r.State)
	s.expectCode(t, late, "Access-Reject")
	if !strings.Contains(late.ReplyMessage, "too long") {
		t.Errorf("expired State: Reply-Message %q", late.ReplyMessage)
	}
}

// hexState reads radclient's "0x…" spelling of an attribute value.
func hexState(s string) ([]byte, error) {
	s = strings.TrimPrefix(s, "0x")
	b := make([]byte, len(s)/2)
	_, err := fmt.Sscanf(s, "%x", &b)
	return b, err
}
