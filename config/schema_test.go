package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"top level", "dta_dir: x\n", []string{`dta_dir: unknown key (did you mean "data_dir"?)`}},
		{"top level, far from any key", "colour: blue\n", []string{"colour: unknown key"}},
		{"section", "log:\n  levl: debug\n", []string{`log.levl: unknown key (did you mean "level"?)`}},
		{"nested section", "auth:\n  lockout:\n    treshold: 3\n", []string{"auth.lockout.treshold: unknown key"}},
		{"deepest section", "localdir:\n  argon2:\n    memory: 1\n", []string{"localdir.argon2.memory: unknown key"}},
		{"client entry", "radius:\n  clients:\n    - name: a\n      networks: [127.0.0.1]\n      secrt: x\n",
			[]string{`radius.clients[0].secrt: unknown key (did you mean "secret"?)`}},
		{"second client", oneClient + "    - name: b\n      networks: [10.0.0.1]\n      secret: x\n      ip: 10.0.0.1\n",
			[]string{"radius.clients[1].ip: unknown key"}},
		{"dotted key", "radius.listenn: [x]\n", []string{"radius.listenn: unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadString(t, tt.yaml)
			wantErr(t, err, tt.want...)
		})
	}
}

func TestWrongTypes(t *testing.T) {
	tests := []struct {
		yaml, want string
	}{
		{"radius:\n  max_in_flight: lots\n", `radius.max_in_flight: expected an integer, got "lots"`},
		{"radius:\n  max_in_flight: 1.5\n", `radius.max_in_flight: expected an integer, got 1.5`},
		{"radius:\n  request_timeout: 10\n", `radius.request_timeout: expected a duration such as "30s"`},
		{"radius:\n  request_timeout: soon\n", `radius.request_timeout: expected a duration such as "30s", "15m" or "2160h", got "soon"`},
		{"radius:\n  listen: 127.0.0.1:1812\n", `radius.listen: expected a list of strings, got "127.0.0.1:1812"`},
		{"radius:\n  listen: [1812]\n", `radius.listen[0]: expected a string, got 1812 (put it in quotes)`},
		{"radius:\n  listen: [~]\n", `radius.listen[0]: expected a string, got null`},
		{"radius:\n  clients: {name: a}\n", `radius.clients: expected a list of maps, got a map`},
		{"radius:\n  clients: [a]\n", `radius.clients[0]: expected a map of settings, got "a"`},
		{"radius: [a]\n", `radius: expected a map of settings, got a list`},
		{"log: debug\n", `log: expected a map of settings, got "debug"`},
		{"data_dir: [a]\n", `data_dir: expected a string, got a list`},
		{"totp:\n  issuer: true\n", `totp.issuer: expected a string, got true (put it in quotes)`},
		{"localdir:\n  argon2:\n    threads: 300\n", `localdir.argon2.threads: expected an integer from 0 to 255, got 300`},
		{"localdir:\n  argon2:\n    time: -1\n", `localdir.argon2.time: expected an integer from 0 to 4294967295, got -1`},
		{"audit:\n  max_records: 99999999999999999999\n", `audit.max_records: expected an integer`},
		{oneClient + "      require_message_authenticator: 1\n", `radius.clients[0].require_message_authenticator: expected a string, got 1`},
		{"radius:\n  clients:\n    - name: a\n      networks: 10.0.0.0/8\n", `radius.clients[0].networks: expected a list of strings`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, _, err := loadString(t, tt.yaml)
			wantErr(t, err, tt.want)
		})
	}
}

func TestZeroDurationNeedsNoUnit(t *testing.T) {
	cfg, _ := mustLoad(t, "auth:\n  lockout:\n    duration: 0\n", clientEnv)
	if cfg.Auth.Lockout.Duration != 0 {
		t.Errorf("duration = %v, want 0", cfg.Auth.Lockout.Duration)
	}
}

func TestRequireMessageAuthenticatorAcceptsBooleans(t *testing.T) {
	tests := map[string]string{"true": "true", "false": "false", `"Auto"`: "auto", `"TRUE"`: "true", "": "true"}
	for value, want := range tests {
		t.Run(value, func(t *testing.T) {
			yaml := oneClient
			if value != "" {
				yaml += "      require_message_authenticator: " + value + "\n"
			}
			cfg, _ := mustLoad(t, yaml)
			if got := cfg.Radius.Clients[0].RequireMessageAuthenticator; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestProblemsAreAllReported(t *testing.T) {
	_, _, err := loadString(t, `
dta_dir: x
log: {level: loud}
radius:
  max_in_flight: lots
  clients:
    - name: a
      networks: [10.0.0.0/33]
      secrt: x
totp: {digits: 7}
`, "RADIUSMFA_NO_SUCH=1")
	wantErr(t, err,
		"dta_dir: unknown key",
		"log.level: must be one of",
		"radius.max_in_flight: expected an integer",
		"radius.clients[0].secrt: unknown key",
		"radius.clients[0].networks[0] (a):",
		"radius.clients[0].secret (a): is required",
		"totp.digits: must be 6 or 8",
		"RADIUSMFA_NO_SUCH: no such setting",
	)
	if n := strings.Count(err.Error(), "\n") + 1; n != 8 {
		t.Errorf("got %d problems, want 8:\n%v", n, err)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"secret", "secret_file", "name", "networks"}
	tests := map[string]string{
		"secrt":   `"secret"`,
		"Secret":  `"secret"`,
		"netwrks": `"networks"`,
		"nam":     `"name"`,
		"x":       "",
		"color":   "",
	}
	for word, want := range tests {
		got := suggest(strings.ToLower(word), known)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("suggest(%q) = %q, want %s", word, got, want)
		}
	}
}

// TestEveryKeyHasARule guards against a field type check has no rule for,
// which would panic only when a file first sets that key.
func TestEveryKeyHasARule(t *testing.T) {
	var types []reflect.Type
	for _, l := range leaves() {
		types = append(types, l.typ)
	}
	for i := range reflect.TypeFor[ClientConfig]().NumField() {
		types = append(types, reflect.TypeFor[ClientConfig]().Field(i).Type)
	}
	for _, typ := range types {
		var p problems
		p.check("key", struct{}{}, typ) // the wrong type for every rule
		if len(p.errs) != 1 {
			t.Errorf("%s: got %d problems for a wrong value, want 1", typ, len(p.errs))
		}
	}
}

// TestSecretValuesAreHidden: a secret YAML reads as a number or boolean is
// still the secret, so no message about a secret key may carry its value.
func TestSecretValuesAreHidden(t *testing.T) {
	const digits = "987654321098765432"
	tests := []struct {
		name   string
		yaml   string
		env    []string
		want   string
		hidden string
	}{
		{"integer", client("name: a", "networks: [127.0.0.1]", "secret: "+digits), nil,
			"radius.clients[0].secret: expected a string, got a number (value hidden; quote it)", digits},
		{"integer above int64", client("name: a", "networks: [127.0.0.1]", "secret: 18446744073709551615"), nil,
			"radius.clients[0].secret: expected a string, got a number (value hidden; quote it)", "18446744073709551615"},
		{"float", client("name: a", "networks: [127.0.0.1]", "secret: 31415926.5358979"), nil,
			"radius.clients[0].secret: expected a string, got a number (value hidden; quote it)", "31415926"},
		{"boolean", client("name: a", "networks: [127.0.0.1]", "secret: true"), nil,
			"radius.clients[0].secret: expected a string, got a boolean (value hidden; quote it)", "true"},
		{"key in another case", client("name: a", "networks: [127.0.0.1]", "Secret: "+digits), nil,
			"radius.clients[0].secret: expected a string, got a number (value hidden; quote it)", digits},
		{"env JSON", oneClient, []string{`RADIUSMFA_RADIUS_CLIENTS=[{"name":"a","networks":["127.0.0.1"],"secret":` + digits + `}]`},
			"RADIUSMFA_RADIUS_CLIENTS[0].secret: expected a string, got a number (value hidden; quote it)", digits},
		{"env YAML", oneClient, []string{"RADIUSMFA_RADIUS_CLIENTS=- {name: a, networks: [127.0.0.1], secret: " + digits + "}"},
			"RADIUSMFA_RADIUS_CLIENTS[0].secret: expected a string, got a number (value hidden; quote it)", digits},
		{"env boolean", oneClient, []string{`RADIUSMFA_RADIUS_CLIENTS=[{"name":"a","networks":["127.0.0.1"],"secret":true}]`},
			"RADIUSMFA_RADIUS_CLIENTS[0].secret: expected a string, got a boolean (value hidden; quote it)", "true"},
		{"list", client("name: a", "networks: [127.0.0.1]", "secret: ["+digits+"]"), nil,
			"radius.clients[0].secret: expected a string, got a list", digits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadString(t, tt.yaml, tt.env...)
			wantErr(t, err, tt.want)
			if tt.hidden != "" && strings.Contains(err.Error(), tt.hidden) {
				t.Errorf("error shows the secret %q:\n%v", tt.hidden, err)
			}
		})
	}
}

func TestIsHidden(t *testing.T) {
	tests := map[string]bool{
		"radius.clients[0].secret":           true,
		"RADIUSMFA_RADIUS_CLIENTS[3].SECRET": true,
		"secret":                             true,
		"radius.clients[0].secret_file":      false,
		"radius.clients[0].name":             false,
		"radius.clients[0]":                  false,
		"radius.clients":                     false,
		"":                                   false,
	}
	for key, want := range tests {
		if got := isHidden(key); got != want {
			t.Errorf("isHidden(%q) = %v, want %v", key, got, want)
		}
	}
}
