package config

import (
	"fmt"
	"mime"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Allowed values of the codes keys, in the case Load normalises them to.
var (
	codeProviders  = []string{"twilio", "webhook", "command"}
	webhookMethods = []string{"POST", "PUT"} // the message travels in the body
)

// Bounds and defaults of the codes section.
const (
	minCodeDigits      = 6
	maxCodeDigits      = 8
	maxSendsPerUser    = 100
	defaultCmdTimeout  = 30 * time.Second
	defaultContentType = "application/json"
)

// validateCodes checks the codes section. It fills empty templates and
// provider settings with their defaults, puts enumerations and region
// codes in their canonical case, and reads the secret files to check them
// without keeping their content.
func (c *Config) validateCodes(p *problems) {
	k := &c.Codes
	k.validateLimits(p)
	validateCodePhone(p, &k.Phone)
	sample := newCodeSample(k.Digits, k.TTL, c.TOTP.Issuer)
	validateCodeChannel(p, "sms", &k.SMS, DefaultSMSMessage, sample, k.AllowLoopbackPlaintext)
	validateCodeChannel(p, "voice", &k.Voice, DefaultVoiceMessage, sample, k.AllowLoopbackPlaintext)
	k.validateEmail(p, sample)
	if k.Directory.Phone && k.SMS.Provider == "" && k.Voice.Provider == "" {
		p.addf("codes.directory.phone", "no channel sends to phones: set codes.sms.provider or codes.voice.provider, or leave this false")
	}
	if k.Directory.Mail && k.Email.Host == "" {
		p.addf("codes.directory.mail", "no channel sends email: set codes.email.host, or leave this false")
	}
}

func (k *CodesConfig) validateLimits(p *problems) {
	if k.Digits < minCodeDigits || k.Digits > maxCodeDigits {
		p.addf("codes.digits", "must be from %d to %d, got %d", minCodeDigits, maxCodeDigits, k.Digits)
	}
	if k.TTL < time.Minute || k.TTL > time.Hour {
		p.addf("codes.ttl", "must be from 1m to 1h, got %s", k.TTL)
	}
	if k.SendsPerUser < 1 || k.SendsPerUser > maxSendsPerUser {
		p.addf("codes.sends_per_user", "must be from 1 to %d, got %d", maxSendsPerUser, k.SendsPerUser)
	}
	if k.SendWindow < time.Minute || k.SendWindow > 24*time.Hour {
		p.addf("codes.send_window", "must be from 1m to 24h, got %s", k.SendWindow)
	}
	if k.HourlyBudget < 0 {
		p.addf("codes.hourly_budget", "must not be negative (0 means no budget), got %d", k.HourlyBudget)
	}
}

// validateCodePhone checks the form of the region codes only: config
// imports none of the project's packages, so the phone-number library's
// list of regions is consulted at start.
func validateCodePhone(p *problems, ph *CodesPhoneConfig) {
	if ph.DefaultRegion != "" {
		ph.DefaultRegion = regionCode(p, "codes.phone.default_region", ph.DefaultRegion)
	}
	for i, r := range ph.AllowedCountries {
		ph.AllowedCountries[i] = regionCode(p, fmt.Sprintf("codes.phone.allowed_countries[%d]", i), r)
	}
}

func regionCode(p *problems, key, s string) string {
	letter := func(b byte) bool { return 'a' <= b|0x20 && b|0x20 <= 'z' }
	if len(s) != 2 || !letter(s[0]) || !letter(s[1]) {
		p.addf(key, "must be a two-letter region code (ISO 3166-1 alpha-2, such as US), got %q", s)
		return s
	}
	return strings.ToUpper(s)
}

// validateCodeChannel checks codes.sms or codes.voice: the message, the
// chosen provider's block, and that the other blocks are left alone, so a
// block configured under the wrong (or a misspelt) provider is not
// silently ignored.
func validateCodeChannel(p *problems, name string, ch *CodeChannelConfig, defaultMessage string, s codeSample, allowLoopback bool) {
	key := "codes." + name
	fillChannelDefaults(ch, defaultMessage)
	ch.Provider = strings.ToLower(ch.Provider)
	if ch.Provider != "" && !slices.Contains(codeProviders, ch.Provider) {
		p.addf(key+".provider", `must be twilio, webhook, command or "" (off), got %q`, ch.Provider)
	}
	message, err := renderTemplate("message", ch.Message, nil, codeTemplateFields, s, maxCodeText)
	switch {
	case err != nil:
		p.addf(key+".message", "%v", err)
	case !s.shown(message):
		p.addf(key+".message", "never shows the code: use {{.Code}} or {{.Spoken}}")
		message = ""
	}
	for _, prov := range codeProviders {
		if prov == ch.Provider {
			continue
		}
		for _, sub := range providerKeysSet(ch, prov) {
			p.addf(fmt.Sprintf("%s.%s.%s", key, prov, sub), "is set but %s.provider is not %s", key, prov)
		}
	}
	switch ch.Provider {
	case "twilio":
		validateTwilio(p, key+".twilio", &ch.Twilio, name == "voice", allowLoopback)
	case "webhook":
		validateCodeWebhook(p, key+".webhook", &ch.Webhook, name, message, s, allowLoopback)
	case "command":
		validateCommand(p, key+".command", &ch.Command)
	}
}

// fillChannelDefaults gives an empty message and empty provider settings
// their defaults, so `message: ""` means the default as leaving it out does.
func fillChannelDefaults(ch *CodeChannelConfig, defaultMessage string) {
	if ch.Message == "" {
		ch.Message = defaultMessage
	}
	if ch.Twilio.URL == "" {
		ch.Twilio.URL = DefaultTwilioURL
	}
	if ch.Webhook.Method == "" {
		ch.Webhook.Method = "POST"
	}
	if ch.Webhook.ContentType == "" {
		ch.Webhook.ContentType = defaultContentType
	}
	if ch.Command.Timeout == 0 {
		ch.Command.Timeout = defaultCmdTimeout
	}
}

// providerKeysSet lists the keys of provider's block in ch that differ
// from their defaults.
func providerKeysSet(ch *CodeChannelConfig, provider string) []string {
	var set []string
	add := func(key string, isSet bool) {
		if isSet {
			set = append(set, key)
		}
	}
	switch provider {
	case "twilio":
		t := ch.Twilio
		add("url", t.URL != DefaultTwilioURL)
		add("account_sid", t.AccountSID != "")
		add("auth_token_file", t.AuthTokenFile != "")
		add("from", t.From != "")
		add("messaging_service_sid", t.MessagingServiceSID != "")
	case "webhook":
		w := ch.Webhook
		add("url", w.URL != "")
		add("method", !strings.EqualFold(w.Method, "POST"))
		add("headers", len(w.Headers) > 0)
		add("authorization_file", w.AuthorizationFile != "")
		add("body", w.Body != "")
		add("content_type", !strings.EqualFold(w.ContentType, defaultContentType))
	case "command":
		cmd := ch.Command
		add("path", cmd.Path != "")
		add("args", len(cmd.Args) > 0)
		add("timeout", cmd.Timeout != defaultCmdTimeout)
	}
	return set
}

func validateTwilio(p *problems, key string, t *TwilioConfig, voice, allowLoopback bool) {
	if msg := checkHTTPSURL(t.URL, allowLoopback, "codes.allow_loopback_plaintext"); msg != "" {
		p.addf(key+".url", "%s", msg)
	} else if u, _ := url.Parse(t.URL); u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		p.addf(key+".url", "must be a base URL, with no query or fragment")
	}
	// The SIDs go into the API's URL paths and form fields.
	sid := func(sub, value, prefix string) {
		if strings.IndexFunc(value, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsLetter(r) && !unicode.IsDigit(r) }) >= 0 {
			p.addf(key+"."+sub, "must be letters and digits (%s…), got %q", prefix, value)
		}
	}
	if t.AccountSID == "" {
		p.addf(key+".account_sid", "is required (AC…, from the Twilio console)")
	}
	sid("account_sid", t.AccountSID, "AC")
	sid("messaging_service_sid", t.MessagingServiceSID, "MG")
	if t.AuthTokenFile == "" {
		p.addf(key+".auth_token_file", "is required: a file holding the account's auth token")
	} else if _, err := readSecretFile(t.AuthTokenFile); err != nil {
		p.addf(key+".auth_token_file", "%v", err)
	}
	switch {
	case voice && t.MessagingServiceSID != "":
		p.addf(key+".messaging_service_sid", "sends text messages only: calls need from, the number they come from")
	case voice && t.From == "":
		p.addf(key+".from", "is required: the number calls come from")
	case t.From == "" && t.MessagingServiceSID == "":
		p.addf(key+".from", "set from (the sending number) or messaging_service_sid")
	}
}

func validateCodeWebhook(p *problems, key string, w *CodeWebhookConfig, channel, message string, s codeSample, allowLoopback bool) {
	if w.URL == "" {
		p.addf(key+".url", "is required: the https:// address of the gateway")
	} else if msg := checkHTTPSURL(w.URL, allowLoopback, "codes.allow_loopback_plaintext"); msg != "" {
		p.addf(key+".url", "%s", msg)
	}
	w.Method = strings.ToUpper(w.Method)
	p.oneOf(key+".method", w.Method, webhookMethods)
	for i, h := range w.Headers {
		checkHeader(p, fmt.Sprintf("%s.headers[%d]", key, i), h)
	}
	if w.AuthorizationFile != "" {
		if _, err := readSecretFile(w.AuthorizationFile); err != nil {
			p.addf(key+".authorization_file", "%v", err)
		}
	}
	if mt, _, err := mime.ParseMediaType(w.ContentType); err != nil || !strings.Contains(mt, "/") {
		p.addf(key+".content_type", "must be a media type such as application/json, got %q", w.ContentType)
	}
	if w.Body == "" {
		return // the sender's default body
	}
	data := webhookBodyData{Channel: channel, To: "+15550100", Message: message, Code: s.Code}
	body, err := renderTemplate("body", w.Body, webhookBodyFuncs, webhookBodyFields, data, maxWebhookBody)
	switch {
	case err != nil:
		p.addf(key+".body", "%v", err)
	case message != "" && !s.shown(body):
		p.addf(key+".body", "never sends the code: use {{.Message}} or {{.Code}}")
	}
}

// transportHeaders are set by the HTTP client from the request itself.
var transportHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection"}

// checkHeader checks one "Name: value" entry without showing it: the value
// is often an API key.
func checkHeader(p *problems, key, h string) {
	name, value, found := strings.Cut(h, ":")
	if !found || !isToken(name) {
		p.addf(key, "must be \"Name: value\" with a header name of letters, digits and !#$%%&'*+-.^_`|~ (the entry is not shown)")
		return
	}
	switch {
	case strings.EqualFold(name, "Authorization"):
		p.addf(key, "put the Authorization header's value in authorization_file")
	case strings.EqualFold(name, "Content-Type"):
		p.addf(key, "set the Content-Type with content_type")
	case slices.ContainsFunc(transportHeaders, func(t string) bool { return strings.EqualFold(t, name) }):
		p.addf(key, "%s is set by radiusmfa, not by a header entry", name)
	case strings.IndexFunc(value, func(r rune) bool { return r != '\t' && unicode.IsControl(r) }) >= 0 || !utf8.ValidString(value):
		p.addf(key, "the value of %s must be valid UTF-8 on one line, without control characters (the value is not shown)", name)
	}
}

// isToken reports an HTTP header name (RFC 9110 §5.6.2).
func isToken(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return r > unicode.MaxASCII || !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("!#$%&'*+-.^_`|~", r)
	}) < 0
}

func validateCommand(p *problems, key string, cmd *CommandConfig) {
	switch {
	case cmd.Path == "":
		p.addf(key+".path", "is required: the program that sends the code")
	case !filepath.IsAbs(cmd.Path):
		p.addf(key+".path", "must be an absolute path, got %q", cmd.Path)
	default:
		info, err := os.Stat(cmd.Path)
		switch {
		case err != nil:
			p.addf(key+".path", "%v", err)
		case !info.Mode().IsRegular():
			p.addf(key+".path", "%s is not a regular file", cmd.Path)
		case info.Mode().Perm()&0o111 == 0:
			p.addf(key+".path", "%s is not executable", cmd.Path)
		}
	}
	for i, a := range cmd.Args {
		for _, ph := range []string{"{code}", "{message}", "{text}"} {
			if strings.Contains(a, ph) {
				p.addf(fmt.Sprintf("%s.args[%d]", key, i), "there is no %s: every local user can read a command line, so the program reads the message on standard input or in RADIUSMFA_MESSAGE (and the code in RADIUSMFA_CODE)", ph)
			}
		}
	}
	if cmd.Timeout < time.Second || cmd.Timeout > 5*time.Minute {
		p.addf(key+".timeout", "must be from 1s to 5m, got %s", cmd.Timeout)
	}
}

// validateEmail checks codes.email with the rules of notify.email, less
// the recipients, which are the users.
func (k *CodesConfig) validateEmail(p *problems, s codeSample) {
	e := &k.Email
	if e.Subject == "" {
		e.Subject = DefaultEmailSubject
	}
	subject, err := renderTemplate("subject", e.Subject, nil, codeTemplateFields, s, maxCodeText)
	switch {
	case err != nil:
		p.addf("codes.email.subject", "%v", err)
	case strings.IndexFunc(subject, unicode.IsControl) >= 0 || !utf8.ValidString(subject):
		p.addf("codes.email.subject", "must render to one line of UTF-8, without control characters")
	}
	if e.TLS == "" {
		e.TLS = "starttls"
	}
	e.TLS = strings.ToLower(e.TLS)
	if e.Host == "" {
		if e.From != "" || e.Username != "" || e.PasswordFile != "" || e.Port != 0 {
			p.addf("codes.email.host", "must be set for codes by email (or leave the codes.email keys out)")
		}
		return
	}
	p.oneOf("codes.email.tls", e.TLS, emailTLSModes)
	if e.TLS == "none" && (!k.AllowLoopbackPlaintext || !isLoopbackIP(e.Host)) {
		p.addf("codes.email.tls", `"none" sends mail in clear: only to a loopback address (127.0.0.1, ::1), with codes.allow_loopback_plaintext, for tests`)
	}
	if e.Port < 0 || e.Port > 65535 {
		p.addf("codes.email.port", "must be from 1 to 65535, or 0 for the default of tls (587, 465, 25), got %d", e.Port)
	}
	if _, err := mail.ParseAddress(e.From); err != nil {
		p.addf("codes.email.from", "must be an email address, got %q", e.From)
	}
	switch {
	case (e.Username == "") != (e.PasswordFile == ""):
		p.addf("codes.email.username", "username and password_file go together")
	case e.Username != "" && e.TLS == "none":
		p.addf("codes.email.username", `the password would cross in clear with tls "none"`)
	}
	if e.PasswordFile != "" {
		if _, err := readSecretFile(e.PasswordFile); err != nil {
			p.addf("codes.email.password_file", "%v", err)
		}
	}
}

// checkHTTPSURL is checkWebhookURL naming setting as the switch that
// allows plain http to a loopback address. It never repeats the URL,
// whose path or query often holds a token.
func checkHTTPSURL(raw string, allowLoopbackPlaintext bool, setting string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a URL"
	case u.User != nil:
		return "must not hold a user name or password"
	case u.Host == "":
		return "must be an https:// URL with a host"
	case u.Scheme == "https":
	case u.Scheme == "http" && allowLoopbackPlaintext && isLoopbackIP(u.Hostname()):
	case u.Scheme == "http":
		return fmt.Sprintf("must be an https:// URL (http:// only to a loopback address, with %s, for tests)", setting)
	default:
		return fmt.Sprintf("must be an https:// URL, got scheme %q", u.Scheme)
	}
	return ""
}
