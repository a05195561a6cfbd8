// Package radiustest is a small RADIUS client for tests and benchmarks of
// radiusmfa: it encodes requests (optionally with a Message-Authenticator),
// exchanges them over UDP and verifies replies. It computes the
// authenticators itself from the RFC definitions, independently of package
// radiusd, so that each checks the other.
package radiustest

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

const headerLen = 20

// NewAccessRequest returns an Access-Request with a random Identifier and
// Request Authenticator, User-Name and an encrypted User-Password.
func NewAccessRequest(secret []byte, user, password string) *radius.Packet {
	p := radius.New(radius.CodeAccessRequest, secret)
	p.Add(rfc2865.UserName_Type, radius.Attribute(user))
	pw, err := radius.NewUserPassword([]byte(password), secret, p.Authenticator[:])
	if err != nil {
		panic(fmt.Sprintf("radiustest: password: %v", err)) // only for a password > 128 octets
	}
	p.Add(rfc2865.UserPassword_Type, pw)
	return p
}

// Encode returns p in wire format as a client sends it. With withMA a
// Message-Authenticator is added as the first attribute (RFC 3579 §3.2),
// replacing any present. An Accounting-Request gets its Request
// Authenticator (RFC 2866 §3), computed after the Message-Authenticator.
func Encode(p *radius.Packet, withMA bool) ([]byte, error) {
	q := *p
	q.Attributes = slices.Clone(p.Attributes)
	if !withMA {
		return q.Encode() // Encode computes the authenticator of an Accounting-Request
	}
	q.Attributes.Del(rfc2869.MessageAuthenticator_Type)
	q.Attributes = slices.Insert(q.Attributes, 0, &radius.AVP{
		Type: rfc2869.MessageAuthenticator_Type, Attribute: make(radius.Attribute, md5.Size)})
	acct := q.Code == radius.CodeAccountingRequest
	if acct {
		q.Authenticator = [16]byte{}
	}
	b, err := q.MarshalBinary()
	if err != nil {
		return nil, err
	}
	mac := hmac.New(md5.New, q.Secret)
	mac.Write(b)
	copy(b[headerLen+2:], mac.Sum(nil))
	if acct {
		h := md5.New()
		h.Write(b)
		h.Write(q.Secret)
		copy(b[4:headerLen], h.Sum(nil))
	}
	return b, nil
}

// VerifyResponseAuthenticator checks the Response Authenticator of raw, a
// reply to a request whose authenticator was reqAuth (RFC 2865 §3, RFC 2866 §3).
func VerifyResponseAuthenticator(raw, reqAuth, secret []byte) error {
	if len(raw) < headerLen || len(reqAuth) != md5.Size {
		return errors.New("radiustest: short packet or authenticator")
	}
	n := int(binary.BigEndian.Uint16(raw[2:4]))
	if n < headerLen || n > len(raw) {
		return errors.New("radiustest: bad length field")
	}
	raw = raw[:n]
	h := md5.New()
	h.Write(raw[:4])
	h.Write(reqAuth)
	h.Write(raw[headerLen:])
	h.Write(secret)
	if !hmac.Equal(h.Sum(nil), raw[4:headerLen]) {
		return errors.New("radiustest: bad Response Authenticator")
	}
	return nil
}

// VerifyResponse checks that raw is an authentic reply to a request whose
// authenticator was reqAuth: its Response Authenticator and a valid
// Message-Authenticator as its first attribute (RFC 3579 §3.2).
func VerifyResponse(raw, reqAuth, secret []byte) error {
	if err := VerifyResponseAuthenticator(raw, reqAuth, secret); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint16(raw[2:4]))
	raw = raw[:n]
	if n < headerLen+18 || raw[headerLen] != byte(rfc2869.MessageAuthenticator_Type) || raw[headerLen+1] != 18 {
		return errors.New("radiustest: first attribute is not a Message-Authenticator")
	}
	signed := slices.Clone(raw)
	copy(signed[4:headerLen], reqAuth)
	clear(signed[headerLen+2 : headerLen+18])
	mac := hmac.New(md5.New, secret)
	mac.Write(signed)
	if !hmac.Equal(mac.Sum(nil), raw[headerLen+2:headerLen+18]) {
		return errors.New("radiustest: bad Message-Authenticator")
	}
	return nil
}

// Conn is a client socket. Replies come back to its one source port, which
// retransmission tests need.
type Conn struct {
	c *net.UDPConn
}

// Dial opens a client socket to addr ("127.0.0.1:1812").
func Dial(addr string) (*Conn, error) { return DialFrom(netip.Addr{}, addr) }

// DialFrom is Dial from the local address local (e.g. 127.0.0.2, to be
// another RADIUS client on loopback); the zero Addr lets the system choose.
func DialFrom(local netip.Addr, addr string) (*Conn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	var la *net.UDPAddr
	if local.IsValid() {
		la = net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0))
	}
	c, err := net.DialUDP("udp", la, ua)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c}, nil
}

// Send writes one datagram.
func (c *Conn) Send(b []byte) error {
	_, err := c.c.Write(b)
	return err
}

// Receive reads one datagram, waiting at most timeout.
func (c *Conn) Receive(timeout time.Duration) ([]byte, error) {
	if err := c.c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	buf := make([]byte, radius.MaxPacketLength)
	n, err := c.c.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// LocalAddr is the client's source address.
func (c *Conn) LocalAddr() net.Addr { return c.c.LocalAddr() }

// Close closes the socket.
func (c *Conn) Close() error { return c.c.Close() }

// Exchange sends p (with secret, and a Message-Authenticator when withMA)
// to addr and waits until ctx ends for the reply with its Identifier. The
// reply is returned parsed and raw; err is non-nil when it does not arrive
// or fails VerifyResponse (VerifyResponseAuthenticator for the reply to an
// Accounting-Request, which carries no Message-Authenticator).
func Exchange(ctx context.Context, addr string, secret []byte, p *radius.Packet, withMA bool) (*radius.Packet, []byte, error) {
	return ExchangeFrom(ctx, netip.Addr{}, addr, secret, p, withMA)
}

// ExchangeFrom is Exchange sent from the local address local.
func ExchangeFrom(ctx context.Context, local netip.Addr, addr string, secret []byte, p *radius.Packet, withMA bool) (*radius.Packet, []byte, error) {
	q := *p
	q.Secret = secret
	b, err := Encode(&q, withMA)
	if err != nil {
		return nil, nil, err
	}
	c, err := DialFrom(local, addr)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() }) // unblocks Receive
	defer stop()
	if err := c.Send(b); err != nil {
		return nil, nil, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	for {
		raw, err := c.Receive(time.Until(deadline))
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			return nil, nil, err
		}
		if len(raw) < headerLen || raw[1] != b[1] {
			continue // not ours
		}
		reply, err := radius.Parse(raw, secret)
		if err != nil {
			return nil, raw, err
		}
		verify := VerifyResponse
		if q.Code == radius.CodeAccountingRequest {
			verify = VerifyResponseAuthenticator
		}
		return reply, raw, verify(raw, b[4:headerLen], secret)
	}
}
