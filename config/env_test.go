package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEnvOverrides(t *testing.T) {
	cfg, _ := mustLoad(t, oneClient+"  request_timeout: 3s\n  listen: [\"127.0.0.1:1\"]\n",
		"RADIUSMFA_RADIUS_REQUEST_TIMEOUT=5s",
		"RADIUSMFA_DATA_DIR=/tmp/mfa",
		"RADIUSMFA_AUTH_LOCKOUT_THRESHOLD=4",
		"RADIUSMFA_LOCALDIR_ARGON2_THREADS=4",
		"RADIUSMFA_RADIUS_LISTEN=127.0.0.1:1812, [::1]:1812",
		"RADIUSMFA_RADIUS_ACCOUNTING_LISTEN=",
		"RADIUSMFA_OPS_LISTEN=",
		"RADIUSMFA_TOTP_ALGORITHM=sha512",
		"PATH=/usr/bin", // not ours
	)
	if cfg.Radius.RequestTimeout != 5*time.Second {
		t.Errorf("request_timeout = %v, want the env's 5s over the file's 3s", cfg.Radius.RequestTimeout)
	}
	if cfg.DataDir != "/tmp/mfa" || cfg.Store.Path != "/tmp/mfa/radiusmfa.db" {
		t.Errorf("data_dir = %q, store.path = %q", cfg.DataDir, cfg.Store.Path)
	}
	if cfg.Auth.Lockout.Threshold != 4 || cfg.LocalDir.Argon2.Threads != 4 {
		t.Errorf("threshold = %d, threads = %d", cfg.Auth.Lockout.Threshold, cfg.LocalDir.Argon2.Threads)
	}
	if !reflect.DeepEqual(cfg.Radius.Listen, []string{"127.0.0.1:1812", "[::1]:1812"}) {
		t.Errorf("listen = %q", cfg.Radius.Listen)
	}
	if len(cfg.Radius.AccountingListen) != 0 || cfg.Ops.Listen != "" {
		t.Errorf("empty values did not disable: accounting %q, ops %q", cfg.Radius.AccountingListen, cfg.Ops.Listen)
	}
	if cfg.TOTP.Algorithm != "SHA512" {
		t.Errorf("algorithm = %q", cfg.TOTP.Algorithm)
	}
	if cfg.Radius.Clients[0].Name != "localhost" {
		t.Errorf("clients from the file lost: %+v", cfg.Radius.Clients)
	}
}

func TestEnvListTakesJSON(t *testing.T) {
	cfg, _ := mustLoad(t, "", `RADIUSMFA_RADIUS_LISTEN=["127.0.0.1:1812","[::1]:1812"]`, clientEnv)
	if !reflect.DeepEqual(cfg.Radius.Listen, []string{"127.0.0.1:1812", "[::1]:1812"}) {
		t.Errorf("listen = %q", cfg.Radius.Listen)
	}
}

func TestEnvClientsReplaceTheFile(t *testing.T) {
	tests := map[string]string{
		"json": `[{"name":"vpn","networks":["10.1.0.0/16"],"secret":"a-secret-of-24-characters",` +
			`"require_message_authenticator":false}]`,
		"yaml": "- name: vpn\n  networks: [10.1.0.0/16]\n  secret: a-secret-of-24-characters\n" +
			"  require_message_authenticator: false\n",
	}
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, _ := mustLoad(t, oneClient, "RADIUSMFA_RADIUS_CLIENTS="+value)
			want := []ClientConfig{{
				Name: "vpn", Networks: []string{"10.1.0.0/16"},
				Secret: "a-secret-of-24-characters", RequireMessageAuthenticator: "false", Challenge: "auto", PushTimeout: 25 * time.Second, RequestTimeout: 30 * time.Second,
			}}
			if !reflect.DeepEqual(cfg.Radius.Clients, want) {
				t.Errorf("clients = %+v, want %+v", cfg.Radius.Clients, want)
			}
		})
	}
}

func TestEnvErrors(t *testing.T) {
	tests := []struct {
		env  string
		want []string
	}{
		{"RADIUSMFA_RADIUS_TIMEOUT=5s", []string{"RADIUSMFA_RADIUS_TIMEOUT: no such setting"}},
		{"RADIUSMFA_DATA_DRI=/x", []string{"RADIUSMFA_DATA_DRI: no such setting", `did you mean "RADIUSMFA_DATA_DIR"`}},
		{"RADIUSMFA_RADIUS=x", []string{"RADIUSMFA_RADIUS: no such setting"}},
		{"RADIUSMFA_RADIUS_MAX_IN_FLIGHT=lots", []string{`RADIUSMFA_RADIUS_MAX_IN_FLIGHT: expected an integer, got "lots"`}},
		{"RADIUSMFA_RADIUS_REQUEST_TIMEOUT=10", []string{`RADIUSMFA_RADIUS_REQUEST_TIMEOUT: expected a duration`, `got "10"`}},
		{"RADIUSMFA_LOCALDIR_ARGON2_THREADS=256", []string{"RADIUSMFA_LOCALDIR_ARGON2_THREADS: expected an integer from 0 to 255, got 256"}},
		{"RADIUSMFA_RADIUS_CLIENTS={name: x}", []string{"RADIUSMFA_RADIUS_CLIENTS: expected a list of maps, got a map"}},
		{"RADIUSMFA_RADIUS_CLIENTS=[{", []string{"RADIUSMFA_RADIUS_CLIENTS: expected a YAML or JSON list"}},
		{`RADIUSMFA_RADIUS_CLIENTS=[{"name":"a","secrt":"x"}]`, []string{"RADIUSMFA_RADIUS_CLIENTS[0].secrt: unknown key"}},
		{"RADIUSMFA_RADIUS_LISTEN=[1812]", []string{"RADIUSMFA_RADIUS_LISTEN[0]: expected a string, got 1812"}},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			_, _, err := loadString(t, oneClient, tt.env)
			wantErr(t, err, tt.want...)
		})
	}
}

func TestEnvIgnoresVariablesReadElsewhere(t *testing.T) {
	mustLoad(t, oneClient,
		"RADIUSMFA_CONFIG=/etc/radiusmfa.yaml",
		"RADIUSMFA_MASTER_KEY=c2VjcmV0",
		"radiusmfa_data_dir=lower case is not ours",
		"RADIUSMFA=no underscore",
	)
}

func TestEnvLaterEntryWins(t *testing.T) {
	cfg, _ := mustLoad(t, "", "RADIUSMFA_LOG_LEVEL=debug", "RADIUSMFA_LOG_LEVEL=warn", clientEnv)
	if cfg.Log.Level != "warn" {
		t.Errorf("log.level = %q, want warn", cfg.Log.Level)
	}
}

func TestEveryKeyHasADistinctVariable(t *testing.T) {
	seen := make(map[string]string)
	for _, l := range leaves() {
		if other, dup := seen[l.env]; dup {
			t.Errorf("%s and %s both map to %s", other, l.key, l.env)
		}
		seen[l.env] = l.key
		if !strings.HasPrefix(l.env, EnvPrefix) || l.env == EnvConfig || l.env == EnvMasterKey {
			t.Errorf("%s: variable %s collides with a reserved name", l.key, l.env)
		}
	}
	if len(seen) < 25 {
		t.Errorf("only %d keys found; the schema walk is broken", len(seen))
	}
}

func TestLookupEnv(t *testing.T) {
	tests := []struct {
		name   string
		env    []string
		key    string
		want   string
		wantOK bool
	}{
		{"absent", []string{"A=1"}, "B", "", false},
		{"nil env", nil, "A", "", false},
		{"present", []string{"A=1", "B=2"}, "B", "2", true},
		{"empty value", []string{"A="}, "A", "", true},
		{"last wins", []string{"A=1", "B=2", "A=3"}, "A", "3", true},
		{"last wins when empty", []string{"A=1", "A="}, "A", "", true},
		{"value with =", []string{"A=x=y"}, "A", "x=y", true},
		{"case-sensitive", []string{"a=1"}, "A", "", false},
		{"prefix is not a match", []string{"AB=1"}, "A", "", false},
		{"entry without =", []string{"A"}, "A", "", false},
		{"empty key", []string{"=C:=C:\\"}, "", "", false},
		{"key with =", []string{"A=B=1"}, "A=B", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := LookupEnv(tt.env, tt.key)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("LookupEnv(%q, %q) = %q, %v; want %q, %v", tt.env, tt.key, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
