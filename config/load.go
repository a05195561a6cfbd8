package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// Load reads the YAML file at path ("" for none), applies the RADIUSMFA_*
// overrides found in env (os.Environ's format; Load never reads the process
// environment itself), fills derived defaults, reads client secret files and
// validates the result.
//
// On success it returns the configuration and the warnings worth showing an
// operator (weak secrets, legacy clients, …). On failure it returns one error
// joining every problem found, each naming its key; the configuration is nil.
func Load(path string, env []string) (*Config, []string, error) {
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, nil, fmt.Errorf("config file: %w", err)
		}
	}
	return load(data, path, env)
}

// load is Load after the file has been read; source names it in messages.
func load(data []byte, source string, env []string) (*Config, []string, error) {
	raw, err := parseYAML(data)
	if err != nil {
		return nil, nil, fmt.Errorf("config file %s: %w", source, err)
	}

	var p problems
	clean, _ := p.check("", raw, configType)
	tree := clean.(map[string]any)
	p.envOverrides(env, tree)

	cfg, err := decode(tree)
	if err != nil {
		// check has already rejected anything the decoder could trip on.
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	errs := append(p.errs, cfg.resolve()...)
	errs = append(errs, cfg.validate()...)
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return cfg, cfg.warnings(), nil
}

// parseYAML reads one YAML document into a tree of maps and lists. Keys are
// case-insensitive (viper lower-cases them); null values are dropped, so an
// empty key keeps its default.
func parseYAML(data []byte) (map[string]any, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		// Keep the parser's own message, which carries the line number,
		// without viper's "While parsing config:" prefix.
		if parseErr := (viper.ConfigParseError{}); errors.As(err, &parseErr) {
			return nil, parseErr.Unwrap()
		}
		return nil, err
	}
	return v.AllSettings(), nil
}

// decode lays tree over the defaults and decodes it strictly: no key may be
// left over and no value converted between types. tree has been through check,
// so durations are already time.Duration and every value has its key's shape.
func decode(tree map[string]any) (*Config, error) {
	v := viper.New()
	setDefaults(v)
	if err := v.MergeConfigMap(tree); err != nil {
		return nil, err
	}
	cfg := new(Config)
	err := v.UnmarshalExact(cfg, func(dc *mapstructure.DecoderConfig) {
		dc.WeaklyTypedInput = false
		dc.ErrorUnused = true
		dc.DecodeHook = nil
	})
	if err != nil {
		return nil, err
	}
	return cfg, nil
}
