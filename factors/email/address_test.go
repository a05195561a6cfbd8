package email

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	good := map[string]string{
		"alice@example.com":            "alice@example.com",
		"  Alice.Smith@Example.COM ":   "Alice.Smith@example.com",
		"o'brien+vpn@mail.example.org": "o'brien+vpn@mail.example.org",
		"ckim@example.co.uk":           "ckim@example.co.uk",
	}
	for typed, want := range good {
		if got, err := ParseAddress(typed); got != want || err != nil {
			t.Errorf("ParseAddress(%q) = %q, %v; want %q", typed, got, err, want)
		}
	}
	for _, typed := range []string{
		"", "alice", "alice@", "@example.com", "alice@localhost", "alice@example.com.",
		"Alice <alice@example.com>", "alice@example.com, bob@example.com", "alice@[127.0.0.1]",
		"alice@exa mple.com", "alice\n@example.com", "alice@example.com\r\nBcc: eve@example.com", `"a@b"@example.com`, `"alice"@example.com`,
		strings.Repeat("a", 250) + "@example.com", "\xff@example.com",
	} {
		if got, err := ParseAddress(typed); !errors.Is(err, ErrInvalidAddress) || got != "" {
			t.Errorf("ParseAddress(%q) = %q, %v; want ErrInvalidAddress", typed, got, err)
		}
	}
}

func TestMask(t *testing.T) {
	for addr, want := range map[string]string{
		"ckim@example.com":  "cki•••@example.com",
		"al@example.com":    "a•••@example.com",
		"bob@example.com":   "b•••@example.com",
		"élodie@example.fr": "élo•••@example.fr",
		"not an address":    "•••",
		"@example.com":      "•••",
	} {
		if got := Mask(addr); got != want {
			t.Errorf("Mask(%q) = %q, want %q", addr, got, want)
		}
	}
}

// FuzzParseAddress: whatever is typed, ParseAddress returns an error or a
// bare address that parses again to itself and masks to its domain.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"alice@example.com", "Alice <alice@example.com>", "a@b.c", "\"a b\"@example.com", "a@b@c.d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		a, err := ParseAddress(typed)
		if err != nil {
			if a != "" {
				t.Fatalf("ParseAddress(%q) = %q with error %v", typed, a, err)
			}
			return
		}
		again, err := ParseAddress(a)
		if err != nil || again != a {
			t.Fatalf("ParseAddress(%q) = %q, which parses to %q, %v", typed, a, again, err)
		}
		_, domain, _ := strings.Cut(a, "@")
		if m := Mask(a); !strings.HasSuffix(m, "•••@"+domain) {
			t.Fatalf("%q masks to %q", a, m)
		}
	})
}
