package config

import (
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Environment variables.
const (
	// EnvPrefix starts every variable that overrides a key.
	EnvPrefix = "RADIUSMFA_"
	// EnvConfig names the configuration file when no --config flag is given.
	EnvConfig = "RADIUSMFA_CONFIG"
	// EnvMasterKey holds the base64 store key; it takes precedence over
	// store.master_key_file. Load ignores it: the store's opener reads it.
	EnvMasterKey = "RADIUSMFA_MASTER_KEY"
)

// ResolveConfigPath returns the configuration file to load: the --config flag
// if set, else RADIUSMFA_CONFIG from env, else "" (no file).
func ResolveConfigPath(flagValue string, env []string) string {
	if flagValue != "" {
		return flagValue
	}
	path, _ := LookupEnv(env, EnvConfig)
	return path
}

// LookupEnv returns the value of the variable key in env, a list of
// "NAME=value" entries in os.Environ's format. When key appears more than
// once the last entry wins, as with exec.Cmd.Env and for every RADIUSMFA_*
// variable Load reads. Names are case-sensitive. ok is false when key is
// absent (or empty, or contains "=", which no entry can match).
func LookupEnv(env []string, key string) (value string, ok bool) {
	if key == "" || strings.Contains(key, "=") {
		return "", false
	}
	for _, kv := range slices.Backward(env) {
		if name, value, found := strings.Cut(kv, "="); found && name == key {
			return value, true
		}
	}
	return "", false
}

// envNames lists the distinct names in env that start with prefix, sorted.
func envNames(env []string, prefix string) []string {
	seen := make(map[string]bool)
	for _, kv := range env {
		if name, _, found := strings.Cut(kv, "="); found && strings.HasPrefix(name, prefix) {
			seen[name] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// envOverrides checks every RADIUSMFA_* variable in env and writes the ones
// that name a key into tree, replacing what the file said. A variable that
// names no key is an error, so a typo does not silently leave a default.
func (p *problems) envOverrides(env []string, tree map[string]any) {
	byName := make(map[string]leaf)
	var names []string
	for _, l := range leaves() {
		byName[l.env] = l
		names = append(names, l.env)
	}
	for _, name := range envNames(env, EnvPrefix) {
		if name == EnvConfig || name == EnvMasterKey {
			continue
		}
		l, known := byName[name]
		if !known {
			p.addf(name, "no such setting%s", suggest(name, names))
			continue
		}
		value, _ := LookupEnv(env, name)
		raw, ok := p.parseEnv(name, value, l.typ)
		if !ok {
			continue
		}
		if val, ok := p.check(name, raw, l.typ); ok {
			setPath(tree, strings.Split(l.key, "."), val)
		}
	}
}

// parseEnv turns a variable's text into the shape YAML would have given the
// key, leaving type errors to check so they read the same as the file's.
func (p *problems) parseEnv(name, value string, t reflect.Type) (any, bool) {
	switch {
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return p.parseYAMLList(name, value)
	case t.Kind() == reflect.Slice:
		trimmed := strings.TrimSpace(value)
		if strings.HasPrefix(trimmed, "[") {
			return p.parseYAMLList(name, value)
		}
		items := []any{}
		if trimmed != "" {
			for item := range strings.SplitSeq(trimmed, ",") {
				items = append(items, strings.TrimSpace(item))
			}
		}
		return items, true
	case isInteger(t.Kind()) && t != durationType:
		if n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64); err == nil {
			return int(n), true
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(value), 10, 64); err == nil {
			return n, true
		}
	}
	return value, true
}

// parseYAMLList reads a YAML or JSON list (JSON being a subset of YAML).
func (p *problems) parseYAMLList(name, value string) (any, bool) {
	var list any
	if err := yaml.Unmarshal([]byte(value), &list); err != nil {
		p.addf(name, "expected a YAML or JSON list: %v", err)
		return nil, false
	}
	if list == nil {
		return []any{}, true
	}
	return list, true
}

// setPath stores val at path in tree, creating (or replacing) sections on the
// way.
func setPath(tree map[string]any, path []string, val any) {
	for _, k := range path[:len(path)-1] {
		next, ok := tree[k].(map[string]any)
		if !ok {
			next = make(map[string]any)
			tree[k] = next
		}
		tree = next
	}
	tree[path[len(path)-1]] = val
}
