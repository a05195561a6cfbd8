package backup

import (
	"context"
	"errors"
	"slices"
	"testing"

	"radiusmfa/factors"
	"radiusmfa/factors/factortest"
)

// FuzzVerify feeds arbitrary input to Verify against an enrollment of known
// codes: it must not panic, must answer only nil, ErrInvalidCode or
// ErrReplayed, and may accept only what normalises to an unused code, once.
// Seeds are in testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	codes := []string{"12345678", "00000000", "99999999", "31415926"}
	f.Add("1234 5678")
	f.Fuzz(func(t *testing.T, input string) {
		e := fixture(codes...)
		e.Counter = 1 << 2 // "99999999" already used
		m := factortest.NewStore(e)
		fac := New(m, Options{})
		err := fac.Verify(context.Background(), e, input)
		if err != nil && !errors.Is(err, factors.ErrInvalidCode) && !errors.Is(err, factors.ErrReplayed) {
			t.Fatalf("Verify(%q): unexpected error %v", input, err)
		}
		c, ok := Normalize(input)
		if ok != (len(c) == CodeDigits) {
			t.Fatalf("Normalize(%q) = %q, %v", input, c, ok)
		}
		slot := slices.Index(codes, c)
		switch {
		case !ok || slot < 0:
			if !errors.Is(err, factors.ErrInvalidCode) {
				t.Fatalf("Verify(%q): got %v, want ErrInvalidCode", input, err)
			}
			if m.Calls() != 0 {
				t.Fatalf("Verify(%q): a wrong code reached the store", input)
			}
		case slot == 2:
			if !errors.Is(err, factors.ErrReplayed) {
				t.Fatalf("Verify(%q): got %v, want ErrReplayed", input, err)
			}
		default:
			if err != nil {
				t.Fatalf("Verify(%q): got %v, want nil", input, err)
			}
			if err := fac.Verify(context.Background(), e, input); !errors.Is(err, factors.ErrReplayed) {
				t.Fatalf("Verify(%q) again: got %v, want ErrReplayed", input, err)
			}
		}
		if ok && FormatCode(input) != c[:4]+" "+c[4:] {
			t.Fatalf("FormatCode(%q) = %q", input, FormatCode(input))
		}
	})
}
