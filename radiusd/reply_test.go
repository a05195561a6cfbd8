package radiusd

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"radiusmfa/auth"
	"radiusmfa/radiusd/radiustest"
	"radiusmfa/radiusd/vendors/cisco"
	"radiusmfa/radiusd/vendors/fortinet"
	"radiusmfa/radiusd/vendors/juniper"
	"radiusmfa/radiusd/vendors/paloalto"
)

func TestReplyMessageSplit(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  string
		lens []int
	}{
		{"empty", "", nil},
		{"short", "hello", []int{5}},
		{"exact", strings.Repeat("a", 253), []int{253}},
		{"long", strings.Repeat("a", 600), []int{253, 253, 94}},
		// "é" is two octets: a cut at 253 would split the 127th one.
		{"utf8", "xx" + strings.Repeat("é", 200), []int{252, 150}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := appendReplyMessage(nil, tc.msg)
			attrs, err := radius.ParseAttributes(b)
			if err != nil {
				t.Fatal(err)
			}
			var lens []int
			var joined strings.Builder
			for _, a := range attrs {
				if a.Type != rfc2865.ReplyMessage_Type {
					t.Fatalf("type %d", a.Type)
				}
				if !utf8.Valid(a.Attribute) {
					t.Errorf("attribute cut inside a character: %q", a.Attribute)
				}
				lens = append(lens, len(a.Attribute))
				joined.Write(a.Attribute)
			}
			if joined.String() != tc.msg {
				t.Error("concatenation differs from the message")
			}
			if len(lens) != len(tc.lens) {
				t.Fatalf("lengths %v, want %v", lens, tc.lens)
			}
			for i := range lens {
				if lens[i] != tc.lens[i] {
					t.Errorf("lengths %v, want %v", lens, tc.lens)
				}
			}
		})
	}
}

func TestEncodeReplyLimits(t *testing.T) {
	h := testClient("s").getHasher()
	hdr := make([]byte, 20)
	hdr[0] = byte(radius.CodeAccessRequest)
	b, err := encodeReply(h, radius.CodeAccessChallenge, hdr, strings.Repeat("m", 5000), make([]byte, maxAttrValue), nil, nil)
	if err != nil || len(b) != headerLen+maAttrLen+maxReplyMessage+4*2+2+maxAttrValue {
		t.Errorf("huge message: %d octets, %v", len(b), err)
	}
	var proxy radius.Attributes // as much Proxy-State as a request can carry
	for range 16 {
		proxy = append(proxy, &radius.AVP{Type: rfc2865.ProxyState_Type, Attribute: make(radius.Attribute, maxAttrValue)})
	}
	if _, err := encodeReply(h, radius.CodeAccessReject, hdr, "Invalid request", nil, nil, proxy); err != errReplyTooLarge {
		t.Errorf("huge Proxy-State: %v", err)
	}
	if _, err := encodeReply(h, radius.CodeAccessChallenge, hdr, "", make([]byte, 254), nil, nil); err != errStateTooLarge {
		t.Errorf("huge State: %v", err)
	}
	msg := strings.Repeat("m", 3000)
	proxy = radius.Attributes{{Type: rfc2865.ProxyState_Type, Attribute: radius.Attribute("p")}}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := encodeReply(h, radius.CodeAccessAccept, hdr, msg, []byte("st"), nil, proxy); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("encodeReply allocates %v times, want once (the cached slice)", allocs)
	}
}

func TestCutUTF8(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefghij"},
		{"abcdefghé", 10, "abcdefghé"},                      // é ends at 10
		{"abcdefghié", 10, "abcdefghi"},                     // é would end at 11
		{"abcdefg€x", 9, "abcdefg"},                         // € is 3 octets
		{"ab\xff\xff\xff\xff\xff\xff", 5, "ab\xff\xff\xff"}, // not UTF-8: cut at n
		{"abcd😀", 6, "abcd"},
	} {
		if got := cutUTF8(tc.s, tc.n); got != tc.want {
			t.Errorf("cutUTF8(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestReplyCodeFailsClosed(t *testing.T) {
	for o, want := range map[auth.Outcome]radius.Code{
		auth.Accept: radius.CodeAccessAccept, auth.Challenge: radius.CodeAccessChallenge,
		auth.Reject: radius.CodeAccessReject, auth.Outcome(42): radius.CodeAccessReject,
	} {
		if got := replyCode(o); got != want {
			t.Errorf("%v: %v, want %v", o, got, want)
		}
	}
}

// mustAttributes parses name, value pairs with ParseAttribute.
func mustAttributes(t testing.TB, pairs ...string) []auth.Attribute {
	t.Helper()
	var attrs []auth.Attribute
	for i := 0; i+1 < len(pairs); i += 2 {
		a, err := ParseAttribute(pairs[i], pairs[i+1])
		if err != nil {
			t.Fatal(err)
		}
		attrs = append(attrs, a)
	}
	return attrs
}

// grantedPairs are the attributes the reply tests grant: two Cisco-AVPairs
// to check order, and one of each vendor.
var grantedPairs = []string{
	"Cisco-AVPair", "shell:priv-lvl=15",
	"Cisco-AVPair", "ip:inacl#1=permit ip any any",
	"Fortinet-Group-Name", "vpn-admins",
	"PaloAlto-User-Group", "gp-users",
	"Juniper-Local-User-Name", "read-only",
	"Class", "OU=VPN-Admins;",
}

// checkGranted fails t unless p carries exactly the attributes of
// grantedPairs, read back through the generated dictionaries.
func checkGranted(t *testing.T, p *radius.Packet) {
	t.Helper()
	if got, err := cisco.CiscoAVPair_GetStrings(p); err != nil || !slices.Equal(got, []string{"shell:priv-lvl=15", "ip:inacl#1=permit ip any any"}) {
		t.Errorf("Cisco-AVPair = %q, %v", got, err)
	}
	for name, got := range map[string]string{
		"Fortinet-Group-Name":     fortinet.FortinetGroupName_GetString(p),
		"PaloAlto-User-Group":     paloalto.PaloAltoUserGroup_GetString(p),
		"Juniper-Local-User-Name": juniper.JuniperLocalUserName_GetString(p),
		"Class":                   rfc2865.Class_GetString(p),
	} {
		if want := grantedPairs[slices.Index(grantedPairs, name)+1]; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// attrTypes lists the attribute types of the encoded packet b in order.
func attrTypes(t *testing.T, b []byte) []radius.Type {
	t.Helper()
	attrs, err := radius.ParseAttributes(b[headerLen:])
	if err != nil {
		t.Fatal(err)
	}
	var types []radius.Type
	for _, a := range attrs {
		types = append(types, a.Type)
	}
	return types
}

func TestEncodeReplyGrantedAttributes(t *testing.T) {
	secret := []byte(testSecret)
	h := testClient(testSecret).getHasher()
	reqAuth := bytes.Repeat([]byte{0x5a}, 16)
	hdr := append([]byte{byte(radius.CodeAccessRequest), 9, 0, 20}, reqAuth...)
	proxy := radius.Attributes{{Type: rfc2865.ProxyState_Type, Attribute: radius.Attribute("p1")}}
	attrs := mustAttributes(t, grantedPairs...)

	b, err := encodeReply(h, radius.CodeAccessAccept, hdr, "Welcome", nil, attrs, proxy)
	if err != nil {
		t.Fatal(err)
	}
	if err := radiustest.VerifyResponse(b, reqAuth, secret); err != nil {
		t.Fatal(err) // Message-Authenticator first and valid, Response Authenticator right
	}
	want := []radius.Type{80, rfc2865.ReplyMessage_Type, 26, 26, 26, 26, 26, rfc2865.Class_Type, rfc2865.ProxyState_Type}
	if got := attrTypes(t, b); !slices.Equal(got, want) {
		t.Errorf("attribute types %v, want %v", got, want)
	}
	p, err := radius.Parse(b, secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.Code != radius.CodeAccessAccept || p.Identifier != 9 || rfc2865.ReplyMessage_GetString(p) != "Welcome" {
		t.Errorf("code %v id %d Reply-Message %q", p.Code, p.Identifier, rfc2865.ReplyMessage_GetString(p))
	}
	checkGranted(t, p)

	// Never on a Reject or Challenge: the bytes are those of a reply
	// without attributes.
	for _, code := range []radius.Code{radius.CodeAccessReject, radius.CodeAccessChallenge} {
		with, err := encodeReply(h, code, hdr, "No", []byte("st"), attrs, proxy)
		if err != nil {
			t.Fatal(err)
		}
		without, _ := encodeReply(h, code, hdr, "No", []byte("st"), nil, proxy)
		if !bytes.Equal(with, without) {
			t.Errorf("%v carries granted attributes: %v", code, attrTypes(t, with))
		}
	}
}

func TestEncodeReplyGrantedAttributeLimits(t *testing.T) {
	h := testClient("s").getHasher()
	hdr := make([]byte, headerLen)
	hdr[0] = byte(radius.CodeAccessRequest)
	// 15 full Class attributes and one of 231 octets: 20+18+15*255+233 = 4096.
	var attrs []auth.Attribute
	for range 15 {
		attrs = append(attrs, mustAttributes(t, "Class", strings.Repeat("c", 253))...)
	}
	last := mustAttributes(t, "Class", strings.Repeat("c", 231))
	b, err := encodeReply(h, radius.CodeAccessAccept, hdr, "", nil, append(attrs, last...), nil)
	if err != nil || len(b) != radius.MaxPacketLength {
		t.Errorf("4096-octet reply: %d octets, %v", len(b), err)
	}
	last = mustAttributes(t, "Class", strings.Repeat("c", 232))
	if _, err := encodeReply(h, radius.CodeAccessAccept, hdr, "", nil, append(attrs, last...), nil); err != errReplyTooLarge {
		t.Errorf("4097-octet reply: %v, want errReplyTooLarge", err)
	}
	last = mustAttributes(t, "Class", strings.Repeat("c", 231))
	proxy := radius.Attributes{{Type: rfc2865.ProxyState_Type, Attribute: radius.Attribute("p")}}
	if _, err := encodeReply(h, radius.CodeAccessAccept, hdr, "", nil, append(attrs, last...), proxy); err != errReplyTooLarge {
		t.Errorf("4096 octets and a Proxy-State: %v, want errReplyTooLarge", err)
	}
	if _, err := encodeReply(h, radius.CodeAccessAccept, hdr, "m", nil, append(attrs, last...), nil); err != errReplyTooLarge {
		t.Errorf("4096 octets and a Reply-Message: %v, want errReplyTooLarge", err)
	}

	for _, a := range []auth.Attribute{
		{Name: "MA", Type: 80, Data: make([]byte, 16)},
		{Name: "Reply-Message", Type: 18, Data: []byte("x")},
		{Name: "State", Type: 24, Data: []byte("x")},
		{Name: "Proxy-State", Type: 33, Data: []byte("x")},
		{Name: "zero", Type: 0, Data: []byte("x")},
		{Name: "empty", Type: 25},
		{Name: "long", Type: 25, Data: make([]byte, 254)},
	} {
		if _, err := encodeReply(h, radius.CodeAccessAccept, hdr, "", nil, []auth.Attribute{a}, nil); err != errBadAttribute {
			t.Errorf("%s: %v, want errBadAttribute", a.Name, err)
		}
	}

	attrs = mustAttributes(t, grantedPairs...)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := encodeReply(h, radius.CodeAccessAccept, hdr, "Welcome", nil, attrs, proxy); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("encodeReply with attributes allocates %v times, want once", allocs)
	}
}
