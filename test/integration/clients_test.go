package integration

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"

	"radiusmfa/radiusd/radiustest"
)

// radReply is what radclient saw.
type radReply struct {
	Code         string // "Access-Accept", "Access-Reject", "Accounting-Response"; "" for no reply
	ReplyMessage string
	State        string // an Access-Challenge's State, hex as radclient prints it ("0x…")
	Output       string // radclient's whole output, for failure messages
}

var (
	receivedRe = regexp.MustCompile(`Received ([A-Za-z-]+) Id \d+`)
	replyMsgRe = regexp.MustCompile(`(?m)^\s*Reply-Message = "(.*)"\s*$`)
	stateRe    = regexp.MustCompile(`(?m)^\s*State = (0x[0-9a-fA-F]+)\s*$`)
	noReplyRe  = regexp.MustCompile(`(?i)no reply from server`)
)

// radclientOpts say how radclient sends one request.
type radclientOpts struct {
	Command string        // auth (default), acct, status
	Timeout time.Duration // per try, default 2 s; there is one retry
	MA      bool          // send Message-Authenticator (radclient computes it)
}

// radclient sends one request made of attrs (radclient's "A = v, B = w"
// syntax) to addr and parses the answer. A missing reply is not an error:
// Code is "" and Output holds radclient's report.
func radclient(t *testing.T, addr, attrs string, o radclientOpts) radReply {
	t.Helper()
	command := or(o.Command, "auth")
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	if o.MA {
		attrs += ", Message-Authenticator = 0x00"
	}
	args := []string{"-x", "-r", "1", "-t", fmt.Sprintf("%g", timeout.Seconds()), addr, command, testSecret}
	ctx, cancel := context.WithTimeout(context.Background(), 4*timeout+5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "radclient", args...)
	cmd.Stdin = strings.NewReader(attrs + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r := radReply{Output: fmt.Sprintf("$ echo '%s' | radclient %s\n%s", attrs, strings.Join(args, " "), out.String())}
	if ctx.Err() != nil {
		t.Fatalf("radclient hung:\n%s", r.Output)
	}
	if loc := receivedRe.FindStringSubmatchIndex(out.String()); loc != nil {
		r.Code = out.String()[loc[2]:loc[3]]
		received := out.String()[loc[0]:] // the reply's attributes, not the request's
		if mm := replyMsgRe.FindStringSubmatch(received); mm != nil {
			r.ReplyMessage = mm[1]
		}
		if mm := stateRe.FindStringSubmatch(received); mm != nil {
			r.State = mm[1]
		}
		return r
	}
	// radclient exits non-zero both for a reject and for no reply; without a
	// "Received" line it must be the latter, which it says in words.
	if err == nil || !noReplyRe.MatchString(out.String()) {
		t.Fatalf("radclient gave neither a reply nor a timeout (err %v):\n%s", err, r.Output)
	}
	return r
}

// login is radclient auth with User-Name and User-Password "password,code"
// and a Message-Authenticator.
func login(t *testing.T, addr, user, password string) radReply {
	t.Helper()
	return radclient(t, addr, userAttrs(user, password), radclientOpts{MA: true})
}

func userAttrs(user, password string) string {
	return fmt.Sprintf("User-Name = %q, User-Password = %q, NAS-Identifier = \"itest-nas\"", user, password)
}

// expectCode fails t, with radclient's output and the server log, unless the
// reply code is want ("" for no reply).
func (s *server) expectCode(t *testing.T, r radReply, want string) {
	t.Helper()
	if r.Code != want {
		if want == "" {
			want = "no reply"
		}
		s.fatalf(t, "radclient: got %q, want %s\n%s", r.Code, want, r.Output)
	}
}

// Requests are built and sent with radiusd/radiustest; replies are checked
// by checkReply below against the RFC definitions computed here, so that a
// shared mistake in the server and that helper cannot hide.

const (
	headerLen    = 20
	typeMA       = byte(rfc2869.MessageAuthenticator_Type) // 80
	maAttrLen    = 2 + md5.Size
	replyTimeout = 3 * time.Second
	// noReplyWait is how long a dropped request is given to prove it was
	// dropped: far above a loopback round trip with a cheap hash.
	noReplyWait = time.Second
)

// accessRequest encodes an Access-Request (or a bare Status-Server when user
// is "") with Message-Authenticator as its first attribute.
func accessRequest(t *testing.T, code radius.Code, user, password string) []byte {
	t.Helper()
	secret := []byte(testSecret)
	p := radius.New(code, secret)
	if user != "" {
		p = radiustest.NewAccessRequest(secret, user, password)
		if err := rfc2865.NASIdentifier_SetString(p, "itest-go"); err != nil {
			t.Fatal(err)
		}
	}
	b, err := radiustest.Encode(p, true)
	if err != nil {
		t.Fatal(err)
	}
	if b[headerLen] != typeMA || b[headerLen+1] != maAttrLen {
		t.Fatalf("encoded request does not start with Message-Authenticator: % x", b[:headerLen+2])
	}
	return b
}

// withoutMA returns the request b with its leading Message-Authenticator removed.
func withoutMA(b []byte) []byte {
	out := append(append([]byte{}, b[:headerLen]...), b[headerLen+maAttrLen:]...)
	binary.BigEndian.PutUint16(out[2:4], uint16(len(out)))
	return out
}

// corruptMA returns a copy of b with one bit of its Message-Authenticator flipped.
func corruptMA(b []byte) []byte {
	out := bytes.Clone(b)
	out[headerLen+2+7] ^= 0x01
	return out
}

// udpConn is one client socket: retransmissions from it share the source
// address and port, as a NAS's do.
type udpConn struct {
	*radiustest.Conn
}

func dialUDP(t *testing.T, addr string) udpConn {
	t.Helper()
	c, err := radiustest.Dial(addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return udpConn{c}
}

func (c udpConn) send(t *testing.T, b []byte) {
	t.Helper()
	if err := c.Send(b); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// recv reads one datagram, or returns nil when none comes within d.
func (c udpConn) recv(t *testing.T, d time.Duration) []byte {
	t.Helper()
	b, err := c.tryRecv(d)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return b
}

// tryRecv is recv for goroutines other than the test's.
func (c udpConn) tryRecv(d time.Duration) ([]byte, error) {
	b, err := c.Receive(d)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, nil
	}
	return b, err
}

// exchange sends req and returns the reply, or nil after replyTimeout.
func (c udpConn) exchange(t *testing.T, req []byte) []byte {
	t.Helper()
	c.send(t, req)
	return c.recv(t, replyTimeout)
}

// checkReply verifies reply against req and returns it parsed: Identifier,
// length, the Response Authenticator (RFC 2865 §3), and a Message-Authenticator
// that is the first attribute and verifies (RFC 3579 §3.2: HMAC-MD5 over the
// reply with the Request Authenticator in the header and a zero MA value).
// It returns an error rather than failing so callers can attach context.
func checkReply(req, reply []byte) (*radius.Packet, error) {
	if len(reply) < headerLen {
		return nil, errors.New("reply shorter than a RADIUS header")
	}
	if n := int(binary.BigEndian.Uint16(reply[2:4])); n != len(reply) {
		return nil, errors.New("length field does not match the datagram")
	}
	if reply[1] != req[1] {
		return nil, errors.New("identifier does not match the request")
	}
	h := md5.New()
	h.Write(reply[:4])
	h.Write(req[4:headerLen])
	h.Write(reply[headerLen:])
	h.Write([]byte(testSecret))
	if !hmac.Equal(h.Sum(nil), reply[4:headerLen]) {
		return nil, errors.New("response authenticator does not verify")
	}
	if len(reply) < headerLen+maAttrLen || reply[headerLen] != typeMA || reply[headerLen+1] != maAttrLen {
		return nil, errors.New("first attribute is not a Message-Authenticator")
	}
	z := bytes.Clone(reply)
	copy(z[4:headerLen], req[4:headerLen])
	clear(z[headerLen+2 : headerLen+maAttrLen])
	mac := hmac.New(md5.New, []byte(testSecret))
	mac.Write(z)
	if !hmac.Equal(mac.Sum(nil), reply[headerLen+2:headerLen+maAttrLen]) {
		return nil, errors.New("Message-Authenticator does not verify")
	}
	return radius.Parse(reply, []byte(testSecret))
}

// mustReply is checkReply that fails t, with the server log.
func (s *server) mustReply(t *testing.T, req, reply []byte) *radius.Packet {
	t.Helper()
	if reply == nil {
		s.fatalf(t, "no reply to request id %d within %s", req[1], replyTimeout)
	}
	p, err := checkReply(req, reply)
	if err != nil {
		s.fatalf(t, "reply to request id %d: %v\nreply: % x", req[1], err, reply)
	}
	return p
}
