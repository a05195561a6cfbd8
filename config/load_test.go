package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// oneClient is the smallest file that loads without warnings about clients.
const oneClient = `
radius:
  clients:
    - name: localhost
      networks: [127.0.0.1]
      secret: a-secret-of-24-characters
`

// clientEnv gives a file with no radius section the one client it needs.
const clientEnv = `RADIUSMFA_RADIUS_CLIENTS=[{"name":"localhost","networks":["127.0.0.1"],"secret":"a-secret-of-24-characters"}]`

// writeConfig writes content to a config file in a fresh directory.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "radiusmfa.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func loadString(t *testing.T, content string, env ...string) (*Config, []string, error) {
	t.Helper()
	return Load(writeConfig(t, content), env)
}

func mustLoad(t *testing.T, content string, env ...string) (*Config, []string) {
	t.Helper()
	cfg, warnings, err := loadString(t, content, env...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg, warnings
}

// wantErr fails unless err mentions every one of wants.
func wantErr(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Load succeeded, want an error mentioning %q", wants)
	}
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestLoadDefaults(t *testing.T) {
	cfg, warnings, err := Load("", []string{clientEnv})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &Config{
		DataDir: "./var",
		Log:     LogConfig{Level: "info", Format: "text"},
		Store: StoreConfig{
			Path:          filepath.Join("var", "radiusmfa.db"),
			MasterKeyFile: filepath.Join("var", "master.key"),
		},
		Radius: RadiusConfig{
			Listen:                   []string{"127.0.0.1:1812"},
			AccountingListen:         []string{"127.0.0.1:1813"},
			RequestTimeout:           10 * time.Second,
			ReplyCacheTTL:            30 * time.Second,
			MaxInFlight:              1024,
			UnknownClientLogInterval: time.Minute,
			Clients: []ClientConfig{{
				Name: "localhost", Networks: []string{"127.0.0.1/32"},
				Secret: "a-secret-of-24-characters", RequireMessageAuthenticator: "true", Challenge: "auto", PushTimeout: 25 * time.Second, RequestTimeout: 30 * time.Second,
			}},
		},
		Auth: AuthConfig{
			Directory:        "builtin",
			Delimiter:        ",",
			EnrollMessage:    "Two-factor enrollment required: contact your administrator",
			ChallengeTimeout: time.Minute,
			Lockout:          LockoutConfig{Threshold: 10, Duration: 15 * time.Minute},
		},
		TOTP: TOTPConfig{Issuer: "radiusmfa", Digits: 6, Algorithm: "SHA1", Skew: 1},
		Push: PushConfig{Enabled: true, Contact: "mailto:postmaster@localhost"},
		LocalDir: LocalDirConfig{
			Argon2:              Argon2Config{Time: 2, MemoryKiB: 19456, Threads: 1},
			MaxConcurrentHashes: 2 * runtime.NumCPU(),
		},
		LDAP: LDAPConfig{
			Type: "openldap", Timeout: 5 * time.Second, Backoff: 30 * time.Second, PoolSize: 16, Scope: "sub",
			Username: LDAPUsernameConfig{StripDomain: true},
			Groups:   LDAPGroupsConfig{NameAttribute: "cn", Nested: true, PrimaryGroup: true},
			Profile: LDAPAttributesConfig{Mail: "mail", Phone: []string{"mobile", "telephoneNumber"},
				DisplayName: "displayName"},
		},
		Policy: PolicyConfig{MFA: "all"},
		Audit:  AuditConfig{MaxRecords: 100000, MaxAge: 2160 * time.Hour},
		Web:    WebConfig{Listen: "127.0.0.1:8443"},
		Notify: NotifyConfig{Events: []string{"push_reported", "push_suspended", "login_reported"},
			Email: NotifyEmailConfig{TLS: "starttls"}},
		Codes: defaultCodes(),
		Ops:   OpsConfig{Listen: "127.0.0.1:9812", GCPercent: 300, GCHeapMiB: 128},
		Admin: AdminConfig{Socket: filepath.Join("var", "admin.sock")},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings = %q, want none", warnings)
	}
}

// TestLoadWithoutClientsFails: radiusd drops every request from an address
// no client claims, so check-config must not pass what serve refuses.
func TestLoadWithoutClientsFails(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
	}{
		{"no file", "", nil},
		{"no clients key", "log: {level: info}\n", nil},
		{"empty list", "radius: {clients: []}\n", nil},
		{"emptied by the environment", oneClient, []string{"RADIUSMFA_RADIUS_CLIENTS=[]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warnings, err := loadString(t, tt.yaml, tt.env...)
			wantErr(t, err, "radius.clients: at least one client is required")
			if warnings != nil {
				t.Errorf("warnings = %q alongside an error", warnings)
			}
		})
	}
}

func TestLoadEmptyFileGivesDefaults(t *testing.T) {
	fromFile, _ := mustLoad(t, "# nothing here\n", clientEnv)
	fromNothing, _, err := Load("", []string{clientEnv})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromFile, fromNothing) {
		t.Errorf("empty file:\n got %+v\nwant %+v", fromFile, fromNothing)
	}
}

func TestLoadDerivedDefaultsFollowDataDir(t *testing.T) {
	cfg, _ := mustLoad(t, "data_dir: /srv/mfa\n", clientEnv)
	if cfg.Store.Path != "/srv/mfa/radiusmfa.db" || cfg.Store.MasterKeyFile != "/srv/mfa/master.key" ||
		cfg.Admin.Socket != "/srv/mfa/admin.sock" {
		t.Errorf("derived paths = %q, %q, %q", cfg.Store.Path, cfg.Store.MasterKeyFile, cfg.Admin.Socket)
	}
	cfg, _ = mustLoad(t, "data_dir: /srv/mfa\nstore: {path: /db/x.db, master_key_file: /keys/k}\nadmin: {socket: /run/a.sock}\n", clientEnv)
	if cfg.Store.Path != "/db/x.db" || cfg.Store.MasterKeyFile != "/keys/k" || cfg.Admin.Socket != "/run/a.sock" {
		t.Errorf("explicit paths = %q, %q, %q", cfg.Store.Path, cfg.Store.MasterKeyFile, cfg.Admin.Socket)
	}
}

func TestLoadFileValues(t *testing.T) {
	cfg, warnings := mustLoad(t, `
data_dir: /var/lib/radiusmfa
log: {level: DEBUG, format: json}
radius:
  listen: ["0.0.0.0:1812", "[::]:1812"]
  accounting_listen: []
  request_timeout: 5s
  reply_cache_ttl: 1m
  max_in_flight: 64
  clients:
    - name: vpn
      networks: [10.0.0.0/8, "2001:db8::1"]
      secret: a-secret-of-24-characters
      require_message_authenticator: auto
    - name: legacy
      networks: [192.0.2.7]
      secret: another-long-secret-value
      require_message_authenticator: false
totp: {algorithm: sha256, digits: 8, skew: 0}
localdir: {max_concurrent_hashes: 3, argon2: {memory_kib: 131072}}
ops: {listen: ""}
`)
	if cfg.Log.Level != "debug" || cfg.Log.Format != "json" {
		t.Errorf("log = %+v", cfg.Log)
	}
	if !reflect.DeepEqual(cfg.Radius.Listen, []string{"0.0.0.0:1812", "[::]:1812"}) ||
		len(cfg.Radius.AccountingListen) != 0 {
		t.Errorf("listen = %q, accounting = %q", cfg.Radius.Listen, cfg.Radius.AccountingListen)
	}
	if cfg.Radius.RequestTimeout != 5*time.Second || cfg.Radius.ReplyCacheTTL != time.Minute || cfg.Radius.MaxInFlight != 64 {
		t.Errorf("radius = %+v", cfg.Radius)
	}
	vpn, legacy := cfg.Radius.Clients[0], cfg.Radius.Clients[1]
	if !reflect.DeepEqual(vpn.Networks, []string{"10.0.0.0/8", "2001:db8::1/128"}) {
		t.Errorf("networks not normalised: %q", vpn.Networks)
	}
	if vpn.RequireMessageAuthenticator != "auto" || legacy.RequireMessageAuthenticator != "false" {
		t.Errorf("require_message_authenticator = %q, %q", vpn.RequireMessageAuthenticator, legacy.RequireMessageAuthenticator)
	}
	if cfg.TOTP.Algorithm != "SHA256" || cfg.TOTP.Digits != 8 || cfg.TOTP.Skew != 0 {
		t.Errorf("totp = %+v", cfg.TOTP)
	}
	// A partly given section keeps the defaults of the keys it leaves out.
	if cfg.LocalDir.Argon2 != (Argon2Config{Time: 2, MemoryKiB: 131072, Threads: 1}) || cfg.LocalDir.MaxConcurrentHashes != 3 {
		t.Errorf("localdir = %+v", cfg.LocalDir)
	}
	if cfg.Ops.Listen != "" {
		t.Errorf("ops.listen = %q, want disabled", cfg.Ops.Listen)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "radius.clients[1] (legacy): require_message_authenticator is false") ||
		!strings.Contains(warnings[0], "CVE-2024-3596") {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestLoadNullKeepsDefault(t *testing.T) {
	cfg, _ := mustLoad(t, "radius:\n  request_timeout:\nlog:\n", clientEnv)
	if cfg.Radius.RequestTimeout != 10*time.Second || cfg.Log.Level != "info" {
		t.Errorf("null did not keep the defaults: %v, %q", cfg.Radius.RequestTimeout, cfg.Log.Level)
	}
}

func TestLoadKeysAreCaseInsensitive(t *testing.T) {
	cfg, _ := mustLoad(t, "Radius:\n  Max_In_Flight: 7\n", clientEnv)
	if cfg.Radius.MaxInFlight != 7 {
		t.Errorf("max_in_flight = %d, want 7", cfg.Radius.MaxInFlight)
	}
}

func TestLoadMissingFileNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, _, err := Load(path, nil)
	wantErr(t, err, path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
}

func TestLoadInvalidYAMLGivesLine(t *testing.T) {
	path := writeConfig(t, "log:\n  level: info\n  format: [text\n")
	_, _, err := Load(path, nil)
	wantErr(t, err, path, "line ")
	if strings.Contains(err.Error(), "While parsing") {
		t.Errorf("viper's prefix leaked into %q", err)
	}
}

func TestLoadDuplicateKeyIsAnError(t *testing.T) {
	_, _, err := loadString(t, "data_dir: a\ndata_dir: b\n")
	wantErr(t, err, "line 2", "data_dir")
}

func TestLoadTopLevelMustBeAMap(t *testing.T) {
	_, _, err := loadString(t, "- just\n- a list\n")
	wantErr(t, err, "line 1")
}

func TestResolveConfigPath(t *testing.T) {
	tests := []struct {
		flag string
		env  []string
		want string
	}{
		{"", nil, ""},
		{"/etc/a.yaml", nil, "/etc/a.yaml"},
		{"", []string{"RADIUSMFA_CONFIG=/etc/b.yaml"}, "/etc/b.yaml"},
		{"/etc/a.yaml", []string{"RADIUSMFA_CONFIG=/etc/b.yaml"}, "/etc/a.yaml"},
		{"", []string{"RADIUSMFA_CONFIG=/x", "RADIUSMFA_CONFIG=/y"}, "/y"},
		{"", []string{"OTHER=/etc/c.yaml"}, ""},
	}
	for _, tt := range tests {
		if got := ResolveConfigPath(tt.flag, tt.env); got != tt.want {
			t.Errorf("ResolveConfigPath(%q, %q) = %q, want %q", tt.flag, tt.env, got, tt.want)
		}
	}
}

func TestExamplesAreValid(t *testing.T) {
	tests := []struct {
		file     string
		warnings []string // substrings, one per expected warning
	}{
		{"radiusmfa.yaml", []string{"radius.clients[1] (legacy-switch): require_message_authenticator is false"}},
		{"dev.yaml", []string{"radius.clients[0] (localhost): secret is shorter than 16 characters"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg, warnings, err := Load(filepath.Join("..", "examples", tt.file), nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(warnings) != len(tt.warnings) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tt.warnings))
			}
			for i, want := range tt.warnings {
				if !strings.Contains(warnings[i], want) {
					t.Errorf("warning %q does not mention %q", warnings[i], want)
				}
			}
			if len(cfg.Radius.Clients) == 0 {
				t.Error("example has no clients")
			}
		})
	}
}
