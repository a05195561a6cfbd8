package auth

import (
	"strings"
	"testing"
)

// FuzzSplitKeyword: a keyword split gives back the input exactly
// (password + delimiter + keyword), names approver 0-2 only, and what is
// not split comes back whole.
func FuzzSplitKeyword(f *testing.F) {
	for _, s := range []string{"secret,push", "a,b,PUSH2", "x,push3", "x,push4", ",push", "push", "x,push,123456"} {
		f.Add(s, ",")
	}
	f.Fuzz(func(t *testing.T, s, delim string) {
		pw, n, ok := SplitKeyword(s, delim)
		if !ok {
			if pw != s || n != 0 {
				t.Fatalf("no keyword in %q but %q, %d", s, pw, n)
			}
			return
		}
		if delim == "" || !strings.HasPrefix(s, pw+delim) || n < 0 || n > 2 {
			t.Fatalf("SplitKeyword(%q, %q) = %q, %d", s, delim, pw, n)
		}
		kw := strings.ToLower(s[len(pw)+len(delim):])
		want := map[string]int{"push": 0, "push2": 1, "push3": 2}
		if w, known := want[kw]; !known || w != n {
			t.Fatalf("SplitKeyword(%q, %q): keyword %q read as approver %d", s, delim, kw, n)
		}
		if strings.Contains(s[len(pw)+len(delim):], delim) {
			t.Fatalf("SplitKeyword(%q, %q) split before the last delimiter", s, delim)
		}
	})
}
