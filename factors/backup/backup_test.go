package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"radiusmfa/factors"
	"radiusmfa/factors/factortest"
	"radiusmfa/factors/internal/codehash"
	"radiusmfa/store"
)

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600))

// seeded is a deterministic random source, so tests that look for patterns
// in random bytes cannot flake.
func seeded(seed byte) *rand.ChaCha8 { return rand.NewChaCha8([32]byte{seed}) }

// fixture is an enrollment of known codes.
func fixture(codes ...string) store.Enrollment {
	salt := bytes.Repeat([]byte{0x5a}, SaltSize)
	return store.Enrollment{ID: "b1", User: "alice", Kind: Kind, Label: Label,
		Secret: codehash.Seal(salt, codes...), CreatedAt: t0}
}

func TestGenerate(t *testing.T) {
	e, codes, err := Generate("alice", Options{Now: factortest.Clock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != DefaultN {
		t.Fatalf("%d codes, want %d", len(codes), DefaultN)
	}
	eightDigits := regexp.MustCompile(`^[0-9]{8}$`)
	seen := map[string]bool{}
	for _, c := range codes {
		if !eightDigits.MatchString(c) {
			t.Errorf("code %q is not 8 digits", c)
		}
		if seen[c] {
			t.Errorf("code %q given twice", c)
		}
		seen[c] = true
	}
	if e.Kind != Kind || e.Label != "backup codes" || e.User != "alice" || e.Counter != 0 {
		t.Errorf("unexpected enrollment %+v", e)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(e.ID) {
		t.Errorf("id %q is not 16 hex digits", e.ID)
	}
	if !e.CreatedAt.Equal(t0) || e.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt %v, want %v in UTC", e.CreatedAt, t0)
	}
	if want := SaltSize + DefaultN*sha256.Size; len(e.Secret) != want {
		t.Errorf("secret of %d bytes, want %d", len(e.Secret), want)
	}
	if got := Remaining(e); got != DefaultN {
		t.Errorf("Remaining = %d, want %d", got, DefaultN)
	}
	e2, _, err := Generate("alice", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e2.ID == e.ID || bytes.Equal(e2.Secret[:SaltSize], e.Secret[:SaltSize]) {
		t.Error("two generations share an id or a salt")
	}
}

func TestGenerateCount(t *testing.T) {
	for _, n := range []int{1, 2, MaxN} {
		e, codes, err := Generate("alice", Options{N: n})
		if err != nil {
			t.Fatalf("N=%d: %v", n, err)
		}
		if len(codes) != n || Remaining(e) != n {
			t.Errorf("N=%d: %d codes, Remaining %d", n, len(codes), Remaining(e))
		}
	}
	for _, n := range []int{-1, MaxN + 1, 1000} {
		_, _, err := Generate("alice", Options{N: n})
		if err == nil || !strings.Contains(err.Error(), "want 1 to 64") {
			t.Errorf("N=%d: got %v, want an error naming the range", n, err)
		}
	}
}

// scriptReader yields its chunks, one per read, then reads from rest.
type scriptReader struct {
	chunks [][]byte
	rest   io.Reader
}

func (r *scriptReader) Read(p []byte) (int, error) {
	if len(r.chunks) > 0 {
		n := copy(p, r.chunks[0])
		r.chunks = r.chunks[1:]
		return n, nil
	}
	return r.rest.Read(p)
}

// constReader yields the same bytes for ever: a broken source.
type constReader []byte

func (b constReader) Read(p []byte) (int, error) { return copy(p, b), nil }

// rand.Int reads 4 bytes per draw for a bound of 10^8 and keeps the low 27
// bits of them.
func draw(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func TestCodesDistinctDespiteRepeats(t *testing.T) {
	seven := draw(7)
	r := &scriptReader{chunks: [][]byte{seven, seven, seven, draw(8), seven}, rest: seeded(1)}
	codes, err := distinctCodes(r, 4)
	if err != nil {
		t.Fatal(err)
	}
	if codes[0] != "00000007" || codes[1] != "00000008" {
		t.Errorf("codes %q, want 00000007 then 00000008 (repeats redrawn, leading zeros kept)", codes)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if seen[c] {
			t.Fatalf("repeated draw kept: %q in %q", c, codes)
		}
		seen[c] = true
	}
	if _, err := distinctCodes(constReader(seven), 2); err == nil {
		t.Error("a source that always repeats did not fail")
	}
}

func TestVerifyEachCodeOnce(t *testing.T) {
	e, codes, err := Generate("alice", Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := factortest.NewStore(e)
	at := t0.Add(time.Hour)
	f := New(m, Options{Now: factortest.Clock(at)})
	ctx := context.Background()
	for i, c := range codes {
		if err := f.Verify(ctx, m.Stored(t, e), c); err != nil {
			t.Fatalf("code %d: %v", i, err)
		}
		got := m.Stored(t, e)
		if got.Counter != 1<<(i+1)-1 || !got.LastUsedAt.Equal(at) {
			t.Fatalf("after code %d: Counter %b, LastUsedAt %v", i, got.Counter, got.LastUsedAt)
		}
		if r := Remaining(got); r != len(codes)-i-1 {
			t.Errorf("after code %d: Remaining %d", i, r)
		}
	}
	for i, c := range codes {
		// Refused from the record read at login, without a store write...
		calls := m.Calls()
		if err := f.Verify(ctx, m.Stored(t, e), c); !errors.Is(err, factors.ErrReplayed) {
			t.Errorf("code %d replayed: got %v, want ErrReplayed", i, err)
		}
		if m.Calls() != calls {
			t.Errorf("code %d replayed: the store was written", i)
		}
		// ...and from the stored record when the one read at login is stale.
		if err := f.Verify(ctx, e, c); !errors.Is(err, factors.ErrReplayed) {
			t.Errorf("code %d replayed on a stale record: got %v, want ErrReplayed", i, err)
		}
	}
}

func TestWrongCode(t *testing.T) {
	e := fixture("12345678", "87654321")
	m := factortest.NewStore(e)
	f := New(m, Options{})
	for _, c := range []string{"12345679", "00000000", "1234 5677", "87654320"} {
		if err := f.Verify(context.Background(), e, c); !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("code %q: got %v, want ErrInvalidCode", c, err)
		}
	}
	if m.Calls() != 0 {
		t.Error("a wrong code reached the store")
	}
}

func TestMalformedInputDoesNoWork(t *testing.T) {
	// A secret of the wrong length makes any attempt at matching an error,
	// and the store refuses every call: ErrInvalidCode proves neither ran.
	e := fixture("12345678")
	e.Secret = e.Secret[:5]
	m := factortest.NewStore(e)
	m.Fail(errors.New("store must not be called"))
	f := New(m, Options{})
	for _, c := range []string{
		"", "1234567", "123456789", "1234 567", "12345 6789", "abcdefgh", "1234567a",
		"1234\t5678", "1234_5678", "+12345678", "١٢٣٤٥٦٧٨", "１２３４５６７８",
		strings.Repeat("1", 1<<20), strings.Repeat(" ", 40) + "12345678",
	} {
		if err := f.Verify(context.Background(), e, c); !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("code %.20q: got %v, want ErrInvalidCode", c, err)
		}
	}
	if m.Calls() != 0 {
		t.Errorf("the store was called %d times", m.Calls())
	}
}

func TestSeparatorsAccepted(t *testing.T) {
	for _, c := range []string{"12345678", "1234 5678", "1234-5678", " 12-34 56-78 ", "1-2-3-4-5-6-7-8"} {
		e := fixture("12345678")
		f := New(factortest.NewStore(e), Options{})
		if err := f.Verify(context.Background(), e, c); err != nil {
			t.Errorf("code %q: %v", c, err)
		}
	}
}

func TestFormatCode(t *testing.T) {
	for in, want := range map[string]string{
		"12345678": "1234 5678", "1234-5678": "1234 5678", "00000001": "0000 0001",
		"123": "123", "": "",
	} {
		if got := FormatCode(in); got != want {
			t.Errorf("FormatCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMalformedSecret(t *testing.T) {
	for _, n := range []int{0, 1, SaltSize, SaltSize + 31, SaltSize + 33, SaltSize + (MaxN+1)*sha256.Size} {
		e := fixture()
		e.Secret = make([]byte, n)
		m := factortest.NewStore(e)
		err := New(m, Options{}).Verify(context.Background(), e, "12345678")
		if err == nil || errors.Is(err, factors.ErrInvalidCode) || errors.Is(err, factors.ErrReplayed) {
			t.Errorf("secret of %d bytes: got %v, want an error", n, err)
		}
		if Remaining(e) != 0 {
			t.Errorf("secret of %d bytes: Remaining %d", n, Remaining(e))
		}
	}
}

func TestRefusedEnrollments(t *testing.T) {
	ctx := context.Background()
	t.Run("disabled", func(t *testing.T) {
		e := fixture("12345678")
		e.Disabled = true
		m := factortest.NewStore(e)
		if err := New(m, Options{}).Verify(ctx, e, "12345678"); !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("got %v, want ErrInvalidCode", err)
		}
	})
	t.Run("disabled since read", func(t *testing.T) {
		e := fixture("12345678")
		stored := e
		stored.Disabled = true
		m := factortest.NewStore(stored)
		if err := New(m, Options{}).Verify(ctx, e, "12345678"); !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("got %v, want ErrInvalidCode", err)
		}
		if m.Stored(t, e).Counter != 0 {
			t.Error("code marked used on a disabled enrollment")
		}
	})
	t.Run("deleted since read", func(t *testing.T) {
		e := fixture("12345678")
		m := factortest.NewStore()
		if err := New(m, Options{}).Verify(ctx, e, "12345678"); !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("got %v, want ErrInvalidCode", err)
		}
	})
	t.Run("other kind", func(t *testing.T) {
		e := fixture("12345678")
		e.Kind = "totp"
		if err := New(factortest.NewStore(e), Options{}).Verify(ctx, e, "12345678"); !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("got %v, want ErrInvalidCode", err)
		}
	})
	t.Run("store broken", func(t *testing.T) {
		e := fixture("12345678")
		m := factortest.NewStore(e)
		m.Fail(errors.New("disk on fire"))
		err := New(m, Options{}).Verify(ctx, e, "12345678")
		if err == nil || errors.Is(err, factors.ErrInvalidCode) || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("got %v, want the store's error", err)
		}
	})
}

// TestConcurrentSameCode offers one code from many logins at once, all
// holding the record read before any of them wrote: exactly one gets in.
func TestConcurrentSameCode(t *testing.T) {
	for _, logins := range []int{2, 20} {
		e, codes, err := Generate("alice", Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := factortest.NewStore(e)
		f := New(m, Options{})
		for _, c := range codes[:3] {
			ok, replayed := factortest.Race(t, f, e, c, logins)
			if ok != 1 || replayed != logins-1 {
				t.Errorf("%d logins: %d accepted, %d replayed; want 1 and %d", logins, ok, replayed, logins-1)
			}
		}
		if got := Remaining(m.Stored(t, e)); got != DefaultN-3 {
			t.Errorf("Remaining %d, want %d", got, DefaultN-3)
		}
	}
}

// TestInvariantSecretHoldsNoCode checks the invariant on generate: no code,
// as text or as its number's bytes, appears in the secret.
func TestInvariantSecretHoldsNoCode(t *testing.T) {
	for seed := range byte(20) {
		e, codes, err := generate("alice", Options{N: MaxN}, seeded(seed))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range codes {
			v, _ := strconv.ParseUint(c, 10, 32)
			var be, le [4]byte
			binary.BigEndian.PutUint32(be[:], uint32(v))
			binary.LittleEndian.PutUint32(le[:], uint32(v))
			for _, form := range [][]byte{[]byte(c), []byte(FormatCode(c)), []byte(c[:4]), []byte(c[4:]), be[:], le[:]} {
				if bytes.Contains(e.Secret, form) {
					t.Fatalf("seed %d: secret holds code %s as %x", seed, c, form)
				}
			}
		}
	}
}

func TestRemaining(t *testing.T) {
	e := fixture("11111111", "22222222", "33333333")
	for _, c := range []struct {
		counter uint64
		want    int
	}{
		{0, 3}, {0b001, 2}, {0b101, 1}, {0b111, 0},
		{0b1000, 3}, // bits past the last code do not count
		{^uint64(0), 0},
	} {
		e.Counter = c.counter
		if got := Remaining(e); got != c.want {
			t.Errorf("Counter %b: Remaining %d, want %d", c.counter, got, c.want)
		}
	}
	e.Kind = "bypass"
	e.Counter = 0
	if got := Remaining(e); got != 0 {
		t.Errorf("other kind: Remaining %d, want 0", got)
	}
	full, _, err := Generate("alice", Options{N: MaxN})
	if err != nil {
		t.Fatal(err)
	}
	if got := Remaining(full); got != MaxN {
		t.Errorf("%d codes: Remaining %d", MaxN, got)
	}
	full.Counter = 1 << 63
	if got := Remaining(full); got != MaxN-1 {
		t.Errorf("%d codes, last used: Remaining %d", MaxN, got)
	}
}

// TestLastSlot uses the 64th code, whose bit is the counter's top bit.
func TestLastSlot(t *testing.T) {
	e, codes, err := Generate("alice", Options{N: MaxN})
	if err != nil {
		t.Fatal(err)
	}
	m := factortest.NewStore(e)
	f := New(m, Options{})
	if err := f.Verify(context.Background(), e, codes[MaxN-1]); err != nil {
		t.Fatal(err)
	}
	if got := m.Stored(t, e).Counter; got != 1<<63 {
		t.Errorf("Counter %b, want only the top bit", got)
	}
	if err := f.Verify(context.Background(), m.Stored(t, e), codes[MaxN-1]); !errors.Is(err, factors.ErrReplayed) {
		t.Errorf("replay: got %v", err)
	}
}
