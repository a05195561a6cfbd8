package auth

import (
	"strings"
	"testing"
)

// FuzzSplitKeyword: a keyword split gives back the input exactly
// (password + delimiter + keyword), names a device 0-2 only, and what is
// not split comes back whole.
func FuzzSplitKeyword(f *testing.F) {
	for _, s := range []string{"secret,push", "a,b,PUSH2", "x,push3", "x,push4", ",push", "push", "x,push,123456", "pw,sms2", "pw,PHONE", "a,email3", "x,sms4"} {
		f.Add(s, ",")
	}
	f.Fuzz(func(t *testing.T, s, delim string) {
		pw, kw, ok := SplitKeyword(s, delim)
		if !ok {
			if pw != s || kw != (Keyword{}) {
				t.Fatalf("no keyword in %q but %q, %+v", s, pw, kw)
			}
			return
		}
		if delim == "" || !strings.HasPrefix(s, pw+delim) || kw.N < 0 || kw.N > 2 {
			t.Fatalf("SplitKeyword(%q, %q) = %q, %+v", s, delim, pw, kw)
		}
		word := strings.ToLower(s[len(pw)+len(delim):])
		want := map[string]string{"push": KindPush, "sms": KindSMS, "phone": KindVoice, "email": KindEmail}
		name := want[word]
		if kw.N > 0 {
			name = want[strings.TrimSuffix(word, string(rune('1'+kw.N)))]
		}
		if name == "" || name != kw.Kind {
			t.Fatalf("SplitKeyword(%q, %q): keyword %q read as %+v", s, delim, word, kw)
		}
		if strings.Contains(s[len(pw)+len(delim):], delim) {
			t.Fatalf("SplitKeyword(%q, %q) split before the last delimiter", s, delim)
		}
	})
}
