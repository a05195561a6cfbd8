package radiusd

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"time"
	"unicode/utf8"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"radiusmfa/auth"
)

const (
	// maxAttrValue is the longest attribute value RFC 2865 allows.
	maxAttrValue = 253
	// maxReplyMessage bounds the Reply-Message text (longer is cut), so that
	// a long message never makes a reply unencodable: with a full State it
	// leaves 2.7 KiB for Proxy-State. A NAS shows a few lines at most, and
	// the engine's messages come partly from the configuration.
	maxReplyMessage = 1000
)

// unanswered is the reply cached for a request that was processed but whose
// reply could not be encoded: its retransmissions are dropped, not rerun.
var unanswered = []byte{}

var (
	errReplyTooLarge = errors.New("radiusd: reply longer than 4096 octets")
	errStateTooLarge = errors.New("radiusd: State longer than 253 octets")
	errBadAttribute  = errors.New("radiusd: granted attribute not encodable (empty, over 253 octets, or of a type the reply writes itself)")
)

// replyCode maps an outcome to its reply code. An outcome this adapter does
// not know rejects: fail closed.
func replyCode(o auth.Outcome) radius.Code {
	switch o {
	case auth.Accept:
		return radius.CodeAccessAccept
	case auth.Challenge:
		return radius.CodeAccessChallenge
	}
	return radius.CodeAccessReject
}

// reply encodes, caches and writes the reply to r. When the reply cannot
// be encoded it sends nothing, counts a reply_error drop and returns the
// error for the caller's log line. The request is then cached as answered
// with nothing, not forgotten: the failure would repeat, and a
// retransmission must not run the Decider again (a second run could even
// decide differently, e.g. a one-time code already used).
func (s *Server) reply(r *origin, code radius.Code, msg string, state []byte, attrs []auth.Attribute, req radius.Attributes) error {
	h := r.client.getHasher()
	b, err := encodeReply(h, code, r.hdr[:], msg, state, attrs, req)
	r.client.putHasher(h)
	if err != nil {
		if r.typ != typeStatus {
			s.cache.complete(r.key, unanswered, s.mono(time.Now()))
		}
		s.drop(dropReplyError, r.client, r.source())
		return err
	}
	if r.typ != typeStatus {
		s.cache.complete(r.key, b, s.mono(time.Now()))
	}
	if _, err := r.l.w.WriteToUDPAddrPort(b, r.src); err != nil {
		s.log.Warn("radius write failed", slog.Any("src", r.source()), slog.Any("err", err))
	}
	return nil
}

// encodeReply builds the signed reply to the request whose header is reqHdr,
// in one allocation (the reply cache keeps a copy): Message-Authenticator
// first, then Reply-Message (cut to maxReplyMessage octets, split into
// 253-octet attributes), State, on an Access-Accept the granted attributes
// attrs in order, and the request's Proxy-State attributes in order
// (RFC 2865 §5.33). It writes its own attributes rather than going through
// radius.Packet so that no per-attribute allocation is needed.
//
// Invariant: every reply to an Access-Request or Status-Server carries a
// valid Message-Authenticator as its first attribute
// (TestInvariantMessageAuthenticatorFirst). An Accounting-Response to an
// Accounting-Request carries none: RFC 2866 defines none, and clients
// disagree on how one would be computed (FreeRADIUS zeroes the
// authenticator field, RFC 5997 uses the request's), so adding one could
// only make a client discard the response.
//
// Invariant: granted attributes are sent in an Access-Accept only, never in
// a Reject or Challenge, whatever the decision carries
// (TestInvariantGrantedAttributesOnlyOnAccept).
func encodeReply(h *hasher, code radius.Code, reqHdr []byte, msg string, state []byte, attrs []auth.Attribute, req radius.Attributes) ([]byte, error) {
	if len(state) > maxAttrValue {
		return nil, errStateTooLarge
	}
	if code != radius.CodeAccessAccept {
		attrs = nil
	}
	withMA := radius.Code(reqHdr[0]) != radius.CodeAccountingRequest
	msg = cutUTF8(msg, maxReplyMessage)
	size := headerLen + maAttrLen + len(msg) + 2*(len(msg)/(maxAttrValue-3)+1) + 2 + len(state)
	for _, a := range attrs {
		if !grantableWire(a) {
			return nil, errBadAttribute
		}
		size += 2 + len(a.Data)
	}
	for _, a := range req {
		if a.Type == rfc2865.ProxyState_Type {
			size += 2 + len(a.Attribute)
		}
	}
	b := make([]byte, headerLen, min(size, radius.MaxPacketLength))
	b[0], b[1] = byte(code), reqHdr[1]
	copy(b[4:headerLen], reqHdr[4:headerLen])
	if withMA {
		b = append(b, typeMessageAuthenticator, maAttrLen)
		b = append(b, zeroAuthenticator[:]...)
	}
	b = appendReplyMessage(b, msg)
	if len(state) > 0 {
		b = appendAttr(b, byte(rfc2865.State_Type), state)
	}
	for _, a := range attrs {
		b = appendAttr(b, a.Type, a.Data)
	}
	for _, a := range req {
		if a.Type == rfc2865.ProxyState_Type {
			b = appendAttr(b, typeProxyState, a.Attribute)
		}
	}
	if len(b) > radius.MaxPacketLength {
		return nil, errReplyTooLarge
	}
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	if withMA {
		h.signResponse(b, headerLen+2)
	} else {
		h.responseAuthenticator(b)
	}
	return b, nil
}

// grantableWire reports whether a can be written as granted: a value of 1
// to 253 octets, and not a type the reply writes itself. ParseAttribute
// never builds another; this keeps a malformed Decision from producing a
// malformed or contradictory packet.
func grantableWire(a auth.Attribute) bool {
	switch a.Type {
	case 0, byte(rfc2865.ReplyMessage_Type), byte(rfc2865.State_Type), typeProxyState, typeMessageAuthenticator:
		return false
	}
	return len(a.Data) > 0 && len(a.Data) <= maxAttrValue
}

func appendAttr[T ~[]byte | ~string](b []byte, typ byte, v T) []byte {
	b = append(b, typ, byte(2+len(v)))
	return append(b, v...)
}

// appendReplyMessage appends msg as Reply-Message attributes of at most 253
// octets, cutting between UTF-8 characters where possible since many NASes
// show each attribute as its own line. An empty msg adds nothing.
func appendReplyMessage(b []byte, msg string) []byte {
	for len(msg) > 0 {
		part := cutUTF8(msg, maxAttrValue)
		b = appendAttr(b, byte(rfc2865.ReplyMessage_Type), part)
		msg = msg[len(part):]
	}
	return b
}

// cutUTF8 returns the longest prefix of s of at most n octets (n >= 4) that
// does not end inside a UTF-8 character; when s is not UTF-8 there, it cuts
// at n. The prefix of a non-empty s is never empty.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for cut := n; cut > n-utf8.UTFMax; cut-- {
		if utf8.RuneStart(s[cut]) {
			return s[:cut]
		}
	}
	return s[:n]
}
