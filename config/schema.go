package config

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The schema is read from Config's mapstructure tags, so the list of keys, the
// environment variable names and the defaults can never drift from the struct.

var (
	configType   = reflect.TypeFor[Config]()
	durationType = reflect.TypeFor[time.Duration]()
)

// boolStringKeys are string settings that also take a YAML boolean, which is
// normalised to "true" or "false" (so `require_message_authenticator: false`
// does not need quotes).
var boolStringKeys = map[string]bool{"require_message_authenticator": true}

// hiddenKeys hold secrets: a message about one never shows its value, since
// a mistyped secret is still most of the secret and messages end up in logs.
var hiddenKeys = map[string]bool{"secret": true, "bind_password": true}

// leaf is one settable key: a scalar, a list, or the list of clients.
type leaf struct {
	key   string // dotted path, e.g. "radius.request_timeout"
	env   string // e.g. "RADIUSMFA_RADIUS_REQUEST_TIMEOUT"
	typ   reflect.Type
	index []int // field index in Config, for reflect.Value.FieldByIndex
}

// leaves lists every key of Config in declaration order.
func leaves() []leaf {
	var out []leaf
	var walk func(prefix string, t reflect.Type, index []int)
	walk = func(prefix string, t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			key := joinKey(prefix, f.Tag.Get("mapstructure"))
			idx := append(slices.Clone(index), i)
			if isSection(f.Type) {
				walk(key, f.Type, idx)
				continue
			}
			env := EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
			out = append(out, leaf{key: key, env: env, typ: f.Type, index: idx})
		}
	}
	walk("", configType, nil)
	return out
}

func isSection(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t != durationType
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// problems collects errors that each name the key they are about.
type problems struct{ errs []error }

func (p *problems) addf(key, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// check compares a raw value (as decoded from YAML or built from the
// environment) with the type it will be decoded into. It reports unknown keys
// and wrongly typed values, and returns the value with those parts removed, so
// decoding can go on and the rest of the file can still be validated. ok is
// false when the value as a whole is unusable.
func (p *problems) check(key string, v any, t reflect.Type) (clean any, ok bool) {
	switch {
	case t == durationType:
		return p.checkDuration(key, v)
	case t.Kind() == reflect.Struct:
		return p.checkSection(key, v, t)
	case t.Kind() == reflect.Slice:
		return p.checkList(key, v, t)
	case t.Kind() == reflect.String:
		if s, isString := v.(string); isString {
			return s, true
		}
		p.addf(key, "expected %s, got %s", describe(t), showUnquoted(key, v))
		return nil, false
	case isInteger(t.Kind()):
		return p.checkInteger(key, v, t)
	case t.Kind() == reflect.Bool:
		return p.checkBool(key, v)
	}
	panic("config: no rule for field type " + t.String())
}

func (p *problems) checkSection(key string, v any, t reflect.Type) (any, bool) {
	m, isMap := asMap(v)
	if !isMap {
		p.addf(key, "expected %s, got %s", describe(t), showFor(key, v))
		return nil, false
	}
	fields := make(map[string]reflect.Type, t.NumField())
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("mapstructure")
		fields[name] = t.Field(i).Type
		names = append(names, name)
	}
	out := make(map[string]any, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		sub := joinKey(key, name)
		lower := strings.ToLower(name)
		ft, known := fields[lower]
		switch {
		case !known:
			p.addf(sub, "unknown key%s", suggest(lower, names))
		case m[name] == nil:
			// An empty value keeps the default.
		case boolStringKeys[lower] && isBool(m[name]):
			out[lower] = strconv.FormatBool(m[name].(bool))
		default:
			if val, ok := p.check(sub, m[name], ft); ok {
				out[lower] = val
			}
		}
	}
	return out, true
}

func (p *problems) checkList(key string, v any, t reflect.Type) (any, bool) {
	items, isList := v.([]any)
	if !isList {
		p.addf(key, "expected %s, got %s", describe(t), showFor(key, v))
		return nil, false
	}
	out := make([]any, len(items))
	ok := true
	for i, item := range items {
		sub := fmt.Sprintf("%s[%d]", key, i)
		if item == nil {
			p.addf(sub, "expected %s, got null", describe(t.Elem()))
			ok = false
			continue
		}
		val, itemOK := p.check(sub, item, t.Elem())
		ok = ok && itemOK
		out[i] = val
	}
	return out, ok
}

func (p *problems) checkDuration(key string, v any) (any, bool) {
	switch x := v.(type) {
	case time.Duration:
		return x, true
	case string:
		if d, err := time.ParseDuration(strings.TrimSpace(x)); err == nil {
			return d, true
		}
	case int:
		if x == 0 { // a bare 0 is unambiguous
			return time.Duration(0), true
		}
	}
	p.addf(key, "expected %s, got %s", describe(durationType), showFor(key, v))
	return nil, false
}

func (p *problems) checkInteger(key string, v any, t reflect.Type) (any, bool) {
	lo, hi := integerRange(t)
	var n int64
	inRange := false
	switch x := v.(type) {
	case int:
		n, inRange = int64(x), int64(x) >= lo && uint64Of(int64(x)) <= hi
	case int64:
		n, inRange = x, x >= lo && uint64Of(x) <= hi
	case uint64: // YAML's type for integers above math.MaxInt64
		n, inRange = int64(x), x <= hi && x <= math.MaxInt64
	default:
		p.addf(key, "expected %s, got %s", describe(t), showFor(key, v))
		return nil, false
	}
	if !inRange {
		p.addf(key, "expected %s, got %s", describe(t), showFor(key, v))
		return nil, false
	}
	return n, true
}

// uint64Of orders negative numbers below every unsigned bound.
func uint64Of(n int64) uint64 {
	if n < 0 {
		return 0
	}
	return uint64(n)
}

func isInteger(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func integerRange(t reflect.Type) (lo int64, hi uint64) {
	bits := t.Bits()
	if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 {
		return 0, math.MaxUint64 >> (64 - bits)
	}
	return math.MinInt64 >> (64 - bits), math.MaxInt64 >> (64 - bits)
}

// describe says in words what a key of type t expects.
func describe(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration such as "30s", "15m" or "2160h"`
	case t.Kind() == reflect.Struct:
		return "a map of settings"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "a list of maps"
	case t.Kind() == reflect.Slice:
		return "a list of " + strings.TrimPrefix(describe(t.Elem()), "a ") + "s"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "an integer"
	case isInteger(t.Kind()):
		lo, hi := integerRange(t)
		return fmt.Sprintf("an integer from %d to %d", lo, hi)
	}
	return t.String()
}

// showFor renders the raw value of key for an error message: the value itself,
// or only its kind when key holds a secret.
func showFor(key string, v any) string {
	if kind, scalar := scalarKind(v); scalar && isHidden(key) {
		return kind + " (value hidden)"
	}
	return show(v) // for a list or a map, nothing of the value
}

// showUnquoted renders a value YAML read as a number or boolean where a string
// was expected, with the fix.
func showUnquoted(key string, v any) string {
	kind, scalar := scalarKind(v)
	switch {
	case !scalar:
		return showFor(key, v)
	case isHidden(key):
		return kind + " (value hidden; quote it)"
	}
	return show(v) + " (put it in quotes)"
}

// scalarKind names the kind of a scalar value, the only values whose text an
// error message would show.
func scalarKind(v any) (string, bool) {
	switch v.(type) {
	case string:
		return "a string", true
	case bool:
		return "a boolean", true
	case int, int64, uint64, float64:
		return "a number", true
	}
	return "", false
}

// isHidden reports whether the last part of key (a dotted path or a variable
// name, maybe ending in a list index) names a key in hiddenKeys.
func isHidden(key string) bool {
	last := key[strings.LastIndexAny(key, ".]")+1:]
	return hiddenKeys[strings.ToLower(last)]
}

// show renders a raw value for an error message.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(x)
	case []any:
		return "a list"
	}
	if _, isMap := asMap(v); isMap {
		return "a map"
	}
	return fmt.Sprintf("a %T", v)
}

// checkBool accepts a YAML boolean, or the words true/false as an
// environment variable gives them.
func (p *problems) checkBool(key string, v any) (any, bool) {
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		switch strings.ToLower(b) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	p.addf(key, "expected true or false, got %s", showFor(key, v))
	return nil, false
}

func isBool(v any) bool {
	_, ok := v.(bool)
	return ok
}

// asMap accepts both map shapes a YAML decoder produces.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, val := range m {
			out[fmt.Sprint(k)] = val
		}
		return out, true
	}
	return nil, false
}

// suggest offers the nearest known name for a likely typo, or nothing.
func suggest(word string, known []string) string {
	best, bestDist := "", 3 // at most two edits away
	for _, k := range known {
		if d := editDistance(word, k); d < bestDist && d < len(k) {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
