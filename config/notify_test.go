package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNotifyDefaults(t *testing.T) {
	cfg, warnings := mustLoad(t, oneClient)
	n := cfg.Notify
	if !slices.Equal(n.Events, []string{"push_reported", "push_suspended", "login_reported"}) {
		t.Errorf("notify.events = %v, want all three", n.Events)
	}
	if n.Webhook.URL != "" || n.Email.Host != "" || n.AllowLoopbackPlaintext {
		t.Errorf("a channel or the test switch is on by default: %+v", n)
	}
	if n.Email.TLS != "starttls" || n.Email.Port != 0 {
		t.Errorf("notify.email tls %q port %d, want starttls and 0", n.Email.TLS, n.Email.Port)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings %q", warnings)
	}
}

func TestNotifyLoads(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "hook.key")
	password := filepath.Join(dir, "smtp.pw")
	for _, f := range []string{secret, password} {
		if err := os.WriteFile(f, []byte("value-of-"+filepath.Base(f)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, _ := mustLoad(t, oneClient+`
notify:
  events: [PUSH_REPORTED, login_reported]
  webhook:
    url: https://hooks.example.com/services/T0KEN
    secret_file: `+secret+`
  email:
    host: smtp.example.com
    port: 465
    tls: TLS
    username: radiusmfa
    password_file: `+password+`
    from: "radiusmfa <mfa@example.com>"
    to: [vpn-admins@example.com, soc@example.com]
`)
	n := cfg.Notify
	if !slices.Equal(n.Events, []string{"push_reported", "login_reported"}) || n.Email.TLS != "tls" {
		t.Errorf("not normalised: events %v, tls %q", n.Events, n.Email.TLS)
	}
	if n.Email.Port != 465 || len(n.Email.To) != 2 || n.Webhook.SecretFile != secret {
		t.Errorf("notify %+v", n)
	}
	if got, err := ReadSecretFile(n.Email.PasswordFile); err != nil || got != "value-of-smtp.pw" {
		t.Errorf("ReadSecretFile = %q, %v", got, err)
	}

	// Every key has its variable; lists take commas.
	cfg, _ = mustLoad(t, oneClient, "RADIUSMFA_NOTIFY_EMAIL_HOST=127.0.0.1", "RADIUSMFA_NOTIFY_EMAIL_TLS=none",
		"RADIUSMFA_NOTIFY_EMAIL_PORT=2525", "RADIUSMFA_NOTIFY_EMAIL_FROM=mfa@example.com",
		"RADIUSMFA_NOTIFY_EMAIL_TO=a@example.com,b@example.com", "RADIUSMFA_NOTIFY_ALLOW_LOOPBACK_PLAINTEXT=true",
		"RADIUSMFA_NOTIFY_WEBHOOK_URL=http://127.0.0.1:8080/hook", "RADIUSMFA_NOTIFY_EVENTS=push_suspended")
	n = cfg.Notify
	if n.Email.Port != 2525 || !slices.Equal(n.Email.To, []string{"a@example.com", "b@example.com"}) ||
		!n.AllowLoopbackPlaintext || n.Webhook.URL != "http://127.0.0.1:8080/hook" || !slices.Equal(n.Events, []string{"push_suspended"}) {
		t.Errorf("from the environment: %+v", n)
	}
}

func TestNotifyValidation(t *testing.T) {
	email := func(lines ...string) string {
		return oneClient + "notify:\n  email:\n    " + strings.Join(lines, "\n    ") + "\n"
	}
	okEmail := []string{"host: smtp.example.com", "from: mfa@example.com", "to: [a@example.com]"}
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"event", oneClient + "notify: {events: [push_reported, push_denied]}", `notify.events[1]: must be one of push_reported, push_suspended, login_reported, got "push_denied"`},
		{"no events", oneClient + "notify: {events: [], webhook: {url: \"https://h.example.com/x\"}}", "notify.events: lists no event"},
		{"http url", oneClient + "notify: {webhook: {url: \"http://hooks.example.com/T0KEN\"}}", "notify.webhook.url: must be an https:// URL (http:// only to a loopback address"},
		{"http loopback without switch", oneClient + "notify: {webhook: {url: \"http://127.0.0.1:9/x\"}}", "notify.webhook.url: must be an https:// URL"},
		{"http localhost", oneClient + "notify: {allow_loopback_plaintext: true, webhook: {url: \"http://localhost:9/x\"}}", "notify.webhook.url: must be an https:// URL"},
		{"url scheme", oneClient + "notify: {webhook: {url: \"ftp://h.example.com/x\"}}", `notify.webhook.url: must be an https:// URL, got scheme "ftp"`},
		{"url host", oneClient + "notify: {webhook: {url: \"https:///x\"}}", "notify.webhook.url: must be an https:// URL with a host"},
		{"secret without url", oneClient + "notify: {webhook: {secret_file: /x}}", "notify.webhook.secret_file: is set but notify.webhook.url is not"},
		{"secret missing", oneClient + "notify: {webhook: {url: \"https://h.example.com/\", secret_file: /nonexistent/key}}", "notify.webhook.secret_file: stat /nonexistent/key"},
		{"email without host", oneClient + "notify: {email: {to: [a@example.com]}}", "notify.email.host: must be set"},
		{"email tls", email(append(okEmail, "tls: ssl")...), `notify.email.tls: must be one of starttls, tls, none, got "ssl"`},
		{"email none remote", email(append(okEmail, "tls: none")...), `notify.email.tls: "none" sends mail in clear`},
		{"email none no switch", email("host: 127.0.0.1", "from: mfa@example.com", "to: [a@example.com]", "tls: none"), `notify.email.tls: "none" sends mail in clear`},
		{"email port", email(append(okEmail, "port: 70000")...), "notify.email.port: must be from"},
		{"email from", email("host: smtp.example.com", "from: radiusmfa", "to: [a@example.com]"), `notify.email.from: must be an email address, got "radiusmfa"`},
		{"email no to", email("host: smtp.example.com", "from: mfa@example.com"), "notify.email.to: at least one address is required"},
		{"email bad to", email("host: smtp.example.com", "from: mfa@example.com", "to: [a@example.com, admins]"), `notify.email.to[1]: must be an email address, got "admins"`},
		{"email username alone", email(append(okEmail, "username: mfa")...), "notify.email.username: username and password_file go together"},
		{"email password missing", email(append(okEmail, "username: mfa", "password_file: /nonexistent/pw")...), "notify.email.password_file: stat /nonexistent/pw"},
		{"unknown key", oneClient + "notify: {email: {hots: x}}", `notify.email.hots: unknown key (did you mean "host"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadString(t, tt.yaml)
			wantErr(t, err, tt.want)
			if err != nil && strings.Contains(err.Error(), "T0KEN") {
				t.Errorf("the error repeats the webhook URL: %v", err)
			}
		})
	}
}

// TestNotifyLoopbackPlaintext: the test-only switch allows http and tls
// none to literal loopback addresses, and nothing with a password in clear.
func TestNotifyLoopbackPlaintext(t *testing.T) {
	mustLoad(t, oneClient+`
notify:
  allow_loopback_plaintext: true
  webhook: {url: "http://[::1]:8080/hook"}
  email: {host: 127.0.0.1, port: 2525, tls: none, from: mfa@example.com, to: [a@example.com]}
`)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := loadString(t, oneClient+`
notify:
  allow_loopback_plaintext: true
  email: {host: 127.0.0.1, tls: none, from: mfa@example.com, to: [a@example.com], username: u, password_file: `+pw+`}
`)
	wantErr(t, err, `notify.email.username: the password would cross in clear with tls "none"`)
}
