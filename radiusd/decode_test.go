package radiusd

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc3162"

	"radiusmfa/auth"
)

// decodeWire encodes p as a client would (no Message-Authenticator, which
// decoding does not look at) and decodes it as serveAccess does.
func decodeWire(t *testing.T, p *radius.Packet) (auth.Request, invalidCause) {
	t.Helper()
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	c := testClient(string(p.Secret))
	r := &request{n: len(b)}
	r.client = c
	copy(r.buf[:], b)
	pkt, err := radius.Parse(r.packet(), c.secret)
	if err != nil {
		t.Fatal(err)
	}
	return decodeAccessRequest(pkt, r)
}

// hidden is password hidden per RFC 2865 §5.2 for p, by layeh's encoder.
func hidden(t *testing.T, p *radius.Packet, password string) radius.Attribute {
	t.Helper()
	a, err := radius.NewUserPassword([]byte(password), p.Secret, p.Authenticator[:])
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func randomBytes(n int) radius.Attribute {
	b := make(radius.Attribute, n)
	rand.Read(b)
	return b
}

// TestDecodeAccessRequestPAP covers the User-Name and User-Password rules
// of decodeAccessRequest: RFC 2865 §5.2 lengths (16..128, a multiple of 16;
// anything else is invalid_request), multi-block passwords, NUL padding,
// an embedded NUL (refused: layeh would cut "pw\x00anything" to "pw"), and
// duplicate or empty attributes (refused, never "last one wins").
func TestDecodeAccessRequestPAP(t *testing.T) {
	secret := []byte(testSecret)
	for _, tc := range []struct {
		name    string
		build   func(p *radius.Packet) // adds the attributes
		want    string                 // the password, when valid
		invalid invalidCause
	}{
		{name: "length 0", invalid: invalidUserPasswordLength, build: func(p *radius.Packet) {
			p.Add(rfc2865.UserName_Type, radius.Attribute("alice"))
			p.Add(rfc2865.UserPassword_Type, radius.Attribute{})
		}},
		{name: "length 15", invalid: invalidUserPasswordLength, build: rawPassword(randomBytes(15))},
		{name: "length 17", invalid: invalidUserPasswordLength, build: rawPassword(randomBytes(17))},
		{name: "length 144", invalid: invalidUserPasswordLength, build: rawPassword(randomBytes(144))},
		{name: "length 16", want: "short-pw", build: password("short-pw")},
		{name: "exactly one block", want: "0123456789abcdef", build: password("0123456789abcdef")},
		{name: "40 octets, 3 blocks", want: strings.Repeat("pass,", 7) + "12345", build: password(strings.Repeat("pass,", 7) + "12345")},
		{name: "length 128", want: strings.Repeat("Z", 128), build: password(strings.Repeat("Z", 128))},
		{name: "UTF-8", want: "pässwörd,123456", build: password("pässwörd,123456")},
		{name: "empty password", want: "", build: password("")}, // the engine refuses it
		{name: "explicit NUL padding", want: "pw", build: password("pw\x00\x00\x00")},
		{name: "embedded NUL", invalid: invalidUserPasswordNUL, build: password("pw\x00anything")},
		{name: "NUL first", invalid: invalidUserPasswordNUL, build: password("\x00pw")},
		{name: "NUL in the last block", invalid: invalidUserPasswordNUL, build: password(strings.Repeat("p", 20) + "\x00x")},
		{name: "no User-Name", invalid: invalidNoUserName, build: func(p *radius.Packet) {
			p.Add(rfc2865.UserPassword_Type, hidden(t, p, "pw"))
		}},
		{name: "empty User-Name", invalid: invalidNoUserName, build: func(p *radius.Packet) {
			p.Add(rfc2865.UserName_Type, radius.Attribute{})
			p.Add(rfc2865.UserPassword_Type, hidden(t, p, "pw"))
		}},
		{name: "two User-Names", invalid: invalidDuplicateUserName, build: func(p *radius.Packet) {
			p.Add(rfc2865.UserName_Type, radius.Attribute("alice"))
			p.Add(rfc2865.UserPassword_Type, hidden(t, p, "pw"))
			p.Add(rfc2865.UserName_Type, radius.Attribute("admin"))
		}},
		{name: "two User-Passwords", invalid: invalidDuplicateUserPassword, build: func(p *radius.Packet) {
			p.Add(rfc2865.UserName_Type, radius.Attribute("alice"))
			p.Add(rfc2865.UserPassword_Type, hidden(t, p, "wrong"))
			p.Add(rfc2865.UserPassword_Type, hidden(t, p, "right"))
		}},
		{name: "no User-Password (CHAP)", invalid: invalidNoUserPassword, build: func(p *radius.Packet) {
			p.Add(rfc2865.UserName_Type, radius.Attribute("alice"))
			p.Add(rfc2865.CHAPPassword_Type, randomBytes(17))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := radius.New(radius.CodeAccessRequest, secret)
			tc.build(p)
			got, invalid := decodeWire(t, p)
			if invalid != tc.invalid {
				t.Fatalf("invalid = %q, want %q", invalid, tc.invalid)
			}
			if invalid != "" {
				if got.Password != "" {
					t.Errorf("an invalid request carries a password: %q", got.Password)
				}
				return
			}
			if got.UserName != "alice" || got.Password != tc.want {
				t.Errorf("decoded user %q password %q, want alice %q", got.UserName, got.Password, tc.want)
			}
			// Where both are defined, layeh's decoder agrees.
			layeh, err := radius.UserPassword(p.Get(rfc2865.UserPassword_Type), secret, p.Authenticator[:])
			if err != nil || string(layeh) != got.Password {
				t.Errorf("layeh decodes %q (%v)", layeh, err)
			}
		})
	}
}

// password adds User-Name "alice" and plaintext hidden as a client would.
func password(plaintext string) func(p *radius.Packet) {
	return func(p *radius.Packet) {
		a, err := radius.NewUserPassword([]byte(plaintext), p.Secret, p.Authenticator[:])
		if err != nil {
			panic(err)
		}
		p.Add(rfc2865.UserName_Type, radius.Attribute("alice"))
		p.Add(rfc2865.UserPassword_Type, a)
	}
}

// rawPassword adds User-Name "alice" and the User-Password value v as is.
func rawPassword(v radius.Attribute) func(p *radius.Packet) {
	return func(p *radius.Packet) {
		p.Add(rfc2865.UserName_Type, radius.Attribute("alice"))
		p.Add(rfc2865.UserPassword_Type, v)
	}
}

func TestDecodeNAS(t *testing.T) {
	v4 := radius.Attribute{192, 0, 2, 7}
	v6 := radius.Attribute(bytes.Repeat([]byte{0x20, 0x01, 0x0d, 0xb8}, 4))
	for _, tc := range []struct {
		name  string
		attrs radius.Attributes
		want  nasAttributes
	}{
		{"none", nil, nasAttributes{}},
		{"all", radius.Attributes{
			{Type: rfc2865.NASIdentifier_Type, Attribute: radius.Attribute("vpn-1")},
			{Type: rfc2865.NASIPAddress_Type, Attribute: v4},
			{Type: rfc2865.CallingStationID_Type, Attribute: radius.Attribute("198.51.100.9")},
		}, nasAttributes{"vpn-1", "192.0.2.7", "198.51.100.9"}},
		{"IPv6 only", radius.Attributes{{Type: rfc3162.NASIPv6Address_Type, Attribute: v6}},
			nasAttributes{ipAddress: "2001:db8:2001:db8:2001:db8:2001:db8"}},
		{"IPv4 preferred", radius.Attributes{
			{Type: rfc3162.NASIPv6Address_Type, Attribute: v6},
			{Type: rfc2865.NASIPAddress_Type, Attribute: v4},
		}, nasAttributes{ipAddress: "192.0.2.7"}},
		{"malformed addresses ignored", radius.Attributes{
			{Type: rfc2865.NASIPAddress_Type, Attribute: radius.Attribute{1, 2, 3}},
			{Type: rfc3162.NASIPv6Address_Type, Attribute: v4},
		}, nasAttributes{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := decodeNAS(tc.attrs); got != tc.want {
				t.Errorf("decodeNAS = %+v, want %+v", got, tc.want)
			}
			// Both request kinds see the same NAS.
			if got := decodeAccounting(&radius.Packet{Attributes: tc.attrs}).nasAttributes; got != tc.want {
				t.Errorf("decodeAccounting = %+v, want %+v", got, tc.want)
			}
			p := radius.New(radius.CodeAccessRequest, []byte(testSecret))
			p.Attributes = append(p.Attributes, tc.attrs...)
			password("pw")(p)
			req, invalid := decodeWire(t, p)
			if got := (nasAttributes{req.NASIdentifier, req.NASIPAddress, req.CallingStationID}); invalid != "" || got != tc.want {
				t.Errorf("decodeAccessRequest = %+v (invalid=%q), want %+v", got, invalid, tc.want)
			}
		})
	}
}

// FuzzUserPassword checks userPassword against layeh's decoder, which cuts
// at the first NUL: where ours accepts, both agree; where ours refuses an
// embedded NUL, layeh returned a shortened password.
func FuzzUserPassword(f *testing.F) {
	auth := bytes.Repeat([]byte{7}, 16)
	for _, pw := range []string{"", "pw", "pw\x00x", strings.Repeat("a", 40), strings.Repeat("b", 128)} {
		a, _ := radius.NewUserPassword([]byte(pw), []byte(testSecret), auth)
		f.Add([]byte(a))
	}
	f.Add([]byte{})
	f.Add(make([]byte, 17))
	h := testClient(testSecret).getHasher()
	f.Fuzz(func(t *testing.T, a []byte) {
		var buf [maxPasswordLen]byte
		got, invalid := h.userPassword(buf[:], a, auth)
		want, err := radius.UserPassword(a, []byte(testSecret), auth)
		switch {
		case err != nil:
			if invalid != invalidUserPasswordLength {
				t.Fatalf("layeh: %v; ours: %q", err, invalid)
			}
		case invalid == invalidUserPasswordNUL:
			if len(want) >= len(a) || bytes.IndexByte(want, 0) >= 0 {
				t.Fatalf("NUL refused but layeh decodes %q", want)
			}
		case invalid != "" || !bytes.Equal(got, want):
			t.Fatalf("ours %q (%q), layeh %q", got, invalid, want)
		}
	})
}
