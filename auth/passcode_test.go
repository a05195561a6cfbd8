package auth

import (
	"strings"
	"testing"
)

func TestSplitPasscode(t *testing.T) {
	cases := []struct {
		in, delim, pw, code string
	}{
		{"secret,123456", ",", "secret", "123456"},
		{"secret,12345678", ",", "secret", "12345678"},
		{"se,cr,et,123456", ",", "se,cr,et", "123456"}, // split at the last delimiter
		{"secret", ",", "secret", ""},
		{"secret,", ",", "secret,", ""},
		{"secret,12345", ",", "secret,12345", ""},         // too short for a passcode
		{"secret,123456789", ",", "secret,123456789", ""}, // too long
		{"secret,12a456", ",", "secret,12a456", ""},
		{"pa,ss", ",", "pa,ss", ""},
		{",123456", ",", "", "123456"},
		{"secret|123456", "|", "secret", "123456"},
		{"secret,123456", "|", "secret,123456", ""},
		{"", ",", "", ""},
		{"secret,١٢٣٤٥٦", ",", "secret,١٢٣٤٥٦", ""}, // non-ASCII digits are not a passcode
	}
	for _, c := range cases {
		pw, code := SplitPasscode(c.in, c.delim)
		if pw != c.pw || code != c.code {
			t.Errorf("SplitPasscode(%q, %q) = %q, %q; want %q, %q", c.in, c.delim, pw, code, c.pw, c.code)
		}
	}
}

func FuzzSplitPasscode(f *testing.F) {
	for _, s := range []string{"secret,123456", "a,b,c,12345678", ",", "", "x,1234567"} {
		f.Add(s, ",")
	}
	f.Fuzz(func(t *testing.T, s, delim string) {
		pw, code := SplitPasscode(s, delim)
		if code == "" {
			if pw != s {
				t.Fatalf("no passcode but password %q != input %q", pw, s)
			}
			// Conversely, input ending in delimiter + 6-8 digits must split.
			if i := strings.LastIndex(s, delim); delim != "" && i >= 0 && isPasscode(s[i+len(delim):]) {
				t.Fatalf("%q ends in a passcode after %q but was not split", s, delim)
			}
			return
		}
		if pw+delim+code != s {
			t.Fatalf("split %q into %q + %q + %q", s, pw, delim, code)
		}
		if !isPasscode(code) {
			t.Fatalf("passcode %q is not 6-8 digits", code)
		}
	})
}

func TestNormalizeUserName(t *testing.T) {
	good := map[string]string{"alice": "alice", " Alice ": "alice", "ALICE@EXAMPLE.COM": "alice@example.com", `EXAMPLE\Bob`: `example\bob`}
	for in, want := range good {
		if got, ok := NormalizeUserName(in); !ok || got != want {
			t.Errorf("NormalizeUserName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "   ", "al\x00ice", "al\nice", "\xff\xfe", strings.Repeat("a", 254)} {
		if got, ok := NormalizeUserName(in); ok {
			t.Errorf("NormalizeUserName(%q) = %q accepted", in, got)
		}
	}
}
