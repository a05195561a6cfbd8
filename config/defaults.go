package config

import (
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// DefaultPushTimeout is how long a login waits for a push answer.
const DefaultPushTimeout = 25 * time.Second

// Defaults of the codes section's templates and Twilio's address. An empty
// message or subject is given these.
const (
	DefaultSMSMessage   = "Your {{.Issuer}} code is {{.Code}}. It expires in {{.Minutes}} minutes."
	DefaultVoiceMessage = "Your {{.Issuer}} code is {{.Spoken}}."
	DefaultEmailSubject = "Your {{.Issuer}} sign-in code"
	DefaultTwilioURL    = "https://api.twilio.com"
)

// Default returns the configuration used for every key that neither the file
// nor the environment sets. The values that depend on others (store.path,
// store.master_key_file, admin.socket, localdir.max_concurrent_hashes and
// each client's require_message_authenticator) are left empty here and filled
// in by Load.
func Default() *Config {
	return &Config{
		DataDir: "./var",
		Log:     LogConfig{Level: "info", Format: "text"},
		Radius: RadiusConfig{
			Listen:                   []string{"127.0.0.1:1812"},
			AccountingListen:         []string{"127.0.0.1:1813"},
			RequestTimeout:           10 * time.Second,
			ReplyCacheTTL:            30 * time.Second,
			MaxInFlight:              1024,
			UnknownClientLogInterval: time.Minute,
		},
		Auth: AuthConfig{
			Directory:        "builtin",
			Delimiter:        ",",
			EnrollMessage:    "Two-factor enrollment required: contact your administrator",
			ChallengeTimeout: 60 * time.Second,
			Lockout:          LockoutConfig{Threshold: 10, Duration: 15 * time.Minute},
		},
		TOTP: TOTPConfig{Issuer: "radiusmfa", Digits: 6, Algorithm: "SHA1", Skew: 1},
		Push: PushConfig{Enabled: true, Contact: "mailto:postmaster@localhost"},
		LocalDir: LocalDirConfig{
			Argon2: Argon2Config{Time: 2, MemoryKiB: 19456, Threads: 1},
		},
		LDAP: LDAPConfig{
			Type:     "openldap",
			Timeout:  5 * time.Second,
			Backoff:  30 * time.Second,
			PoolSize: 16,
			Scope:    "sub",
			Username: LDAPUsernameConfig{StripDomain: true},
			Groups:   LDAPGroupsConfig{NameAttribute: "cn", Nested: true, PrimaryGroup: true},
			Profile: LDAPAttributesConfig{Mail: "mail", Phone: []string{"mobile", "telephoneNumber"},
				DisplayName: "displayName"},
		},
		Policy: PolicyConfig{MFA: "all"},
		Audit:  AuditConfig{MaxRecords: 100000, MaxAge: 90 * 24 * time.Hour},
		Web:    WebConfig{Listen: "127.0.0.1:8443"},
		Notify: NotifyConfig{Events: slices.Clone(notifyEvents), Email: NotifyEmailConfig{TLS: "starttls"}},
		Codes:  defaultCodes(),
		Ops:    OpsConfig{Listen: "127.0.0.1:9812", GCPercent: 300, GCHeapMiB: 128},
	}
}

// defaultCodes is the codes section with every channel off.
func defaultCodes() CodesConfig {
	channel := func(message string) CodeChannelConfig {
		return CodeChannelConfig{
			Message: message,
			Twilio:  TwilioConfig{URL: DefaultTwilioURL},
			Webhook: CodeWebhookConfig{Method: "POST", ContentType: defaultContentType},
			Command: CommandConfig{Timeout: defaultCmdTimeout},
		}
	}
	return CodesConfig{
		Digits:       6,
		TTL:          10 * time.Minute,
		SendsPerUser: 5,
		SendWindow:   15 * time.Minute,
		HourlyBudget: 1000,
		SMS:          channel(DefaultSMSMessage),
		Voice:        channel(DefaultVoiceMessage),
		Email:        CodesEmailConfig{TLS: "starttls", Subject: DefaultEmailSubject},
	}
}

// setDefaults registers every key of Default with v.
func setDefaults(v *viper.Viper) {
	def := reflect.ValueOf(Default()).Elem()
	for _, l := range leaves() {
		val := def.FieldByIndex(l.index)
		if val.Kind() == reflect.Slice && val.IsNil() {
			continue // no default list (radius.clients)
		}
		v.SetDefault(l.key, val.Interface())
	}
}

// Derived file names inside data_dir.
const (
	defaultStoreFile     = "radiusmfa.db"
	defaultMasterKeyFile = "master.key"
	defaultAdminSocket   = "admin.sock"
	defaultClientMA      = "true"
)

// resolve fills the defaults that depend on other keys and puts
// case-insensitive values in their canonical case, so every consumer sees one
// spelling. It reports the problems that only exist before resolution.
func (c *Config) resolve() []error {
	var p problems
	if c.Store.Path == "" {
		c.Store.Path = filepath.Join(c.DataDir, defaultStoreFile)
	}
	if c.Store.MasterKeyFile == "" {
		c.Store.MasterKeyFile = filepath.Join(c.DataDir, defaultMasterKeyFile)
	}
	if c.Admin.Socket == "" {
		c.Admin.Socket = filepath.Join(c.DataDir, defaultAdminSocket)
	}
	if c.LocalDir.MaxConcurrentHashes == 0 {
		c.LocalDir.MaxConcurrentHashes = 2 * runtime.NumCPU()
	}
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Format = strings.ToLower(c.Log.Format)
	c.Auth.EnrollmentRequired = strings.ToLower(c.Auth.EnrollmentRequired)
	c.Auth.Enforcement = strings.ToLower(c.Auth.Enforcement)
	c.Auth.Directory = strings.ToLower(c.Auth.Directory)
	c.LDAP.Type = strings.ToLower(c.LDAP.Type)
	c.LDAP.Scope = strings.ToLower(c.LDAP.Scope)
	c.Policy.MFA = strings.ToLower(c.Policy.MFA)
	for i := range c.Policies {
		if c.Policies[i].MFA == "" {
			c.Policies[i].MFA = "all"
		}
		c.Policies[i].MFA = strings.ToLower(c.Policies[i].MFA)
	}
	c.TOTP.Algorithm = strings.ToUpper(c.TOTP.Algorithm)

	for i := range c.Radius.Clients {
		cl := &c.Radius.Clients[i]
		if cl.RequireMessageAuthenticator == "" {
			cl.RequireMessageAuthenticator = defaultClientMA
		}
		cl.RequireMessageAuthenticator = strings.ToLower(cl.RequireMessageAuthenticator)
		if cl.Challenge == "" {
			cl.Challenge = "auto"
		}
		if cl.PushTimeout == 0 {
			cl.PushTimeout = DefaultPushTimeout
		}
		if cl.RequestTimeout == 0 {
			cl.RequestTimeout = max(c.Radius.RequestTimeout, cl.PushTimeout+5*time.Second)
		}
		cl.Challenge = strings.ToLower(cl.Challenge)
		if cl.Secret != "" && cl.SecretFile != "" {
			p.addf(clientKey(i, cl.Name, ""), "set secret or secret_file, not both")
		}
	}
	return p.errs
}
