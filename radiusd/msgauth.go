package radiusd

import (
	"crypto/hmac"
	"crypto/md5"
	"hash"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

const (
	typeMessageAuthenticator = byte(rfc2869.MessageAuthenticator_Type) // 80
	typeProxyState           = byte(rfc2865.ProxyState_Type)           // 33
	// maAttrLen is the wire length of a Message-Authenticator attribute.
	maAttrLen = 2 + md5.Size
	headerLen = 20
)

var zeroAuthenticator [md5.Size]byte

// hasher holds one client's keyed HMAC-MD5 and a plain MD5 state. It is
// pooled per client because hmac.New allocates and a reset keyed HMAC does not.
type hasher struct {
	mac    hash.Hash
	md5    hash.Hash
	secret []byte
	sum    [md5.Size]byte
}

// messageAuthenticator computes the RFC 3579 §3.2 HMAC-MD5 of the packet b,
// keyed with the secret, as if the 16 value bytes at off were zero. When
// auth is non-nil it stands in for the header's authenticator field. The
// result aliases h and is valid until h is used again.
func (h *hasher) messageAuthenticator(b []byte, off int, auth *[md5.Size]byte) []byte {
	h.mac.Reset()
	h.mac.Write(b[:4])
	if auth != nil {
		h.mac.Write(auth[:])
	} else {
		h.mac.Write(b[4:headerLen])
	}
	h.mac.Write(b[headerLen:off])
	h.mac.Write(zeroAuthenticator[:])
	h.mac.Write(b[off+md5.Size:])
	return h.mac.Sum(h.sum[:0])
}

// verifyMessageAuthenticator reports, in constant time, whether the value at
// off is the packet's Message-Authenticator. For an Accounting-Request the
// Request Authenticator is computed over the MA, so the MA itself is computed
// with a zero authenticator field, as for CoA requests (RFC 5176).
func (h *hasher) verifyMessageAuthenticator(b []byte, off int) bool {
	var auth *[md5.Size]byte
	if radius.Code(b[0]) == radius.CodeAccountingRequest {
		auth = &zeroAuthenticator
	}
	return hmac.Equal(h.messageAuthenticator(b, off, auth), b[off:off+md5.Size])
}

// authenticAccountingRequest reports, in constant time, whether b carries the
// RFC 2866 Request Authenticator MD5(Code+ID+Length+16 zero octets+Attributes+Secret).
// It is radius.IsAuthenticRequest without the allocation and the
// variable-time comparison.
func (h *hasher) authenticAccountingRequest(b []byte) bool {
	h.md5.Reset()
	h.md5.Write(b[:4])
	h.md5.Write(zeroAuthenticator[:])
	h.md5.Write(b[headerLen:])
	h.md5.Write(h.secret)
	return hmac.Equal(h.md5.Sum(h.sum[:0]), b[4:headerLen])
}

// signResponse finishes the encoded reply b, whose header holds the Request
// Authenticator and whose Message-Authenticator value at off is zero: it
// writes the Message-Authenticator, then the Response Authenticator
// MD5(Code+ID+Length+RequestAuth+Attributes+Secret) over it (RFC 2865 §3,
// RFC 3579 §3.2).
func (h *hasher) signResponse(b []byte, off int) {
	copy(b[off:off+md5.Size], h.messageAuthenticator(b, off, nil))
	h.responseAuthenticator(b)
}

// responseAuthenticator replaces the Request Authenticator in the header of
// the reply b by the Response Authenticator.
func (h *hasher) responseAuthenticator(b []byte) {
	h.md5.Reset()
	h.md5.Write(b)
	h.md5.Write(h.secret)
	h.md5.Sum(b[4:4:headerLen])
}

func (c *clientState) getHasher() *hasher { return c.hashers.Get().(*hasher) }

func (c *clientState) putHasher(h *hasher) { c.hashers.Put(h) }
