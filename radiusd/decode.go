package radiusd

import (
	"net/netip"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc3162"

	"radiusmfa/auth"
)

// invalidCause says why an Access-Request cannot be evaluated. It is logged
// and audited as "invalid=<cause>"; the reply only says auth.MsgInvalid.
type invalidCause string

const (
	invalidNoUserName            invalidCause = "no_user_name" // absent or empty
	invalidDuplicateUserName     invalidCause = "duplicate_user_name"
	invalidNoUserPassword        invalidCause = "no_user_password" // e.g. CHAP or EAP: unsupported
	invalidDuplicateUserPassword invalidCause = "duplicate_user_password"
	invalidUserPasswordLength    invalidCause = "user_password_length"
	invalidUserPasswordNUL       invalidCause = "user_password_nul"
	invalidDuplicateState        invalidCause = "duplicate_state"
)

// nasAttributes is what a request says about its NAS and caller, for the
// log and the audit.
type nasAttributes struct {
	identifier, ipAddress, callingStationID string
}

// decodeNAS reads NAS-Identifier, NAS-IP-Address (NAS-IPv6-Address when
// there is no IPv4 one) and Calling-Station-Id. A malformed address is
// left out rather than failing the request: it is only reported.
func decodeNAS(attrs radius.Attributes) nasAttributes {
	var n nasAttributes
	var ipv6 string
	for _, a := range attrs {
		switch a.Type {
		case rfc2865.NASIdentifier_Type:
			n.identifier = string(a.Attribute)
		case rfc2865.NASIPAddress_Type:
			if len(a.Attribute) == 4 {
				n.ipAddress = netip.AddrFrom4([4]byte(a.Attribute)).String()
			}
		case rfc3162.NASIPv6Address_Type:
			if len(a.Attribute) == 16 {
				ipv6 = netip.AddrFrom16([16]byte(a.Attribute)).String()
			}
		case rfc2865.CallingStationID_Type:
			n.callingStationID = string(a.Attribute)
		}
	}
	if n.ipAddress == "" {
		n.ipAddress = ipv6
	}
	return n
}

// decodeAccessRequest builds the engine's request from pkt. A non-empty
// cause means the request cannot be evaluated; the caller then rejects it
// with Reason invalid_request without calling the Decider. A rejection
// rather than a drop: the request came from a known client and passed the
// authenticator checks, so the NAS gets a definite, cached answer instead of
// retrying and failing over.
//
// RFC 2865 §5 allows at most one User-Name and one User-Password; a
// duplicate is refused rather than letting one of them win, since two
// parsers of the same packet (a proxy, this server) could pick different
// ones.
func decodeAccessRequest(pkt *radius.Packet, r *request) (auth.Request, invalidCause) {
	nas := decodeNAS(pkt.Attributes)
	req := auth.Request{Client: r.client.name, Source: r.source(),
		NASIdentifier: nas.identifier, NASIPAddress: nas.ipAddress, CallingStationID: nas.callingStationID}
	var user, password, state radius.Attribute
	var users, passwords, states int // a zero-length value may parse as nil
	for _, a := range pkt.Attributes {
		switch a.Type {
		case rfc2865.UserName_Type:
			user, users = a.Attribute, users+1
		case rfc2865.UserPassword_Type:
			password, passwords = a.Attribute, passwords+1
		case rfc2865.State_Type:
			state, states = a.Attribute, states+1
		}
	}
	switch {
	case users > 1:
		return req, invalidDuplicateUserName
	case passwords > 1:
		return req, invalidDuplicateUserPassword
	case states > 1:
		return req, invalidDuplicateState
	}
	// The answer to an Access-Challenge carries its State back (RFC 2865
	// §4.4); copied, since the packet's buffer is reused.
	req.State = append([]byte(nil), state...)
	req.UserName = string(user)
	switch {
	case len(user) == 0:
		return req, invalidNoUserName
	case passwords == 0:
		return req, invalidNoUserPassword
	}
	var buf [maxPasswordLen]byte
	h := r.client.getHasher()
	pw, cause := h.userPassword(buf[:], password, r.requestAuthenticator())
	r.client.putHasher(h)
	if cause == "" {
		req.Password = string(pw)
	}
	clear(buf[:])
	return req, cause
}

// maxPasswordLen is the longest hidden User-Password (RFC 2865 §5.2).
const maxPasswordLen = 128

// userPassword reverses the RFC 2865 §5.2 hiding of the User-Password value
// a into dst (maxPasswordLen bytes) and returns the plaintext without its
// NUL padding. It is radius.UserPassword without the allocations and with
// a stricter end: that function cuts at the first NUL, so "pw\x00anything"
// would pass as "pw". Here only trailing NULs are padding; a NUL followed by
// anything else refuses the request.
//
// The value must be 16 to 128 octets, a multiple of 16 (§5.2); any other
// length, 0 included, refuses the request.
func (h *hasher) userPassword(dst, a, reqAuth []byte) ([]byte, invalidCause) {
	if len(a) < 16 || len(a) > maxPasswordLen || len(a)%16 != 0 {
		return nil, invalidUserPasswordLength
	}
	prev := reqAuth
	for i := 0; i < len(a); i += 16 {
		h.md5.Reset()
		h.md5.Write(h.secret)
		h.md5.Write(prev)
		key := h.md5.Sum(h.sum[:0])
		for j, c := range a[i : i+16] {
			dst[i+j] = c ^ key[j]
		}
		prev = a[i : i+16]
	}
	clear(h.sum[:]) // the key stream XOR a is the password
	pw := dst[:len(a)]
	end := len(pw)
	for end > 0 && pw[end-1] == 0 {
		end--
	}
	pw = pw[:end]
	for _, c := range pw {
		if c == 0 {
			return nil, invalidUserPasswordNUL
		}
	}
	return pw, ""
}
