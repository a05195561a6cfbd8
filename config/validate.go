package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Allowed values of the enumerated keys, in the case Load normalises them to.
var (
	logLevels          = []string{"debug", "info", "warn", "error"}
	logFormats         = []string{"text", "json"}
	enrollmentPolicies = []string{"reject", "allow"}
	enforcementModes   = []string{"off", "optional", "required"}
	challengeModes     = []string{"auto", "challenge", "append-only"}
	totpAlgorithms     = []string{"SHA1", "SHA256", "SHA512"}
	messageAuthModes   = []string{"true", "auto", "false"}
)

// Bounds that are policy rather than type.
const (
	maxTOTPSkew = 10
	// maxEnrollMessage bounds auth.enroll_message, sent as Reply-Message in a
	// packet of at most 4096 bytes.
	maxEnrollMessage = 1000
)

// Validate reports every problem in c at once, joined with errors.Join, each
// naming its key. It also reads each client's secret_file into Secret and
// rewrites client networks as normalised CIDR prefixes, which is why it needs
// a pointer; calling it again reads the files again.
// Load calls it; call it yourself only on a Config built in code.
func (c *Config) Validate() error {
	return errors.Join(c.validate()...)
}

func (c *Config) validate() []error {
	var p problems
	c.validateGeneral(&p)
	c.validatePaths(&p)
	c.validateRadius(&p)
	c.validateClients(&p)
	c.validateAuth(&p)
	c.validateTOTP(&p)
	c.validateLocalDir(&p)
	c.validateLDAP(&p)
	c.validateWeb(&p)
	c.validatePush(&p)
	c.validateNotify(&p)
	c.validateCodes(&p)
	c.validatePolicies(&p)
	return p.errs
}

func (c *Config) validateGeneral(p *problems) {
	if c.DataDir == "" {
		p.addf("data_dir", "must not be empty")
	}
	p.oneOf("log.level", c.Log.Level, logLevels)
	p.oneOf("log.format", c.Log.Format, logFormats)
	if c.Ops.Listen != "" {
		if _, err := parseListen(c.Ops.Listen); err != nil {
			p.addf("ops.listen", "%v", err)
		}
	}
	if c.Ops.GCPercent < 25 || c.Ops.GCPercent > 10000 {
		p.addf("ops.gc_percent", "must be from 25 to 10000, got %d", c.Ops.GCPercent)
	}
	if h := c.Ops.GCHeapMiB; h != 0 && (h < 16 || h > 1<<20) {
		p.addf("ops.gc_heap_mib", "must be 0 (off) or from 16 to 1048576 (MiB), got %d", h)
	}
	p.nonNegative("audit.max_records", c.Audit.MaxRecords)
	if c.Audit.MaxAge < 0 {
		p.addf("audit.max_age", "must not be negative, got %s", c.Audit.MaxAge)
	}
}

func (c *Config) validateAuth(p *problems) {
	a := &c.Auth
	if utf8.RuneCountInString(a.Delimiter) != 1 {
		p.addf("auth.delimiter", "must be exactly one character, got %q", a.Delimiter)
	} else if r, _ := utf8.DecodeRuneInString(a.Delimiter); unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsControl(r) || r == utf8.RuneError {
		p.addf("auth.delimiter", "must not be a letter, digit or control character, got %q", a.Delimiter)
	}
	if a.EnrollmentRequired != "" {
		p.oneOf("auth.enrollment_required", a.EnrollmentRequired, enrollmentPolicies)
		if a.Enforcement != "" {
			p.addf("auth.enrollment_required", "is the older spelling of auth.enforcement: set only auth.enforcement")
		}
	}
	if a.Enforcement != "" {
		p.oneOf("auth.enforcement", a.Enforcement, enforcementModes)
	}
	p.replyText("auth.enroll_message", a.EnrollMessage, maxEnrollMessage)
	if a.ChallengeTimeout < 5*time.Second || a.ChallengeTimeout > 10*time.Minute {
		p.addf("auth.challenge_timeout", "must be from 5s to 10m, got %s", a.ChallengeTimeout)
	}
	p.nonNegative("auth.lockout.threshold", a.Lockout.Threshold)
	if a.Lockout.Duration < 0 {
		p.addf("auth.lockout.duration", "must not be negative, got %s", a.Lockout.Duration)
	}
}

func (c *Config) validateTOTP(p *problems) {
	t := &c.TOTP
	if t.Issuer == "" {
		p.addf("totp.issuer", "must not be empty")
	} else if strings.Contains(t.Issuer, ":") {
		// The otpauth:// label is "issuer:account"; a colon would split it wrongly.
		p.addf("totp.issuer", "must not contain a colon, got %q", t.Issuer)
	}
	if t.Digits != 6 && t.Digits != 8 {
		p.addf("totp.digits", "must be 6 or 8, got %d", t.Digits)
	}
	p.oneOf("totp.algorithm", t.Algorithm, totpAlgorithms)
	if t.Skew < 0 || t.Skew > maxTOTPSkew {
		p.addf("totp.skew", "must be from 0 to %d steps, got %d", maxTOTPSkew, t.Skew)
	}
}

func (c *Config) validateLocalDir(p *problems) {
	a := &c.LocalDir.Argon2
	if a.Time < 1 {
		p.addf("localdir.argon2.time", "must be at least 1, got %d", a.Time)
	}
	if a.Threads < 1 {
		p.addf("localdir.argon2.threads", "must be at least 1, got %d", a.Threads)
	}
	// Argon2 needs 8 KiB per lane. Anything below OWASP's figure is allowed
	// (benchmarks use it to expose the server's own cost) but warned about.
	if uint64(a.MemoryKiB) < 8*uint64(max(a.Threads, 1)) {
		p.addf("localdir.argon2.memory_kib", "must be at least 8 × threads (%d), got %d", 8*uint64(max(a.Threads, 1)), a.MemoryKiB)
	}
	p.nonNegative("localdir.max_concurrent_hashes", c.LocalDir.MaxConcurrentHashes)
}

// validatePaths refuses two of the files the server creates or replaces at one
// path: the admin socket replaces whatever is at its path at start, so a socket
// at master_key_file would delete the key.
func (c *Config) validatePaths(p *problems) {
	paths := []struct{ key, path string }{
		{"store.path", c.Store.Path},
		{"store.master_key_file", c.Store.MasterKeyFile},
		{"admin.socket", c.Admin.Socket},
	}
	seen := make(map[string]string) // absolute path → key that named it
	for _, f := range paths {
		if f.path == "" {
			continue // not resolved: a Config built in code
		}
		abs, err := filepath.Abs(f.path) // Abs cleans the path
		if err != nil {
			abs = filepath.Clean(f.path)
		}
		if first, dup := seen[abs]; dup {
			p.addf(f.key, "is the same file as %s (%s)", first, abs)
			continue
		}
		seen[abs] = f.key
	}
}

// replyText checks text sent to users in a Reply-Message: bounded, valid
// UTF-8 and on one line, since a control character could garble or split
// what the client displays.
func (p *problems) replyText(key, s string, maxLen int) {
	switch {
	case len(s) > maxLen:
		p.addf(key, "must be at most %d bytes, got %d", maxLen, len(s))
	case !utf8.ValidString(s):
		p.addf(key, "must be valid UTF-8")
	default:
		for i, r := range s {
			if unicode.IsControl(r) {
				p.addf(key, "must not contain control characters (line breaks, tabs, NUL…), found %U at byte %d", r, i)
				return
			}
		}
	}
}

// oneOf checks an enumerated value, in any letter case.
func (p *problems) oneOf(key, value string, allowed []string) {
	if slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, value) }) {
		return
	}
	p.addf(key, "must be one of %s, got %q", strings.Join(allowed, ", "), value)
}

func (p *problems) nonNegative(key string, n int) {
	if n < 0 {
		p.addf(key, "must not be negative, got %d", n)
	}
}

func (p *problems) positiveDuration(key string, d time.Duration) {
	if d <= 0 {
		p.addf(key, "must be greater than zero, got %s", d)
	}
}

// Thresholds below which a setting works but deserves an operator's look.
const (
	// minSecretLength is RFC 2865 §3's preferred minimum for a shared
	// secret; shorter ones fall to offline guessing from one captured packet.
	minSecretLength = 16
	// owaspArgon2MemoryKiB is OWASP's minimum for Argon2id (19 MiB, t=2, p=1).
	owaspArgon2MemoryKiB = 19456
)

// warnings lists what is valid but weak, each naming its key.
// It expects a validated Config (secret files read).
func (c *Config) warnings() []string {
	var w []string
	for i, cl := range c.Radius.Clients {
		if utf8.RuneCountInString(cl.Secret) < minSecretLength {
			w = append(w, fmt.Sprintf("%s: secret is shorter than %d characters",
				clientKey(i, cl.Name, ""), minSecretLength))
		}
		if cl.RequireMessageAuthenticator == "false" {
			w = append(w, fmt.Sprintf("%s: require_message_authenticator is false, so this client is "+
				"vulnerable to Blast-RADIUS (CVE-2024-3596); upgrade it and use \"auto\" or \"true\"",
				clientKey(i, cl.Name, "")))
		}
	}
	switch {
	case c.Auth.EnrollmentRequired != "":
		w = append(w, fmt.Sprintf("auth.enrollment_required: deprecated, write auth.enforcement: %s", c.Auth.Mode()))
	case c.Auth.Mode() == "optional":
		w = append(w, `auth.enforcement: "optional" lets users with no second factor log in with a password alone`)
	}
	if c.Auth.Lockout.Threshold == 0 {
		w = append(w, "auth.lockout.threshold: 0 disables lockout, so online password and code guessing is not slowed")
	}
	if c.Auth.Directory != "ldap" && (c.Policy.MFA == "groups" || len(c.Policies) > 0 && slices.ContainsFunc(c.Policies, func(p PolicyConfig) bool { return p.MFA == "groups" })) {
		w = append(w, `policy.mfa: "groups" with the built-in directory, whose users are in no group: nobody needs a second factor`)
	}
	if c.Auth.Directory == "ldap" && len(c.LDAP.Servers) > 1 && c.LDAP.Timeout > c.Radius.RequestTimeout/2 {
		w = append(w, fmt.Sprintf("ldap.timeout: %s leaves no time within radius.request_timeout (%s) to try a second server after the first one hangs",
			c.LDAP.Timeout, c.Radius.RequestTimeout))
	}
	if c.Auth.Directory == "ldap" && c.LDAP.AllowPlaintext {
		w = append(w, "ldap.allow_plaintext: passwords may cross the network to the directory in clear")
	}
	if c.LocalDir.Argon2.MemoryKiB < owaspArgon2MemoryKiB {
		w = append(w, fmt.Sprintf("localdir.argon2.memory_kib: %d is below OWASP's minimum of %d for Argon2id",
			c.LocalDir.Argon2.MemoryKiB, owaspArgon2MemoryKiB))
	}
	if c.Push.GeoIPDatabase != "" && (!c.Push.Enabled || c.Web.Listen == "") {
		w = append(w, "push.geoip_database: unused while push is off (push.enabled false or web.listen empty)")
	}
	return w
}
