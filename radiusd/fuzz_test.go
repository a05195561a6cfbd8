package radiusd

import (
	"context"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"layeh.com/radius"

	"radiusmfa/auth"
	"radiusmfa/store"
)

type discardAudit struct{}

func (discardAudit) Record(store.AuditRecord) {}

type discardWriter struct{}

func (discardWriter) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) { return len(b), nil }

// fuzzDecider exercises every outcome, chosen by the user name's length.
type fuzzDecider struct{}

func (fuzzDecider) Decide(_ context.Context, r auth.Request) auth.Decision {
	switch len(r.UserName) % 4 {
	case 0:
		return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK, Message: r.UserName}
	case 1:
		return auth.Decision{Outcome: auth.Challenge, Reason: auth.ReasonPasscodeRequired, Message: r.Password, State: []byte(r.UserName)}
	case 2:
		return auth.Decision{Outcome: auth.Drop, Reason: auth.ReasonOverloaded}
	}
	return auth.Decision{Outcome: auth.Reject, Reason: auth.ReasonBadCredentials}
}

// handleNow runs one datagram through both stages synchronously, as the
// read loop and its request goroutine would.
func (s *Server) handleNow(l *listener, b []byte, src netip.AddrPort) {
	r := s.requests.Get().(*request)
	r.n, r.src, r.received = copy(r.buf[:], b), src, time.Now()
	if s.admit(l, r) {
		s.serve(r)
		return
	}
	s.requests.Put(r)
}

// resign returns a copy of b with valid authenticators where b has the
// shape for them, so that the fuzzer reaches the stages behind the checks.
func resign(c *clientState, b []byte) []byte {
	if len(b) < headerLen {
		return b
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < headerLen || n > len(b) || n > radius.MaxPacketLength {
		return b
	}
	b = append([]byte(nil), b[:n]...)
	h := c.getHasher()
	defer c.putHasher(h)
	if ma, _, _, ok := scanAttributes(b[headerLen:]); ok && ma >= 0 {
		acct := radius.Code(b[0]) == radius.CodeAccountingRequest
		var auth *[16]byte
		if acct {
			auth = &zeroAuthenticator
		}
		copy(b[headerLen+ma:], h.messageAuthenticator(b, headerLen+ma, auth))
	}
	if radius.Code(b[0]) == radius.CodeAccountingRequest {
		h.md5.Reset()
		h.md5.Write(b[:4])
		h.md5.Write(zeroAuthenticator[:])
		h.md5.Write(b[headerLen:])
		h.md5.Write(h.secret)
		h.md5.Sum(b[4:4:headerLen])
	}
	return b
}

// FuzzHandlePacket feeds arbitrary datagrams, as sent and re-signed, to the
// authentication and accounting paths: parse, authenticator checks, policy,
// decode, decide, encode. It must never panic. The seed corpus in
// testdata/fuzz/FuzzHandlePacket is replayed by plain go test.
func FuzzHandlePacket(f *testing.F) {
	cfg := testConfig()
	cfg.Clients[0].RequireMA = MAOptional
	s, err := NewServer(cfg, fuzzDecider{}, discardAudit{}, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	c := s.clients.all[0]
	ls := []*listener{{w: discardWriter{}, kind: portAuth}, {w: discardWriter{}, kind: portAcct}}
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	mapped := netip.MustParseAddrPort("[::ffff:127.0.0.1]:40001")
	f.Fuzz(func(t *testing.T, data []byte) {
		s.cache = newReplyCache(int64(time.Minute), 1024) // each input starts afresh
		for _, l := range ls {
			s.handleNow(l, data, src)
			s.handleNow(l, resign(c, data), mapped)
		}
		if n := s.inFlight.Load(); n != 0 {
			t.Fatalf("in-flight count leaked: %d", n)
		}
	})
}
