package codehash

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

// rand.Int reads 4 bytes per draw for a bound of 10^8 and keeps the low 27
// bits of them.
func draw(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func TestRandomRejectsOutOfRange(t *testing.T) {
	// 2^27-1 is past 10^8-1: it must be drawn again, not reduced modulo 10^8
	// (which would make codes below 34217728 twice as likely).
	r := bytes.NewReader(slices.Concat(draw(1<<27-1), draw(100_000_000), draw(42)))
	c, err := Random(r)
	if err != nil {
		t.Fatal(err)
	}
	if c != "00000042" {
		t.Errorf("code %q, want the first in-range draw 00000042", c)
	}
	if _, err := Random(strings.NewReader("")); err == nil {
		t.Error("an empty source did not fail")
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"12345678": "12345678", "1234 5678": "12345678", "1234-5678": "12345678",
		" 12-34 56-78 ": "12345678", "00000000": "00000000",
	} {
		if got, ok := Normalize(in); !ok || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{
		"", "1234567", "123456789", "1234\t5678", "1234_5678", "+12345678", "１２３４５６７８",
		strings.Repeat(" ", 30) + "12345678",
	} {
		if got, ok := Normalize(in); ok || got != "" {
			t.Errorf("Normalize(%q) = %q, %v; want refused", in, got, ok)
		}
	}
}

func TestMatchEverySlot(t *testing.T) {
	codes := []string{"11111111", "22222222", "33333333"}
	secret := Seal(bytes.Repeat([]byte{1}, SaltSize), codes...)
	if len(secret) != SaltSize+len(codes)*sha256.Size {
		t.Fatalf("secret of %d bytes", len(secret))
	}
	for i, c := range codes {
		if slot, ok, err := Match(secret, c, 3); err != nil || !ok || slot != i {
			t.Errorf("Match(%s) = %d, %v, %v; want %d", c, slot, ok, err, i)
		}
	}
	if _, ok, err := Match(secret, "44444444", 3); err != nil || ok {
		t.Errorf("another code: matched %v, %v", ok, err)
	}
	// Another salt, the same codes: nothing matches.
	other := Seal(bytes.Repeat([]byte{2}, SaltSize), codes...)
	copy(other[SaltSize:], secret[SaltSize:])
	if _, ok, _ := Match(other, codes[0], 3); ok {
		t.Error("a digest matched under another salt")
	}
}

func TestSlotsBounds(t *testing.T) {
	for n, want := range map[int]int{SaltSize + sha256.Size: 1, SaltSize + 4*sha256.Size: 4} {
		if got, err := Slots(make([]byte, n), 4); err != nil || got != want {
			t.Errorf("%d bytes: %d slots, %v; want %d", n, got, err, want)
		}
	}
	for _, n := range []int{0, SaltSize, SaltSize + sha256.Size - 1, SaltSize + sha256.Size + 1, SaltSize + 5*sha256.Size} {
		if _, err := Slots(make([]byte, n), 4); err == nil {
			t.Errorf("%d bytes: no error", n)
		}
		if _, _, err := Match(make([]byte, n), "12345678", 4); err == nil {
			t.Errorf("%d bytes: Match gave no error", n)
		}
	}
}
