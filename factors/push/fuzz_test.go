package push

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzDecodeSecret feeds arbitrary records to DecodeSecret: it must not
// panic, must return the zero Device with an error, and whatever it accepts
// must be JSON that encodes again and decodes to the same device. Seeds are
// in testdata/fuzz/FuzzDecodeSecret.
func FuzzDecodeSecret(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeSecret(b)
		if err != nil {
			if d != (Device{}) {
				t.Fatalf("DecodeSecret(%q) = %+v with error %v", b, d, err)
			}
			return
		}
		if !json.Valid(b) || (d.PublicKey == nil) != (d.Channel == ChannelNtfy) {
			t.Fatalf("DecodeSecret(%q) accepted", b)
		}
		enc, err := EncodeSecret(d)
		if err != nil {
			t.Fatalf("DecodeSecret(%q) accepted %+v, which EncodeSecret refuses: %v", b, d, err)
		}
		again, err := DecodeSecret(enc)
		if err != nil || !sameDevice(again, d) {
			t.Fatalf("re-decoding %s: %+v, %v; want %+v", enc, again, err, d)
		}
	})
}

// TestFuzzCorpusMeaning keeps the seed corpus honest: the seeds named
// valid* decode and the others are refused.
func TestFuzzCorpusMeaning(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeSecret")
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("only %d seeds", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		body, ok := bytes.CutPrefix(raw, []byte("go test fuzz v1\n[]byte("))
		if !ok {
			t.Fatalf("%s: not a []byte seed", f.Name())
		}
		s, err := strconv.Unquote(string(bytes.TrimSuffix(bytes.TrimSpace(body), []byte(")"))))
		if err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		_, err = DecodeSecret([]byte(s))
		if want := strings.HasPrefix(f.Name(), "valid"); want != (err == nil) {
			t.Errorf("seed %s: DecodeSecret: %v", f.Name(), err)
		}
	}
}
