package radiusd

import (
	"strings"
	"testing"
	"unicode/utf8"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"radiusmfa/auth"
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
	b, err := encodeReply(h, radius.CodeAccessChallenge, hdr, strings.Repeat("m", 5000), make([]byte, maxAttrValue), nil)
	if err != nil || len(b) != headerLen+maAttrLen+maxReplyMessage+4*2+2+maxAttrValue {
		t.Errorf("huge message: %d octets, %v", len(b), err)
	}
	var proxy radius.Attributes // as much Proxy-State as a request can carry
	for range 16 {
		proxy = append(proxy, &radius.AVP{Type: rfc2865.ProxyState_Type, Attribute: make(radius.Attribute, maxAttrValue)})
	}
	if _, err := encodeReply(h, radius.CodeAccessReject, hdr, "Invalid request", nil, proxy); err != errReplyTooLarge {
		t.Errorf("huge Proxy-State: %v", err)
	}
	if _, err := encodeReply(h, radius.CodeAccessChallenge, hdr, "", make([]byte, 254), nil); err != errStateTooLarge {
		t.Errorf("huge State: %v", err)
	}
	msg := strings.Repeat("m", 3000)
	proxy = radius.Attributes{{Type: rfc2865.ProxyState_Type, Attribute: radius.Attribute("p")}}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := encodeReply(h, radius.CodeAccessAccept, hdr, msg, []byte("st"), proxy); err != nil {
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
