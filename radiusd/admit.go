package radiusd

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"time"

	"layeh.com/radius"
)

// request is one datagram on its way through the server. It is pooled: the
// read buffer is reused, and an admitted request owns it until serve ends.
type request struct {
	buf [radius.MaxPacketLength]byte
	n   int
	origin
}

// origin is where an admitted request came from and what its reply needs
// of it, apart from Proxy-State: a request held while the user answers a
// push keeps this, not the buffer.
type origin struct {
	src      netip.AddrPort // as received (maybe IPv4-mapped): replies go there
	received time.Time
	l        *listener
	client   *clientState
	typ      requestType
	key      cacheKey        // owned in the reply cache unless typ is typeStatus
	hdr      [headerLen]byte // the request's header: code, identifier, authenticator
}

// packet is the datagram cut to the length in its header (checked by admit).
func (r *request) packet() []byte {
	return r.buf[:binary.BigEndian.Uint16(r.buf[2:4])]
}

// requestAuthenticator is the header's authenticator field.
func (r *request) requestAuthenticator() []byte { return r.buf[4:headerLen] }

// source is the client address with an IPv4-mapped address unmapped.
func (r *origin) source() netip.AddrPort {
	return netip.AddrPortFrom(r.src.Addr().Unmap(), r.src.Port())
}

// admit is the read goroutine's stage: it identifies and authenticates the
// datagram in r, answers retransmissions from the reply cache and takes an
// in-flight slot. It returns true when r must be handed to serve.
func (s *Server) admit(l *listener, r *request) bool {
	c := s.clients.lookup(r.src.Addr())
	if c == nil {
		s.unknownClient(r.source())
		return false
	}
	b := r.buf[:r.n]
	typ, withMA, cause, ok := s.check(l, c, b)
	if !ok {
		s.drop(cause, c, r.source())
		return false
	}
	r.l, r.client, r.typ = l, c, typ
	copy(r.hdr[:], b[:headerLen])
	if typ != typeStatus {
		// Status-Server is never cached: it asks whether we are alive now.
		r.key = newCacheKey(r.src, b)
		if !s.beginCached(r) {
			return false
		}
	}
	if !s.acquire() {
		if typ != typeStatus {
			s.cache.forget(r.key)
		}
		s.drop(dropOverloaded, c, r.source())
		return false
	}
	c.metrics.requests[typ].Inc()
	c.summary.admitted(typ, withMA, r.received, r.src.Addr().Unmap())
	return true
}

// beginCached registers r in the reply cache. It returns false when r is a
// retransmission (pending: dropped; answered: the cached reply is resent byte
// for byte, or nothing when there was none) or the cache is full.
func (s *Server) beginCached(r *request) bool {
	st, reply := s.cache.begin(r.key, s.mono(r.received))
	switch st {
	case cachePending:
		s.drop(dropDuplicatePending, r.client, r.source())
		return false
	case cacheDone:
		if len(reply) == 0 { // processed, but its reply could not be encoded
			s.drop(dropReplyError, r.client, r.source())
			return false
		}
		if _, err := r.l.w.WriteToUDPAddrPort(reply, r.src); err != nil {
			s.log.Warn("radius write failed", slog.Any("src", r.source()), slog.Any("err", err))
		}
		s.drop(dropDuplicateReplayed, r.client, r.source())
		return false
	case cacheFull:
		s.drop(dropReplyCacheFull, r.client, r.source())
		return false
	}
	return true
}

// check validates the datagram b from client c: header, code for this port,
// attribute structure, Request Authenticator (accounting) and
// Message-Authenticator (verified whenever present, required per policy).
// withMA reports a valid Message-Authenticator in a request that passed.
func (s *Server) check(l *listener, c *clientState, b []byte) (typ requestType, withMA bool, cause dropCause, ok bool) {
	if len(b) < headerLen {
		return 0, false, dropMalformed, false
	}
	length := int(binary.BigEndian.Uint16(b[2:4]))
	if length < headerLen || length > len(b) || length > radius.MaxPacketLength {
		return 0, false, dropMalformed, false
	}
	b = b[:length]
	typ, ok = requestTypeOf(l.kind, radius.Code(b[0]))
	if !ok {
		return 0, false, dropUnexpectedCode, false
	}
	ma, proxyState, cause, ok := scanAttributes(b[headerLen:])
	if !ok {
		return typ, false, cause, false
	}
	h := c.getHasher()
	defer c.putHasher(h)
	if typ == typeAccounting && !h.authenticAccountingRequest(b) {
		return typ, false, dropBadAuthenticator, false
	}
	if ma >= 0 && !h.verifyMessageAuthenticator(b, headerLen+ma) {
		return typ, false, dropBadMA, false
	}
	if !s.requireMA(c, typ, ma >= 0, proxyState) {
		return typ, false, dropMissingMA, false
	}
	return typ, ma >= 0, 0, true
}

// requestTypeOf says which codes each port serves.
func requestTypeOf(kind portKind, code radius.Code) (requestType, bool) {
	switch {
	case code == radius.CodeStatusServer:
		return typeStatus, true
	case kind == portAuth && code == radius.CodeAccessRequest:
		return typeAccess, true
	case kind == portAcct && code == radius.CodeAccountingRequest:
		return typeAccounting, true
	}
	return 0, false
}

// requireMA applies the client's Message-Authenticator policy to a request
// whose MA, if present, has already been verified.
//
// Invariant: an Access-Request carrying Proxy-State is never accepted without
// a Message-Authenticator (BlastRADIUS, CVE-2024-3596), whatever the policy.
func (s *Server) requireMA(c *clientState, typ requestType, hasMA, proxyState bool) bool {
	switch {
	case typ == typeAccounting:
		return true // protected by its Request Authenticator
	case hasMA:
		if typ == typeAccess && c.requireMA == MAAuto && c.maSeen.CompareAndSwap(false, true) {
			s.log.Info("radius client sent a Message-Authenticator: now required", slog.String("client", c.name))
		}
		return true
	case typ == typeStatus: // RFC 5997 §3
		return false
	case c.requireMA == MARequire, c.requireMA == MAAuto && c.maSeen.Load():
		return false
	}
	return !proxyState
}

// scanAttributes walks the wire attributes of a request without allocating.
// It returns the offset of the Message-Authenticator value (-1 when absent)
// and whether Proxy-State is present. The structural rules are those of
// radius.ParseAttributes, so a packet accepted here also parses there.
func scanAttributes(b []byte) (ma int, proxyState bool, cause dropCause, ok bool) {
	ma = -1
	for i := 0; i < len(b); {
		if len(b)-i < 2 {
			return ma, proxyState, dropMalformed, false
		}
		n := int(b[i+1])
		if n < 2 || n > len(b)-i {
			return ma, proxyState, dropMalformed, false
		}
		switch b[i] {
		case typeMessageAuthenticator:
			if n != maAttrLen || ma >= 0 { // RFC 3579 §3.2: exactly one, 16 octets
				return ma, proxyState, dropBadMA, false
			}
			ma = i + 2
		case typeProxyState:
			proxyState = true
		}
		i += n
	}
	return ma, proxyState, 0, true
}

// acquire takes an in-flight slot; the caller then owns one handlers count.
func (s *Server) acquire() bool {
	if s.inFlight.Add(1) > int64(s.cfg.MaxInFlight) {
		s.inFlight.Add(-1)
		return false
	}
	s.handlers.Add(1)
	return true
}

// release returns an admitted request's in-flight slot and ends it for
// Shutdown. A held request gives its slot back when it is held (see hold)
// and ends when it is answered.
func (s *Server) release() {
	s.inFlight.Add(-1)
	s.handlers.Done()
}

func (s *Server) unknownClient(src netip.AddrPort) {
	s.metrics.dropped[dropUnknownClient].Inc()
	if s.unknown.allow(src.Addr(), time.Now()) {
		s.log.Warn("radius request from unknown client dropped", slog.String("src", src.Addr().String()))
	}
}

// drop counts a dropped datagram. A bad authenticator usually means a wrong
// shared secret, worth a (rate-limited) warning; other causes log at debug.
func (s *Server) drop(cause dropCause, c *clientState, src netip.AddrPort) {
	s.metrics.dropped[cause].Inc()
	if (cause == dropBadMA || cause == dropBadAuthenticator) && s.badSecret.allow(src.Addr(), time.Now()) {
		s.log.Warn("radius request with a bad authenticator dropped: check the shared secret",
			slog.String("client", c.name), slog.String("src", src.String()), slog.String("cause", cause.String()))
		return
	}
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	s.log.Debug("radius request dropped",
		slog.String("client", c.name), slog.String("src", src.String()), slog.String("cause", cause.String()))
}
