package radiusd

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"layeh.com/radius"

	"radiusmfa/auth"
	"radiusmfa/radiusd/radiustest"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testClient(secret string) *clientState {
	return newClientState(Client{Name: "c", Secret: []byte(secret)})
}

// TestRadclientGolden checks the verifier and the PAP decoder against an
// Access-Request captured from FreeRADIUS radclient (see
// testdata/radclient-access-request.txt): an implementation independent of
// this repository, unlike rfcHMAC and radiustest.
func TestRadclientGolden(t *testing.T) {
	const secret = "radclient-golden-secret"
	raw, err := os.ReadFile("testdata/radclient-access-request.hex")
	if err != nil {
		t.Fatal(err)
	}
	golden := unhex(t, string(raw))
	verify := func(b []byte, secret string) bool {
		ma, _, _, ok := scanAttributes(b[headerLen:])
		if !ok || ma < 0 {
			return false
		}
		h := testClient(secret).getHasher()
		return h.verifyMessageAuthenticator(b, headerLen+ma)
	}
	if !verify(golden, secret) {
		t.Fatal("radclient's Message-Authenticator refused")
	}
	if ma, _ := scanForMA(golden); !bytes.Equal(rfcHMAC([]byte(secret), golden, headerLen+ma), golden[headerLen+ma:][:16]) {
		t.Error("rfcHMAC disagrees with radclient")
	}
	if verify(golden, secret+"x") {
		t.Error("accepted with the wrong secret")
	}
	for bit := range len(golden) * 8 {
		b := bytes.Clone(golden)
		b[bit/8] ^= 1 << (bit % 8)
		if verify(b, secret) {
			t.Fatalf("accepted with bit %d flipped", bit)
		}
	}

	c := testClient(secret)
	r := &request{n: len(golden)}
	r.client = c
	copy(r.buf[:], golden)
	pkt, err := radius.Parse(r.packet(), c.secret)
	if err != nil {
		t.Fatal(err)
	}
	got, invalid := decodeAccessRequest(pkt, r)
	got.Source = netip.AddrPort{}
	want := auth.Request{UserName: "radclient-user", Password: "golden-Passw0rd,123456", Client: "c",
		NASIdentifier: "golden-nas", NASIPAddress: "192.0.2.10", CallingStationID: "203.0.113.44"}
	if invalid != "" || !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v (invalid=%q)\nwant    %+v", got, invalid, want)
	}
}

// rfcHMAC is RFC 3579 §3.2 written out: HMAC-MD5 keyed with the secret over
// the whole packet with the Message-Authenticator value set to zeros.
func rfcHMAC(secret, packet []byte, maValue int) []byte {
	p := bytes.Clone(packet)
	clear(p[maValue : maValue+16])
	m := hmac.New(md5.New, secret)
	m.Write(p)
	return m.Sum(nil)
}

func TestMessageAuthenticatorMatchesRFCDefinition(t *testing.T) {
	secret := []byte("xyzzy5461")
	// Access-Request: User-Name "nemo", Message-Authenticator (zero), NAS-Port 3.
	pkt := unhex(t, `01 2a 00 32 0f 40 3f 94 73 97 80 57 bd 83 d5 cb 98 f4 22 7a
		01 06 6e 65 6d 6f  50 12 00000000000000000000000000000000  05 06 00 00 00 03`)
	const off = 20 + 6 + 2
	want := rfcHMAC(secret, pkt, off)
	h := testClient(string(secret)).getHasher()
	if got := h.messageAuthenticator(pkt, off, nil); !bytes.Equal(got, want) {
		t.Fatalf("HMAC = %x, want %x", got, want)
	}
	copy(pkt[off:], want)
	if !h.verifyMessageAuthenticator(pkt, off) {
		t.Error("valid Message-Authenticator refused")
	}
	pkt[len(pkt)-1] ^= 1
	if h.verifyMessageAuthenticator(pkt, off) {
		t.Error("Message-Authenticator accepted after the packet changed")
	}
	// The independent client agrees.
	p, err := radius.Parse(pkt, secret)
	if err != nil {
		t.Fatal(err)
	}
	p.Attributes = p.Attributes[:1] // User-Name only; Encode puts MA first
	b, err := radiustest.Encode(p, true)
	if err != nil {
		t.Fatal(err)
	}
	if !h.verifyMessageAuthenticator(b, 22) {
		t.Error("radiustest's Message-Authenticator refused")
	}
}

// TestRFC2865Example uses the Access-Request/Access-Accept of RFC 2865 §7.1
// (secret "xyzzy5461", user "nemo", password "arctangent").
func TestRFC2865Example(t *testing.T) {
	req := unhex(t, `01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb 98 f4 22 7a 01 06 6e 65
		6d 6f 02 12 0d be 70 8d 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8 01 10 05 06 00 00 00 03`)
	accept := unhex(t, `02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf 9b 55 e0 b2
		06 06 00 00 00 01 0f 06 00 00 00 00 0e 06 c0 a8 01 03`)
	c := testClient("xyzzy5461")
	r := &request{n: len(req)}
	r.client = c
	copy(r.buf[:], req)
	pkt, err := radius.Parse(r.packet(), c.secret)
	if err != nil {
		t.Fatal(err)
	}
	got, invalid := decodeAccessRequest(pkt, r)
	if invalid != "" || got.UserName != "nemo" || got.Password != "arctangent" || got.NASIPAddress != "192.168.1.16" {
		t.Errorf("decoded %+v (invalid=%q)", got, invalid)
	}
	b := bytes.Clone(accept)
	copy(b[4:20], req[4:20])
	c.getHasher().responseAuthenticator(b)
	if !bytes.Equal(b, accept) {
		t.Errorf("Response Authenticator %x, want %x", b[4:20], accept[4:20])
	}
}

func TestAccountingAuthenticatorAgreesWithLayeh(t *testing.T) {
	secret := []byte(testSecret)
	h := testClient(testSecret).getHasher()
	for _, withMA := range []bool{false, true} {
		b, err := radiustest.Encode(newAccounting("Start", 0), withMA)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if i > 0 {
				b[len(b)-i] ^= 0x40
			}
			if got, want := h.authenticAccountingRequest(b), radius.IsAuthenticRequest(b, secret); got != want {
				t.Errorf("withMA=%v mutation %d: ours %v, layeh %v", withMA, i, got, want)
			}
		}
	}
	b, _ := radiustest.Encode(newAccounting("Stop", 0), true)
	if !h.verifyMessageAuthenticator(b, 22) {
		t.Error("Accounting-Request Message-Authenticator refused")
	}
}

func TestEncodeReplySignedPerRFC(t *testing.T) {
	secret := []byte(testSecret)
	h := testClient(testSecret).getHasher()
	reqAuth := bytes.Repeat([]byte{0xab}, 16)
	proxy := radius.Attributes{{Type: 33, Attribute: radius.Attribute("p1")}}
	reqHdr := append([]byte{1, 7, 0, 20}, reqAuth...)
	b, err := encodeReply(h, radius.CodeAccessChallenge, reqHdr, "hi", []byte("st"), nil, proxy)
	if err != nil {
		t.Fatal(err)
	}
	// Message-Authenticator over the reply with the Request Authenticator in the header.
	signed := bytes.Clone(b)
	copy(signed[4:20], reqAuth)
	if want := rfcHMAC(secret, signed, 22); !bytes.Equal(b[22:38], want) {
		t.Errorf("Message-Authenticator %x, want %x", b[22:38], want)
	}
	// Response Authenticator = MD5(Code+ID+Length+RequestAuth+Attributes+Secret).
	sum := md5.Sum(append(append(append(bytes.Clone(b[:4]), reqAuth...), b[20:]...), secret...))
	if !bytes.Equal(b[4:20], sum[:]) {
		t.Errorf("Response Authenticator %x, want %x", b[4:20], sum)
	}
	wantAttrs := "5012" + strings.Repeat("??", 16) + "1204" + hex.EncodeToString([]byte("hi")) +
		"1804" + hex.EncodeToString([]byte("st")) + "2104" + hex.EncodeToString([]byte("p1"))
	gotAttrs := hex.EncodeToString(b[20:])
	gotAttrs = gotAttrs[:4] + strings.Repeat("??", 16) + gotAttrs[36:]
	if gotAttrs != wantAttrs {
		t.Errorf("attributes %s\nwant       %s", gotAttrs, wantAttrs)
	}
}
