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
	LDAP     LDAPConfig     `mapstructure:"ldap"`
	// Policy is the group policy of every client without one of its own;
	// Policies are named policies a client picks with its policy key.
	Policy   PolicyConfig   `mapstructure:"policy"`
	Policies []PolicyConfig `mapstructure:"policies"`
	Audit    AuditConfig    `mapstructure:"audit"`
	Web      WebConfig      `mapstructure:"web"`
	Push     PushConfig     `mapstructure:"push"`
	Notify   NotifyConfig   `mapstructure:"notify"`
	Codes    CodesConfig    `mapstructure:"codes"`
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
	// Policy names an entry of policies to use instead of the global policy.
	Policy string `mapstructure:"policy"`
	// Challenge is what a right password with no appended code gets:
	// "auto" (default: an Access-Challenge asking for the code),
	// "challenge" (a menu of the user's methods) or "append-only" (no
	// challenge: the login fails; the code must be appended).
	Challenge string `mapstructure:"challenge"`
	// PushTimeout is how long a login through this client waits for the
	// answer to a push (default 25s, 5s to 5m). Keep it below the NAS's own
	// RADIUS timeout (docs/vpn-timeouts.md).
	PushTimeout time.Duration `mapstructure:"push_timeout"`
	// NumberMatching (challenge mode only) shows a 2-digit number in the
	// Access-Challenge after the user picks a push, which they must then
	// pick in the app among three (default false).
	NumberMatching bool `mapstructure:"number_matching"`
	// RequestTimeout replaces radius.request_timeout for this client; by
	// default it is the larger of that and push_timeout + 5s, so a push
	// can be waited for.
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
}

type AuthConfig struct {
	// Directory checks passwords: "builtin" (default; users kept by
	// radiusmfa) or "ldap" (the ldap section: OpenLDAP or Active Directory).
	Directory string `mapstructure:"directory"`
	Delimiter string `mapstructure:"delimiter"` // default ","
	// Enforcement is the MFA mode where the console sets none: "off"
	// (default: the password alone), "optional" (users with a device use
	// it) or "required" (everyone; users with none are sent to enroll).
	Enforcement string `mapstructure:"enforcement"`
	// EnrollmentRequired is the older spelling: "reject" is enforcement
	// "required", "allow" is "optional". Deprecated.
	EnrollmentRequired string `mapstructure:"enrollment_required"`
	EnrollMessage      string `mapstructure:"enroll_message"` // Reply-Message for a user with no factor
	// ChallengeTimeout is how long an Access-Challenge may be answered
	// (default 60s; 5s to 10m).
	ChallengeTimeout time.Duration `mapstructure:"challenge_timeout"`
	Lockout          LockoutConfig `mapstructure:"lockout"`
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
	// GCPercent is the Go garbage collector's target (GOGC) for serve
	// while the heap is small: default 300, which lets the heap grow to 4×
	// its live size and saves about a tenth of the CPU of an LDAP login;
	// 100 is Go's own default. The GOGC environment variable, when set,
	// wins over this key and GCHeapMiB.
	GCPercent int `mapstructure:"gc_percent"`
	// GCHeapMiB is where the heap should stop growing (MiB): once the live
	// heap × (1 + GCPercent/100) would pass it, the target is lowered after
	// each collection to keep the heap near it, but never below 100, so a
	// live heap above half of it grows as with Go's default. Default 128;
	// 0 keeps GCPercent whatever the heap.
	GCHeapMiB int `mapstructure:"gc_heap_mib"`
}

type AdminConfig struct {
	Socket string `mapstructure:"socket"` // default <data_dir>/admin.sock
}

// LDAPConfig is the directory used when auth.directory is "ldap".
type LDAPConfig struct {
	Type           string        `mapstructure:"type"`    // "openldap" (default) or "ad"
	Servers        []string      `mapstructure:"servers"` // ldap:// or ldaps:// URLs, tried in order
	RoundRobin     bool          `mapstructure:"round_robin"`
	Timeout        time.Duration `mapstructure:"timeout"` // per network step, default 5s
	Backoff        time.Duration `mapstructure:"backoff"` // a failed server is skipped this long, default 30s
	StartTLS       bool          `mapstructure:"start_tls"`
	AllowPlaintext bool          `mapstructure:"allow_plaintext"`
	TLS            LDAPTLSConfig `mapstructure:"tls"`
	PoolSize       int           `mapstructure:"pool_size"` // connections per server and use, default 16

	BindDN           string `mapstructure:"bind_dn"`
	BindPassword     string `mapstructure:"bind_password"`
	BindPasswordFile string `mapstructure:"bind_password_file"`
	BindTemplate     string `mapstructure:"bind_template"` // direct bind without a service account

	BaseDN            string `mapstructure:"base_dn"`
	Scope             string `mapstructure:"scope"`       // sub (default), one, base
	UserFilter        string `mapstructure:"user_filter"` // default by type
	UsernameAttribute string `mapstructure:"username_attribute"`

	Username LDAPUsernameConfig   `mapstructure:"username"`
	Groups   LDAPGroupsConfig     `mapstructure:"groups"`
	Profile  LDAPAttributesConfig `mapstructure:"attributes"`
}

type LDAPTLSConfig struct {
	CAFile     string `mapstructure:"ca_file"`
	ServerName string `mapstructure:"server_name"`
	CertFile   string `mapstructure:"cert_file"`
	KeyFile    string `mapstructure:"key_file"`
}

type LDAPUsernameConfig struct {
	StripDomain bool     `mapstructure:"strip_domain"` // DOMAIN\user → user (default true)
	Domains     []string `mapstructure:"domains"`      // only these domains (default: any)
	StripRealm  bool     `mapstructure:"strip_realm"`  // user@realm → user
	Realms      []string `mapstructure:"realms"`       // only these realms (default: any)
}

type LDAPGroupsConfig struct {
	Attribute     string `mapstructure:"attribute"`      // group DNs on the user entry (memberOf)
	BaseDN        string `mapstructure:"base_dn"`        // default: ldap.base_dn
	Filter        string `mapstructure:"filter"`         // default by type; {dn}, {username}
	NameAttribute string `mapstructure:"name_attribute"` // default cn
	Nested        bool   `mapstructure:"nested"`         // default true
	PrimaryGroup  bool   `mapstructure:"primary_group"`  // AD primaryGroupID (default true)
}

type LDAPAttributesConfig struct {
	Mail        string   `mapstructure:"mail"`         // default mail
	Phone       []string `mapstructure:"phone"`        // default [mobile, telephoneNumber]
	DisplayName string   `mapstructure:"display_name"` // default displayName
}

// PolicyConfig is a group policy: who may log in, who needs a second
// factor, and the reply attributes of an Accept.
type PolicyConfig struct {
	Name              string            `mapstructure:"name"` // policies entries only
	RequireGroups     []string          `mapstructure:"require_groups"`
	DenyGroups        []string          `mapstructure:"deny_groups"`
	MFA               string            `mapstructure:"mfa"` // "all" (default) or "groups"
	MFARequiredGroups []string          `mapstructure:"mfa_required_groups"`
	MFAExemptGroups   []string          `mapstructure:"mfa_exempt_groups"`
	Reply             []ReplyRuleConfig `mapstructure:"reply"`
}

// ReplyRuleConfig adds attributes to the Accept of members of any of
// Groups (of everyone when empty); Final stops at the first match.
type ReplyRuleConfig struct {
	Groups     []string          `mapstructure:"groups"`
	Attributes []AttributeConfig `mapstructure:"attributes"`
	Final      bool              `mapstructure:"final"`
}

type AttributeConfig struct {
	Name  string `mapstructure:"name"`
	Value string `mapstructure:"value"`
}

// WebConfig is the enrollment site's listener.
type WebConfig struct {
	// Listen is host:port for HTTPS (default 127.0.0.1:8443); "" disables
	// the site.
	Listen string `mapstructure:"listen"`
	// CertFile and KeyFile are the site's certificate and key (PEM). Without
	// them a self-signed certificate is made on first run and kept in
	// data_dir (web.crt, web.key); its fingerprint is logged at start.
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	// BehindProxy serves plain HTTP for a TLS-terminating reverse proxy; only
	// connections from TrustedProxies (CIDRs) are served, and only their
	// X-Forwarded-For is believed.
	BehindProxy    bool     `mapstructure:"behind_proxy"`
	TrustedProxies []string `mapstructure:"trusted_proxies"`
	// PublicURL is the site's address as phones reach it,
	// https://host[:port]: the origin of phone-pairing QR codes and of
	// ntfy approval links. "" uses the Host the request came with.
	PublicURL string `mapstructure:"public_url"`
	// AdminGroups and HelpdeskGroups name directory groups (auth.directory
	// ldap) whose members may use the console as admins or help desk.
	// Built-in users get the roles with `radiusmfa user roles`.
	AdminGroups    []string `mapstructure:"admin_groups"`
	HelpdeskGroups []string `mapstructure:"helpdesk_groups"`
}

// Mode is the MFA mode the configuration sets: auth.enforcement, else what
// the older auth.enrollment_required meant, else "off".
func (a AuthConfig) Mode() string {
	switch {
	case a.Enforcement != "":
		return a.Enforcement
	case a.EnrollmentRequired == "reject":
		return "required"
	case a.EnrollmentRequired == "allow":
		return "optional"
	}
	return "off"
}

// PushConfig is push approval on a paired phone (the approver app of the
// enrollment site, over Web Push).
type PushConfig struct {
	// Enabled runs push approval (default true; it needs the site).
	Enabled bool `mapstructure:"enabled"`
	// Contact is the VAPID subject push services may write to about this
	// server: "mailto:…" or "https://…" (default mailto:postmaster@localhost).
	Contact string `mapstructure:"contact"`
	// GeoIPDatabase is a MaxMind DB file of the City or Country kind
	// (GeoLite2-City.mmdb, …): the approver then shows where a login's
	// Calling-Station-Id is ("Berlin, Germany"). Empty (the default): off.
	// Read at start; a new file replacing it is read within a minute.
	GeoIPDatabase string `mapstructure:"geoip_database"`
	// AllowLoopbackHTTPEndpoints lets pushes go over plain http to a push
	// service on a loopback address (127.0.0.0/8, ::1): for tests that run
	// their own push service. Default false; https is always required for
	// any other address, and real push services are https.
	AllowLoopbackHTTPEndpoints bool `mapstructure:"allow_loopback_http_endpoints"`
	// Ntfy adds the ntfy app as a second way to get login requests, for
	// sites that run an ntfy server (off while ntfy.url is empty).
	Ntfy NtfyConfig `mapstructure:"ntfy"`
}

// NtfyConfig is the site's ntfy server: the login requests of ntfy
// approvers are published there, each with buttons that POST one-time
// approval links to the enrollment site.
type NtfyConfig struct {
	// URL is the ntfy server's base URL, https://host[:port] (ntfy serves
	// no sub-path); "" (the default): no ntfy. Plain http only to a
	// loopback address, with allow_loopback_http_endpoints (tests).
	URL string `mapstructure:"url"`
	// TokenFile holds an ntfy access token (tk_…) allowed to publish to
	// the topics, sent as "Authorization: Bearer"; "": publish without one.
	TokenFile string `mapstructure:"token_file"`
	// Priority of the messages, 1 (min) to 5 (max); 0 or absent: 4 (high,
	// shown as a pop-up).
	Priority int `mapstructure:"priority"`
}

// CodesConfig is the one-time codes sent by text message (sms), phone call
// (voice) and email. Every channel is off by default.
type CodesConfig struct {
	// Digits is the length of a code, 6 to 8 (default 6).
	Digits int `mapstructure:"digits"`
	// TTL is how long a sent code can be entered, 1m to 1h (default 10m).
	TTL time.Duration `mapstructure:"ttl"`
	// SendsPerUser is how many codes one user may be sent per SendWindow,
	// all channels together, 1 to 100 (default 5).
	SendsPerUser int `mapstructure:"sends_per_user"`
	// SendWindow is the period of SendsPerUser, 1m to 24h (default 15m).
	SendWindow time.Duration `mapstructure:"send_window"`
	// HourlyBudget is how many codes the whole server may send per hour,
	// against someone running up the bill (default 1000; 0: no budget).
	HourlyBudget int `mapstructure:"hourly_budget"`
	// AllowLoopbackPlaintext lets the Twilio and webhook URLs use http://
	// and email use tls: none, to a literal loopback address only: for
	// tests that run their own receivers. Default false.
	AllowLoopbackPlaintext bool                 `mapstructure:"allow_loopback_plaintext"`
	Phone                  CodesPhoneConfig     `mapstructure:"phone"`
	Directory              CodesDirectoryConfig `mapstructure:"directory"`
	// SMS sends codes by text message, Voice reads them out in a call.
	SMS   CodeChannelConfig `mapstructure:"sms"`
	Voice CodeChannelConfig `mapstructure:"voice"`
	Email CodesEmailConfig  `mapstructure:"email"`
}

// CodesPhoneConfig is how typed phone numbers are read.
type CodesPhoneConfig struct {
	// DefaultRegion is the ISO 3166-1 alpha-2 region ("US") of a number
	// typed without +country; "" (the default): numbers must start with +.
	DefaultRegion string `mapstructure:"default_region"`
	// AllowedCountries lists the regions numbers may belong to ([US, CA]);
	// empty (the default): any.
	AllowedCountries []string `mapstructure:"allowed_countries"`
}

// CodesDirectoryConfig says which directory attributes (ldap.attributes)
// are trusted as destinations without the user verifying them.
type CodesDirectoryConfig struct {
	Phone bool `mapstructure:"phone"` // text messages and calls to the phone attribute (default false)
	Mail  bool `mapstructure:"mail"`  // email to the mail attribute (default false)
}

// CodeChannelConfig is the sms or the voice channel: a provider and the
// settings of each provider, of which only the chosen one may be set.
type CodeChannelConfig struct {
	// Provider is "twilio", "webhook" or "command"; "" (the default): off.
	Provider string `mapstructure:"provider"`
	// Message is the text sent, a Go text/template of .Code, .Spoken,
	// .Issuer (totp.issuer) and .Minutes that must show the code.
	// Default DefaultSMSMessage or DefaultVoiceMessage.
	Message string            `mapstructure:"message"`
	Twilio  TwilioConfig      `mapstructure:"twilio"`
	Webhook CodeWebhookConfig `mapstructure:"webhook"`
	Command CommandConfig     `mapstructure:"command"`
}

// TwilioConfig sends through Twilio's REST API.
type TwilioConfig struct {
	// URL is the API's base URL (default DefaultTwilioURL).
	URL        string `mapstructure:"url"`
	AccountSID string `mapstructure:"account_sid"`
	// AuthTokenFile holds the account's auth token (trailing newline trimmed).
	AuthTokenFile string `mapstructure:"auth_token_file"`
	// From is the sending number; sms may name a MessagingServiceSID
	// instead (one of the two). Calls need From.
	From                string `mapstructure:"from"`
	MessagingServiceSID string `mapstructure:"messaging_service_sid"`
}

// CodeWebhookConfig sends by an HTTP request to a gateway of the site's.
type CodeWebhookConfig struct {
	URL    string `mapstructure:"url"`    // https://…
	Method string `mapstructure:"method"` // POST (default), PUT or GET (no body)
	// Headers are extra "Name: value" request headers.
	Headers []string `mapstructure:"headers"`
	// AuthorizationFile holds the value of the Authorization header.
	AuthorizationFile string `mapstructure:"authorization_file"`
	// Body is a Go text/template of .Channel, .To, .Message, .Code and
	// .Subject, with the functions json and urlquery; "": the sender's
	// default, a JSON object of channel, to and message. A GET has none.
	Body        string `mapstructure:"body"`
	ContentType string `mapstructure:"content_type"` // default application/json
}

// CommandConfig sends by running a program: {to} and {channel} in Args
// are replaced; the message goes on its standard input and in
// RADIUSMFA_MESSAGE, never on the command line.
type CommandConfig struct {
	Path    string        `mapstructure:"path"` // absolute
	Args    []string      `mapstructure:"args"`
	Timeout time.Duration `mapstructure:"timeout"` // 1s to 5m, default 30s
}

// CodesEmailConfig mails codes over SMTP, with the rules of notify.email.
type CodesEmailConfig struct {
	Host string `mapstructure:"host"` // "" (the default) disables email
	// Port defaults to 587 with starttls, 465 with tls, 25 with none.
	Port int `mapstructure:"port"`
	// TLS is "starttls" (default), "tls" (SMTPS) or "none" (a loopback
	// host with allow_loopback_plaintext only).
	TLS          string `mapstructure:"tls"`
	Username     string `mapstructure:"username"`
	PasswordFile string `mapstructure:"password_file"`
	From         string `mapstructure:"from"` // required with Host
	// Subject is a Go text/template of .Code, .Spoken, .Issuer and
	// .Minutes on one line (default DefaultEmailSubject).
	Subject string `mapstructure:"subject"`
}
