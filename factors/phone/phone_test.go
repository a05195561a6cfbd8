package phone

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	us := Rules{DefaultRegion: "US"}
	cases := []struct {
		rules Rules
		typed string
		want  Number
		err   error
	}{
		{us, "+1 585-555-0123", "+15855550123", nil},
		{us, "(585) 555-0123", "+15855550123", nil},
		{us, "585.555.0123", "+15855550123", nil},
		{us, "  +1 650 253 0000 ", "+16502530000", nil},
		{us, "+44 7911 123456", "+447911123456", nil},
		{Rules{}, "+49 30 1234567", "+49301234567", nil},
		{Rules{}, "+33 6 12 34 56 78", "+33612345678", nil},
		{Rules{}, "+81 90-1234-5678", "+819012345678", nil},
		{Rules{DefaultRegion: "gb"}, "07911 123456", "+447911123456", nil},
		// Not numbers, or not valid for their country.
		{us, "", "", ErrInvalid},
		{us, "555-0123", "", ErrInvalid},
		{us, "+1 123 456 7890", "", ErrInvalid},
		{us, "+44 12", "", ErrInvalid},
		{us, "call me", "", ErrInvalid},
		{us, "+1 585 555 0123 ext. 99999999999999999999999999999999999999999999999999999", "", ErrInvalid},
		{Rules{}, "585 555 0123", "", ErrInvalid}, // no default region: the + is required
		// The allowed-countries rule.
		{Rules{DefaultRegion: "US", Allowed: []string{"US"}}, "+15855550123", "+15855550123", nil},
		{Rules{DefaultRegion: "US", Allowed: []string{"us"}}, "+44 7911 123456", "", ErrCountryNotAllowed},
		{Rules{Allowed: []string{"CA", "US"}}, "+1 416 555 0123", "+14165550123", nil},
		{Rules{Allowed: []string{"US"}}, "+1 416 555 0123", "", ErrCountryNotAllowed}, // +1 but Canada
	}
	for _, c := range cases {
		got, err := c.rules.Parse(c.typed)
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("%+v.Parse(%q) = %q, %v; want %q, %v", c.rules, c.typed, got, err, c.want, c.err)
		}
	}
}

func TestCountry(t *testing.T) {
	for n, want := range map[Number]string{"+15855550123": "US", "+14165550123": "CA", "+442079460018": "GB", "+447911123456": "GG", "junk": ""} {
		if got := n.Country(); got != want {
			t.Errorf("%s.Country() = %q, want %q", n, got, want)
		}
	}
}

func TestMask(t *testing.T) {
	for n, want := range map[Number]string{
		"+15855553816":  "•••-•••-3816",
		"+447911123456": "+44 ••••••3456",
		"+819012345678": "+81 ••••••5678",
		"15855553816":   "•••",
		"":              "•••",
	} {
		if got := n.Mask(); got != want {
			t.Errorf("%q.Mask() = %q, want %q", n, got, want)
		}
	}
}

func TestRulesCheck(t *testing.T) {
	if err := (Rules{DefaultRegion: "US", Allowed: []string{"US", "ca"}}).Check(); err != nil {
		t.Errorf("good rules: %v", err)
	}
	err := (Rules{DefaultRegion: "USA", Allowed: []string{"US", "XX"}}).Check()
	if err == nil {
		t.Fatal("unknown region codes accepted")
	}
	for _, bad := range []string{`"USA"`, `"XX"`} {
		if !strings.Contains(err.Error(), bad) {
			t.Errorf("error %q does not name %s", err, bad)
		}
	}
}

// FuzzParse: whatever is typed, Parse returns an error or a number in
// E.164 form that parses again to itself and masks to its last four digits.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"+1 585-555-0123", "(585) 555-0123", "+44 7911 123456", "07911 123456", "+", "++1", "+1 (((", "＋１ ５８５ ５５５ ０１２３"} {
		f.Add(s)
	}
	r := Rules{DefaultRegion: "US"}
	f.Fuzz(func(t *testing.T, typed string) {
		n, err := r.Parse(typed)
		if err != nil {
			if n != "" {
				t.Fatalf("Parse(%q) = %q with error %v", typed, n, err)
			}
			return
		}
		if !strings.HasPrefix(string(n), "+") || len(n) > 16 {
			t.Fatalf("Parse(%q) = %q, not E.164", typed, n)
		}
		again, err := r.Parse(string(n))
		if err != nil || again != n {
			t.Fatalf("Parse(%q) = %q, which parses to %q, %v", typed, n, again, err)
		}
		if m := n.Mask(); !strings.HasSuffix(m, string(n[len(n)-4:])) {
			t.Fatalf("%q masks to %q", n, m)
		}
	})
}
