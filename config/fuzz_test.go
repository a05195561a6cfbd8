package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader as a config file. Whatever the
// input, Load must not panic, and a configuration it accepts must pass
// Validate again unchanged in outcome. The seeds in testdata/fuzz/FuzzLoad
// and the example files run with every plain `go test`.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"radiusmfa.yaml", "dev.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "examples", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(oneClient))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, err := load(data, "fuzz.yaml", nil)
		if err != nil {
			if cfg != nil {
				t.Fatalf("load returned a config with error %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("loaded config fails Validate: %v", err)
		}
	})
}
