package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// codeFiles are the secret files and the program a codes section names.
type codeFiles struct{ token, auth, password, script, plain string }

func newCodeFiles(t *testing.T) codeFiles {
	t.Helper()
	dir := t.TempDir()
	f := codeFiles{
		token:    filepath.Join(dir, "twilio.token"),
		auth:     filepath.Join(dir, "gateway.auth"),
		password: filepath.Join(dir, "smtp.pw"),
		script:   filepath.Join(dir, "send-code"),
		plain:    filepath.Join(dir, "not-executable"),
	}
	for _, w := range []struct {
		path string
		mode os.FileMode
	}{{f.token, 0o600}, {f.auth, 0o600}, {f.password, 0o600}, {f.script, 0o755}, {f.plain, 0o644}} {
		if err := os.WriteFile(w.path, []byte("S3CRET-of-"+filepath.Base(w.path)+"\n"), w.mode); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestCodesDefaults(t *testing.T) {
	cfg, warnings := mustLoad(t, oneClient)
	k := cfg.Codes
	if k.Digits != 6 || k.TTL != 10*time.Minute || k.SendsPerUser != 5 || k.SendWindow != 15*time.Minute || k.HourlyBudget != 1000 {
		t.Errorf("limits %d %s %d %s %d", k.Digits, k.TTL, k.SendsPerUser, k.SendWindow, k.HourlyBudget)
	}
	if k.SMS.Provider != "" || k.Voice.Provider != "" || k.Email.Host != "" || k.Directory.Phone || k.Directory.Mail || k.AllowLoopbackPlaintext {
		t.Errorf("something is on by default: %+v", k)
	}
	if k.SMS.Message != DefaultSMSMessage || k.Voice.Message != DefaultVoiceMessage || k.Email.Subject != DefaultEmailSubject {
		t.Errorf("templates %q, %q, %q", k.SMS.Message, k.Voice.Message, k.Email.Subject)
	}
	for _, ch := range []CodeChannelConfig{k.SMS, k.Voice} {
		if ch.Twilio.URL != DefaultTwilioURL || ch.Webhook.Method != "POST" || ch.Webhook.ContentType != "application/json" ||
			ch.Webhook.Body != "" || ch.Command.Timeout != 30*time.Second {
			t.Errorf("provider defaults %+v", ch)
		}
	}
	if k.Email.TLS != "starttls" || k.Phone.DefaultRegion != "" || len(k.Phone.AllowedCountries) != 0 {
		t.Errorf("email %+v, phone %+v", k.Email, k.Phone)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings %q", warnings)
	}
	// A Config built in code validates with the defaults as they are.
	c := Default()
	c.Radius.Clients = []ClientConfig{{Name: "a", Networks: []string{"127.0.0.1"}, Secret: "a-secret-of-24-characters", RequireMessageAuthenticator: "true"}}
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate: %v", err)
	}
}

func TestCodesLoads(t *testing.T) {
	f := newCodeFiles(t)
	cfg, _ := mustLoad(t, oneClient+`
codes:
  digits: 8
  ttl: 5m
  sends_per_user: 3
  send_window: 1h
  hourly_budget: 0
  phone: {default_region: us, allowed_countries: [us, Ca, NO]}
  directory: {phone: true, mail: true}
  sms:
    provider: Twilio
    message: "{{.Issuer}}: {{.Code}}"
    twilio: {account_sid: AC0123456789abcdef0123456789abcdef, auth_token_file: `+f.token+`, messaging_service_sid: MG0123}
  voice:
    provider: WEBHOOK
    webhook:
      url: https://gateway.example.com/api/T0KEN
      method: put
      headers: ["X-Api-Key: S3CRET", "X-Trace:on"]
      authorization_file: `+f.auth+`
      content_type: application/x-www-form-urlencoded
      body: "to={{urlquery .To}}&text={{urlquery .Message}}&via={{.Channel}}"
  email:
    host: smtp.example.com
    port: 465
    tls: TLS
    username: radiusmfa
    password_file: `+f.password+`
    from: "radiusmfa <mfa@example.com>"
    subject: "{{.Issuer}} code, valid {{.Minutes}} minutes"
`)
	k := cfg.Codes
	if k.SMS.Provider != "twilio" || k.Voice.Provider != "webhook" || k.Voice.Webhook.Method != "PUT" || k.Email.TLS != "tls" {
		t.Errorf("not normalised: %q %q %q %q", k.SMS.Provider, k.Voice.Provider, k.Voice.Webhook.Method, k.Email.TLS)
	}
	if k.Phone.DefaultRegion != "US" || !slices.Equal(k.Phone.AllowedCountries, []string{"US", "CA", "NO"}) {
		t.Errorf("regions %+v", k.Phone)
	}
	if k.Digits != 8 || k.TTL != 5*time.Minute || k.SendsPerUser != 3 || k.SendWindow != time.Hour || k.HourlyBudget != 0 {
		t.Errorf("limits %+v", k)
	}
	if k.SMS.Twilio.URL != DefaultTwilioURL || k.Voice.Message != DefaultVoiceMessage || len(k.Voice.Webhook.Headers) != 2 {
		t.Errorf("defaults lost: %+v", k)
	}

	// The command provider, and an empty body is left to the sender.
	cfg, _ = mustLoad(t, oneClient+`
codes:
  sms:
    provider: command
    command: {path: `+f.script+`, args: ["--to", "{to}", "--via", "{channel}"], timeout: 10s}
  voice:
    provider: webhook
    webhook: {url: "https://gateway.example.com/voice", body: ""}
`)
	k = cfg.Codes
	if k.SMS.Command.Path != f.script || k.SMS.Command.Timeout != 10*time.Second || len(k.SMS.Command.Args) != 4 {
		t.Errorf("command %+v", k.SMS.Command)
	}
	if k.Voice.Webhook.Body != "" || k.Voice.Webhook.Method != "POST" {
		t.Errorf("webhook %+v", k.Voice.Webhook)
	}
}

func TestCodesFromTheEnvironment(t *testing.T) {
	f := newCodeFiles(t)
	cfg, _ := mustLoad(t, oneClient,
		"RADIUSMFA_CODES_SMS_PROVIDER=Twilio",
		"RADIUSMFA_CODES_SMS_TWILIO_ACCOUNT_SID=AC1",
		"RADIUSMFA_CODES_SMS_TWILIO_AUTH_TOKEN_FILE="+f.token,
		"RADIUSMFA_CODES_SMS_TWILIO_FROM=+15550100",
		"RADIUSMFA_CODES_SMS_TWILIO_URL=http://127.0.0.1:8080",
		"RADIUSMFA_CODES_ALLOW_LOOPBACK_PLAINTEXT=true",
		"RADIUSMFA_CODES_PHONE_ALLOWED_COUNTRIES=us,gb",
		"RADIUSMFA_CODES_DIRECTORY_PHONE=true",
		"RADIUSMFA_CODES_HOURLY_BUDGET=50",
		"RADIUSMFA_CODES_TTL=2m",
		"RADIUSMFA_CODES_VOICE_COMMAND_ARGS=", // an empty list: still unset
	)
	k := cfg.Codes
	if k.SMS.Provider != "twilio" || k.SMS.Twilio.From != "+15550100" || !k.AllowLoopbackPlaintext || !k.Directory.Phone ||
		!slices.Equal(k.Phone.AllowedCountries, []string{"US", "GB"}) || k.HourlyBudget != 50 || k.TTL != 2*time.Minute {
		t.Errorf("from the environment: %+v", k)
	}
	_, _, err := loadString(t, oneClient, "RADIUSMFA_CODES_SMS_PROVIDR=twilio")
	wantErr(t, err, `RADIUSMFA_CODES_SMS_PROVIDR: no such setting (did you mean "RADIUSMFA_CODES_SMS_PROVIDER"?)`)
}

func TestCodesValidation(t *testing.T) {
	f := newCodeFiles(t)
	codes := func(body string) string {
		return oneClient + "codes:\n  " + strings.ReplaceAll(body, "\n", "\n  ") + "\n"
	}
	twilio := func(extra string) string {
		return codes("sms:\n  provider: twilio\n  twilio: {account_sid: AC1, auth_token_file: " + f.token + ", from: \"+15550100\"" + extra + "}")
	}
	voice := func(extra string) string {
		return codes("voice:\n  provider: twilio\n  twilio: {account_sid: AC1, auth_token_file: " + f.token + extra + "}")
	}
	webhook := func(extra string) string {
		return codes("sms:\n  provider: webhook\n  webhook: {url: \"https://gw.example.com/T0KEN\"" + extra + "}")
	}
	command := func(extra string) string { return codes("voice:\n  provider: command\n  command: {" + extra + "}") }
	email := func(extra string) string {
		return codes("email: {host: smtp.example.com, from: mfa@example.com" + extra + "}")
	}
	tests := []struct{ name, yaml, want string }{
		{"digits", codes("digits: 5"), "codes.digits: must be from 6 to 8, got 5"},
		{"ttl short", codes("ttl: 30s"), "codes.ttl: must be from 1m to 1h, got 30s"},
		{"ttl long", codes("ttl: 2h"), "codes.ttl: must be from 1m to 1h, got 2h0m0s"},
		{"sends_per_user", codes("sends_per_user: 0"), "codes.sends_per_user: must be from 1 to 100, got 0"},
		{"sends_per_user high", codes("sends_per_user: 101"), "codes.sends_per_user: must be from 1 to 100, got 101"},
		{"send_window", codes("send_window: 25h"), "codes.send_window: must be from 1m to 24h, got 25h0m0s"},
		{"hourly_budget", codes("hourly_budget: -1"), "codes.hourly_budget: must not be negative (0 means no budget), got -1"},
		{"default_region", codes("phone: {default_region: USA}"), `codes.phone.default_region: must be a two-letter region code (ISO 3166-1 alpha-2, such as US), got "USA"`},
		{"allowed_countries", codes("phone: {allowed_countries: [US, \"1\"]}"), `codes.phone.allowed_countries[1]: must be a two-letter region code`},
		{"allowed_countries non-ASCII", codes("phone: {allowed_countries: [\"ÜS\"]}"), `codes.phone.allowed_countries[0]: must be a two-letter region code`},
		{"provider", codes("sms: {provider: sms}"), `codes.sms.provider: must be twilio, webhook, command or "" (off), got "sms"`},
		{"block of another provider", codes("sms:\n  provider: webhook\n  webhook: {url: \"https://gw.example.com/\"}\n  twilio: {account_sid: AC1}"),
			"codes.sms.twilio.account_sid: is set but codes.sms.provider is not twilio"},
		{"block without provider", codes("voice: {command: {path: /bin/true}}"), "codes.voice.command.path: is set but codes.voice.provider is not command"},
		{"block under a misspelt provider", codes("sms: {provider: twillio, twilio: {from: \"+1555\"}}"), "codes.sms.twilio.from: is set but codes.sms.provider is not twilio"},
		{"webhook method of another provider", codes("sms: {webhook: {method: PUT}}"), "codes.sms.webhook.method: is set but codes.sms.provider is not webhook"},
		{"command timeout of another provider", codes("sms: {command: {timeout: 5s}}"), "codes.sms.command.timeout: is set but codes.sms.provider is not command"},
		{"twilio url of another provider", codes("voice: {twilio: {url: \"https://other.example.com\"}}"), "codes.voice.twilio.url: is set but codes.voice.provider is not twilio"},

		{"twilio account_sid", codes("sms: {provider: twilio, twilio: {auth_token_file: " + f.token + ", from: x}}"), "codes.sms.twilio.account_sid: is required"},
		{"twilio with its defaults written out", twilio(", messaging_service_sid: \"\", url: \"https://api.twilio.com\""), ""},
		{"twilio account_sid path", codes("sms: {provider: twilio, twilio: {account_sid: \"AC1/../x\", auth_token_file: " + f.token + ", from: x}}"),
			`codes.sms.twilio.account_sid: must be letters and digits (AC…), got "AC1/../x"`},
		{"twilio auth_token_file", codes("sms: {provider: twilio, twilio: {account_sid: AC1, from: x}}"), "codes.sms.twilio.auth_token_file: is required"},
		{"twilio auth_token_file missing", codes("sms: {provider: twilio, twilio: {account_sid: AC1, from: x, auth_token_file: /nonexistent/token}}"),
			"codes.sms.twilio.auth_token_file: stat /nonexistent/token"},
		{"twilio from", codes("sms: {provider: twilio, twilio: {account_sid: AC1, auth_token_file: " + f.token + "}}"),
			"codes.sms.twilio.from: set from (the sending number) or messaging_service_sid"},
		{"twilio from and service", twilio(", messaging_service_sid: MG1"), ""},
		{"twilio query", twilio(", url: \"https://api.twilio.com/?T0KEN=1\""), "codes.sms.twilio.url: must be a base URL, with no query or fragment"},
		{"twilio voice from", voice(""), "codes.voice.twilio.from: is required: the number calls come from"},
		{"twilio voice service", voice(", from: \"+1555\", messaging_service_sid: MG1"), "codes.voice.twilio.messaging_service_sid: sends text messages only"},
		{"twilio http", twilio(", url: \"http://api.twilio.com/T0KEN\""),
			"codes.sms.twilio.url: must be an https:// URL (http:// only to a loopback address, with codes.allow_loopback_plaintext, for tests)"},
		{"twilio http loopback without switch", twilio(", url: \"http://127.0.0.1:9/T0KEN\""), "codes.sms.twilio.url: must be an https:// URL"},
		{"twilio credentials", twilio(", url: \"https://user:T0KEN@api.twilio.com\""), "codes.sms.twilio.url: must not hold a user name or password"},

		{"webhook url", codes("sms: {provider: webhook}"), "codes.sms.webhook.url: is required"},
		{"webhook http localhost", codes("allow_loopback_plaintext: true\nsms: {provider: webhook, webhook: {url: \"http://localhost:9/T0KEN\"}}"),
			"codes.sms.webhook.url: must be an https:// URL"},
		{"webhook scheme", codes("sms: {provider: webhook, webhook: {url: \"ftp://gw.example.com/T0KEN\"}}"), `codes.sms.webhook.url: must be an https:// URL, got scheme "ftp"`},
		{"webhook host", codes("sms: {provider: webhook, webhook: {url: \"https:///T0KEN\"}}"), "codes.sms.webhook.url: must be an https:// URL with a host"},
		{"webhook method", webhook(", method: PATCH"), `codes.sms.webhook.method: must be one of POST, PUT, got "PATCH"`},
		{"webhook header form", webhook(", headers: [\"X-Key S3CRET\"]"), `codes.sms.webhook.headers[0]: must be "Name: value"`},
		{"webhook header name", webhook(", headers: [\"X Key: S3CRET\"]"), `codes.sms.webhook.headers[0]: must be "Name: value"`},
		{"webhook header authorization", webhook(", headers: [\"authorization: Bearer S3CRET\"]"),
			"codes.sms.webhook.headers[0]: put the Authorization header's value in authorization_file"},
		{"webhook header host", webhook(", headers: [\"X-A: 1\", \"Host: gw\"]"), "codes.sms.webhook.headers[1]: Host is set by radiusmfa"},
		{"webhook header content-length", webhook(", headers: [\"Content-Length: 5\"]"), "codes.sms.webhook.headers[0]: Content-Length is set by radiusmfa"},
		{"webhook header connection", webhook(", headers: [\"connection: close\"]"), "codes.sms.webhook.headers[0]: connection is set by radiusmfa"},
		{"webhook GET", webhook(", method: get"), `codes.sms.webhook.method: must be one of POST, PUT, got "GET"`},
		{"webhook PUT", webhook(", method: put"), ""},
		{"webhook header content-type", webhook(", headers: [\"Content-Type: text/plain\"]"), "codes.sms.webhook.headers[0]: set the Content-Type with content_type"},
		{"webhook header value", webhook(", headers: [\"X-Key: S3CRET\\r\\nX-Evil: 1\"]"), "codes.sms.webhook.headers[0]: the value of X-Key must be valid UTF-8 on one line"},
		{"webhook authorization_file", webhook(", authorization_file: /nonexistent/auth"), "codes.sms.webhook.authorization_file: stat /nonexistent/auth"},
		{"webhook content_type", webhook(", content_type: \"json\""), `codes.sms.webhook.content_type: must be a media type such as application/json, got "json"`},
		{"webhook body syntax", webhook(", body: \"{{json .To}\""), "codes.sms.webhook.body: template: body:1: "},
		{"webhook body field", webhook(", body: \"{{json .Message}} {{.Phone}}\""), "codes.sms.webhook.body: uses {{.Phone}}: only .Channel, .To, .Message, .Code, .Subject are known"},
		{"webhook body function", webhook(", body: \"{{base64 .Message}}\""), `codes.sms.webhook.body: template: body:1: function "base64" not defined`},
		{"webhook body urlquery of two", webhook(", body: \"{{urlquery .To .Message}}\""), "wrong number of args for urlquery: want 1 got 2"},
		{"webhook body without the code", webhook(", body: \"{\\\"to\\\": {{json .To}}}\""), "codes.sms.webhook.body: never sends the code: use {{.Message}} or {{.Code}}"},

		{"command path", command(""), "codes.voice.command.path: is required"},
		{"command relative", command("path: bin/send"), `codes.voice.command.path: must be an absolute path, got "bin/send"`},
		{"command missing", command("path: /nonexistent/send"), "codes.voice.command.path: stat /nonexistent/send"},
		{"command directory", command("path: " + filepath.Dir(f.script)), "is not a regular file"},
		{"command not executable", command("path: " + f.plain), "codes.voice.command.path: " + f.plain + " is not executable"},
		{"command code argument", command("path: " + f.script + ", args: [\"--text={message}\"]"), "codes.voice.command.args[0]: there is no {message}"},
		{"command timeout", command("path: " + f.script + ", timeout: 500ms"), "codes.voice.command.timeout: must be from 1s to 5m, got 500ms"},
		{"command timeout long", command("path: " + f.script + ", timeout: 6m"), "codes.voice.command.timeout: must be from 1s to 5m, got 6m0s"},

		{"email keys without host", codes("email: {from: mfa@example.com}"), "codes.email.host: must be set for codes by email"},
		{"email tls", email(", tls: ssl"), `codes.email.tls: must be one of starttls, tls, none, got "ssl"`},
		{"email none remote", email(", tls: none"), `codes.email.tls: "none" sends mail in clear: only to a loopback address (127.0.0.1, ::1), with codes.allow_loopback_plaintext`},
		{"email none no switch", codes("email: {host: 127.0.0.1, from: mfa@example.com, tls: none}"), `codes.email.tls: "none" sends mail in clear`},
		{"email port", email(", port: 70000"), "codes.email.port: must be from 1 to 65535"},
		{"email from", codes("email: {host: smtp.example.com}"), `codes.email.from: must be an email address, got ""`},
		{"email from form", codes("email: {host: smtp.example.com, from: radiusmfa}"), `codes.email.from: must be an email address, got "radiusmfa"`},
		{"email username alone", email(", username: mfa"), "codes.email.username: username and password_file go together"},
		{"email password missing", email(", username: mfa, password_file: /nonexistent/pw"), "codes.email.password_file: stat /nonexistent/pw"},
		{"email no to key", email(", to: [a@example.com]"), "codes.email.to: unknown key"},

		{"directory phone", codes("directory: {phone: true}\nemail: {host: smtp.example.com, from: mfa@example.com}"), "codes.directory.phone: no channel sends to phones"},
		{"directory mail", twilio("") + "  directory: {mail: true}\n", "codes.directory.mail: no channel sends email"},

		{"unknown key", codes("sms: {provdier: twilio}"), `codes.sms.provdier: unknown key (did you mean "provider"?)`},
		{"unknown nested key", codes("voice: {twilio: {acount_sid: AC1}}"), `codes.voice.twilio.acount_sid: unknown key (did you mean "account_sid"?)`},
		{"unknown top key", codes("ttls: 5m"), `codes.ttls: unknown key (did you mean "ttl"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadString(t, tt.yaml)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			wantErr(t, err, tt.want)
			if err != nil && (strings.Contains(err.Error(), "T0KEN") || strings.Contains(err.Error(), "S3CRET")) {
				t.Errorf("the error repeats a URL's path or a secret: %v", err)
			}
		})
	}
}

// TestCodesTemplates: a message must parse, use only the known fields (in
// every branch) and show the code; the email subject must stay on one line.
func TestCodesTemplates(t *testing.T) {
	tests := []struct{ name, key, template, want string }{
		{"sms default", "sms", DefaultSMSMessage, ""},
		{"voice default", "voice", DefaultVoiceMessage, ""},
		{"spoken in sms", "sms", "{{.Spoken}}", ""},
		{"all fields", "sms", "{{.Issuer}} {{.Code}} {{.Minutes}} {{if .Spoken}}{{end}} {{$.Code}}", ""},
		{"no code", "sms", "Your {{.Issuer}} code expires in {{.Minutes}} minutes.", "codes.sms.message: never shows the code: use {{.Code}} or {{.Spoken}}"},
		{"code cut short", "voice", `{{printf "%.3s" .Code}}`, "codes.voice.message: never shows the code"},
		{"code only in a dead branch", "sms", "{{if false}}{{.Code}}{{end}}", "codes.sms.message: never shows the code"},
		{"unknown field", "sms", "{{.Code}} for {{.User}}", "codes.sms.message: uses {{.User}}: only .Code, .Spoken, .Issuer, .Minutes are known"},
		{"unknown field in a dead branch", "sms", "{{.Code}}{{if false}}{{.Phone}}{{end}}", "codes.sms.message: uses {{.Phone}}"},
		{"unknown field from the root", "sms", "{{.Code}}{{with .Issuer}}{{$.Secret}}{{end}}", "codes.sms.message: uses {{.Secret}}"},
		{"field of a field", "sms", "{{.Code.Digits}}", `codes.sms.message: template: message:1:7: executing "message" at <.Code.Digits>: can't evaluate field Digits`},
		{"syntax error", "voice", "Your code is {{.Spoken}", "codes.voice.message: template: message:1: "},
		{"unclosed", "sms", "{{if .Code}}{{.Code}}", "codes.sms.message: template: message:1: unexpected EOF"},
		{"undefined function", "sms", "{{json .Code}}", `codes.sms.message: template: message:1: function "json" not defined`},
		{"range", "sms", "{{.Code}}{{range 1000000000}}{{end}}", "codes.sms.message: uses range"},
		{"sub-template", "sms", `{{define "a"}}{{.Code}}{{end}}{{template "a" .}}`, "codes.sms.message: uses {{template}} or {{block}}"},
		{"block", "voice", `{{block "a" .}}{{.Spoken}}{{end}}`, "codes.voice.message: uses {{template}} or {{block}}"},
		{"too long", "sms", `{{.Code}}{{printf "%2000s" ""}}`, "codes.sms.message: renders to more than 1600 bytes"},
		{"subject default", "subject", DefaultEmailSubject, ""},
		{"subject without the code", "subject", "Sign-in", ""},
		{"subject line break", "subject", "Code\n{{.Code}}", "codes.email.subject: must render to one line"},
		{"subject unknown field", "subject", "{{.To}}", "codes.email.subject: uses {{.To}}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Radius.Clients = []ClientConfig{{Name: "a", Networks: []string{"127.0.0.1"}, Secret: "a-secret-of-24-characters", RequireMessageAuthenticator: "true"}}
			switch tt.key {
			case "sms":
				c.Codes.SMS.Message = tt.template
			case "voice":
				c.Codes.Voice.Message = tt.template
			case "subject":
				c.Codes.Email.Subject = tt.template
			}
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			wantErr(t, err, tt.want)
		})
	}
}

// TestCodesEmptyTemplatesGetDefaults: `message: ""` is the default, as
// leaving the key out is.
func TestCodesEmptyTemplatesGetDefaults(t *testing.T) {
	cfg, _ := mustLoad(t, oneClient+"codes: {sms: {message: \"\"}, voice: {message: \"\"}, email: {subject: \"\", tls: \"\"}}\n")
	k := cfg.Codes
	if k.SMS.Message != DefaultSMSMessage || k.Voice.Message != DefaultVoiceMessage || k.Email.Subject != DefaultEmailSubject || k.Email.TLS != "starttls" {
		t.Errorf("%q %q %q %q", k.SMS.Message, k.Voice.Message, k.Email.Subject, k.Email.TLS)
	}
}

// TestCodesLoopbackPlaintext: the test-only switch allows http and tls
// none to literal loopback addresses, and nothing with a password in clear.
func TestCodesLoopbackPlaintext(t *testing.T) {
	f := newCodeFiles(t)
	mustLoad(t, oneClient+`
codes:
  allow_loopback_plaintext: true
  sms: {provider: webhook, webhook: {url: "http://[::1]:8080/sms"}}
  voice: {provider: twilio, twilio: {url: "http://127.0.0.1:8081", account_sid: AC1, auth_token_file: `+f.token+`, from: "+15550100"}}
  email: {host: 127.0.0.1, port: 2525, tls: none, from: mfa@example.com}
`)
	_, _, err := loadString(t, oneClient+`
codes:
  allow_loopback_plaintext: true
  email: {host: 127.0.0.1, tls: none, from: mfa@example.com, username: u, password_file: `+f.password+`}
`)
	wantErr(t, err, `codes.email.username: the password would cross in clear with tls "none"`)
	// notify's switch is not codes' switch.
	_, _, err = loadString(t, oneClient+`
notify: {allow_loopback_plaintext: true}
codes: {sms: {provider: webhook, webhook: {url: "http://127.0.0.1:8080/sms"}}}
`)
	wantErr(t, err, "codes.sms.webhook.url: must be an https:// URL (http:// only to a loopback address, with codes.allow_loopback_plaintext")
}
