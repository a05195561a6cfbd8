package radiustest

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"strings"
	"testing"

	"layeh.com/radius"
)

// signedReply builds an Access-Accept the RFC way: Message-Authenticator
// first, computed with the Request Authenticator in the header, then the
// Response Authenticator over the result.
func signedReply(secret, reqAuth []byte, extra ...byte) []byte {
	b := []byte{2, 9, 0, 0}
	b = append(b, reqAuth...)
	b = append(b, 80, 18)
	b = append(b, make([]byte, 16)...)
	b = append(b, extra...)
	b[3] = byte(len(b))
	m := hmac.New(md5.New, secret)
	m.Write(b)
	copy(b[22:38], m.Sum(nil))
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	copy(b[4:20], h.Sum(nil))
	return b
}

func TestVerifyResponse(t *testing.T) {
	secret := []byte("s3cret")
	reqAuth := bytes.Repeat([]byte{7}, 16)
	good := signedReply(secret, reqAuth, 18, 4, 'o', 'k')
	if err := VerifyResponse(good, reqAuth, secret); err != nil {
		t.Fatalf("valid reply refused: %v", err)
	}
	maSecond := signedReply(secret, reqAuth)
	maSecond = append(maSecond[:20:20], append([]byte{18, 4, 'o', 'k'}, maSecond[20:]...)...)
	for name, tc := range map[string]struct {
		raw, auth, secret []byte
		want              string
	}{
		"other secret":      {good, reqAuth, []byte("other"), "Response Authenticator"},
		"other request":     {good, bytes.Repeat([]byte{8}, 16), secret, "Response Authenticator"},
		"flipped attribute": {flip(good, 39), reqAuth, secret, "Response Authenticator"},
		"MA not first":      {resign(maSecond, secret, reqAuth), reqAuth, secret, "first attribute"},
		"bad MA":            {resign(flip(good, 25), secret, reqAuth), reqAuth, secret, "bad Message-Authenticator"},
		"short":             {good[:10], reqAuth, secret, "short"},
	} {
		err := VerifyResponse(tc.raw, tc.auth, tc.secret)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 1
	return b
}

// resign recomputes only the Response Authenticator, so that the check
// behind it is reached.
func resign(b, secret, reqAuth []byte) []byte {
	b = bytes.Clone(b)
	b[3] = byte(len(b))
	copy(b[4:20], reqAuth)
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	copy(b[4:20], h.Sum(nil))
	return b
}

func TestEncodeAddsMessageAuthenticatorFirst(t *testing.T) {
	secret := []byte("s3cret")
	p := NewAccessRequest(secret, "alice", "pw")
	b, err := Encode(p, true)
	if err != nil {
		t.Fatal(err)
	}
	if b[20] != 80 || b[21] != 18 {
		t.Fatalf("first attribute %d/%d", b[20], b[21])
	}
	zeroed := bytes.Clone(b)
	clear(zeroed[22:38])
	m := hmac.New(md5.New, secret)
	m.Write(zeroed)
	if !bytes.Equal(m.Sum(nil), b[22:38]) {
		t.Error("bad Message-Authenticator")
	}
	acct := radius.New(radius.CodeAccountingRequest, secret)
	b, err = Encode(acct, true)
	if err != nil {
		t.Fatal(err)
	}
	if !radius.IsAuthenticRequest(b, secret) {
		t.Error("Accounting-Request authenticator invalid")
	}
}
