package config

import "time"

// Config is the whole configuration. YAML keys are the mapstructure tags;
// every key can be overridden by RADIUSMFA_<PATH> with dots as underscores
// (e.g. RADIUSMFA_RADIUS_REQUEST_TIMEOUT).
type Config struct {
	DataDir  string         `mapstructure:"data_dir"`
	Log      LogConfig      `mapstructure:"log"`
	Store    StoreConfig    `mapstructure:"store"`
	Radius   RadiusConfig   `mapstructure:"radius"`
	Auth     AuthConfig     `mapstructure:"auth"`
	TOTP     TOTPConfig     `mapstructure:"totp"`
	LocalDir LocalDirConfig `mapstructure:"localdir"`
	Audit    AuditConfig    `mapstructure:"audit"`
	Ops      OpsConfig      `mapstructure:"ops"`
	Admin    AdminConfig    `mapstructure:"admin"`
}

type LogConfig struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // text, json
}

type StoreConfig struct {
	// Path of the bbolt file; default <data_dir>/radiusmfa.db.
	Path string `mapstructure:"path"`
	// MasterKeyFile holds the 32-byte AEAD key (base64); default
	// <data_dir>/master.key, created 0600 on first run. The env var
	// RADIUSMFA_MASTER_KEY (base64) takes precedence over the file.
	MasterKeyFile string `mapstructure:"master_key_file"`
}

type RadiusConfig struct {
	Listen                   []string       `mapstructure:"listen"`            // host:port, IPv4 or [IPv6]
	AccountingListen         []string       `mapstructure:"accounting_listen"` // empty: no accounting port
	RequestTimeout           time.Duration  `mapstructure:"request_timeout"`
	ReplyCacheTTL            time.Duration  `mapstructure:"reply_cache_ttl"`
	MaxInFlight              int            `mapstructure:"max_in_flight"`
	UnknownClientLogInterval time.Duration  `mapstructure:"unknown_client_log_interval"`
	Clients                  []ClientConfig `mapstructure:"clients"`
}

type ClientConfig struct {
	Name     string   `mapstructure:"name"`
	Networks []string `mapstructure:"networks"` // CIDRs or bare addresses
	Secret   string   `mapstructure:"secret"`
	// SecretFile, if set, is read instead of Secret (trailing newline trimmed).
	SecretFile string `mapstructure:"secret_file"`
	// RequireMessageAuthenticator: "true" (default), "auto" or "false".
	RequireMessageAuthenticator string `mapstructure:"require_message_authenticator"`
}

type AuthConfig struct {
	Delimiter          string        `mapstructure:"delimiter"`           // default ","
	EnrollmentRequired string        `mapstructure:"enrollment_required"` // "reject" (default) or "allow"
	EnrollMessage      string        `mapstructure:"enroll_message"`      // Reply-Message for a user with no factor
	Lockout            LockoutConfig `mapstructure:"lockout"`
}

type LockoutConfig struct {
	Threshold int           `mapstructure:"threshold"` // default 10; 0 disables
	Duration  time.Duration `mapstructure:"duration"`  // default 15m; 0 = until `user unlock`
}

type TOTPConfig struct {
	Issuer    string `mapstructure:"issuer"`    // shown in authenticator apps
	Digits    int    `mapstructure:"digits"`    // 6 or 8
	Algorithm string `mapstructure:"algorithm"` // SHA1, SHA256, SHA512
	Skew      int    `mapstructure:"skew"`      // steps either side, default 1
}

type LocalDirConfig struct {
	Argon2              Argon2Config `mapstructure:"argon2"`
	MaxConcurrentHashes int          `mapstructure:"max_concurrent_hashes"` // default 2×CPUs
}

type Argon2Config struct {
	Time      uint32 `mapstructure:"time"`       // iterations, default 2
	MemoryKiB uint32 `mapstructure:"memory_kib"` // default 19456 (19 MiB)
	Threads   uint8  `mapstructure:"threads"`    // default 1
}

type AuditConfig struct {
	MaxRecords int           `mapstructure:"max_records"` // default 100000
	MaxAge     time.Duration `mapstructure:"max_age"`     // default 2160h (90 days)
}

type OpsConfig struct {
	Listen string `mapstructure:"listen"` // /healthz and /metrics; default 127.0.0.1:9812; "" disables
	// Pprof also serves Go's profiler under /debug/pprof/ (default false).
	Pprof bool `mapstructure:"pprof"`
}

type AdminConfig struct {
	Socket string `mapstructure:"socket"` // default <data_dir>/admin.sock
}
