package push

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"math/big"
	"strconv"
	"time"
)

// The answers the app may sign, as they appear in Answer.Verdict and in the
// signed message.
const (
	AnswerApprove = "approve"
	AnswerDeny    = "deny"
	AnswerReport  = "report" // deny, and report the login as not the user's
)

// messagePrefix names the protocol and its version in every signed message,
// so a signature made for anything else never verifies here;
// numberedPrefix is the version whose message also holds the picked number.
const (
	messagePrefix  = "radiusmfa-push-v1\n"
	numberedPrefix = "radiusmfa-push-v2\n"
)

// SignatureSize is the length of a P-256 signature in the IEEE P1363 form
// WebCrypto produces: r and s, 32 bytes each, big-endian.
const SignatureSize = 64

// Message returns the bytes the app signs to answer the push of nonce to
// user at time at:
//
//	"radiusmfa-push-v1\n" + nonce + "\n" + user + "\n" + verdict + "\n" + unix seconds
//
// The app signs them with ECDSA P-256 over SHA-256 (WebCrypto {name:
// "ECDSA", hash: "SHA-256"}). The nonce (base64url) and the verdict (one of
// three words) hold no newline and the time is last, so the user name,
// whatever it holds, cannot shift one field into another.
func Message(nonce, user, verdict string, at time.Time) []byte {
	return message(messagePrefix, nonce, user, verdict, 0, at)
}

// NumberedMessage returns the bytes the app signs to answer a push with
// the number the user picked (number matching), so the pick is covered by
// the signature too:
//
//	"radiusmfa-push-v2\n" + nonce + "\n" + user + "\n" + verdict + "\n" + number + "\n" + unix seconds
func NumberedMessage(nonce, user, verdict string, number int, at time.Time) []byte {
	return message(numberedPrefix, nonce, user, verdict, number, at)
}

func message(prefix, nonce, user, verdict string, number int, at time.Time) []byte {
	b := make([]byte, 0, len(prefix)+len(nonce)+len(user)+len(verdict)+32)
	b = append(b, prefix...)
	b = append(b, nonce...)
	b = append(b, '\n')
	b = append(b, user...)
	b = append(b, '\n')
	b = append(b, verdict...)
	b = append(b, '\n')
	if prefix == numberedPrefix {
		b = strconv.AppendInt(b, int64(number), 10)
		b = append(b, '\n')
	}
	return strconv.AppendInt(b, at.Unix(), 10)
}

// Verify reports whether sig is pub's ECDSA P-256 / SHA-256 signature of
// msg in the IEEE P1363 form: exactly 64 bytes, r then s, each in [1, N-1].
// ASN.1 DER signatures are refused, whatever their length. Both s and N-s
// are accepted (WebCrypto does not normalise to low S; a second valid
// signature of the same answer gains an attacker nothing, since answers are
// single use by nonce).
func Verify(pub *ecdsa.PublicKey, msg []byte, sig []byte) bool {
	if pub == nil || pub.Curve != elliptic.P256() || len(sig) != SignatureSize {
		return false
	}
	n := pub.Curve.Params().N
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	if r.Sign() == 0 || s.Sign() == 0 || r.Cmp(n) >= 0 || s.Cmp(n) >= 0 {
		return false
	}
	h := sha256.Sum256(msg)
	return ecdsa.Verify(pub, h[:], r, s)
}
