package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// client builds a one-client file from the lines of the client's entry.
func client(lines ...string) string {
	return "radius:\n  clients:\n    - " + strings.Join(lines, "\n      ") + "\n"
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want string
	}{
		{"data_dir", "", []string{"RADIUSMFA_DATA_DIR="}, "data_dir: must not be empty"},
		{"log.level", "", []string{"RADIUSMFA_LOG_LEVEL=trace"}, `log.level: must be one of debug, info, warn, error, got "trace"`},
		{"log.format", "", []string{"RADIUSMFA_LOG_FORMAT=xml"}, `log.format: must be one of text, json, got "xml"`},
		{"ops.listen", "", []string{"RADIUSMFA_OPS_LISTEN=9812"}, `ops.listen: "9812" is not host:port`},
		{"audit.max_records", "", []string{"RADIUSMFA_AUDIT_MAX_RECORDS=-1"}, "audit.max_records: must not be negative"},
		{"ops.gc_percent", "", []string{"RADIUSMFA_OPS_GC_PERCENT=10"}, "ops.gc_percent: must be from 25 to 10000, got 10"},
		{"ops.gc_heap_mib", "", []string{"RADIUSMFA_OPS_GC_HEAP_MIB=8"}, "ops.gc_heap_mib: must be 0 (off) or from 16 to 1048576 (MiB), got 8"},
		{"web.listen", "", []string{"RADIUSMFA_WEB_LISTEN=8443"}, `web.listen: "8443" is not host:port`},
		{"web.listen clash", "", []string{"RADIUSMFA_WEB_LISTEN=127.0.0.1:9812"}, "web.listen: 127.0.0.1:9812 is also ops.listen"},
		{"web.cert_file", "web: {cert_file: /x}", nil, "web.cert_file: cert_file and key_file go together"},
		{"web.public_url http", "web: {public_url: \"http://vpn.example.com\"}", nil, `web.public_url: must be https://host[:port], got "http://vpn.example.com"`},
		{"web.public_url path", "web: {public_url: \"https://vpn.example.com/mfa\"}", nil, "web.public_url: must be an origin with no path"},
		{"web.public_url credentials", "web: {public_url: \"https://u:pw@vpn.example.com\"}", nil, "web.public_url: must be https://host[:port], with no credentials"},
		{"web.trusted_proxies", "web: {behind_proxy: true}", nil, "web.trusted_proxies: behind_proxy serves plain HTTP"},
		{"web.trusted_proxies entry", "web: {behind_proxy: true, trusted_proxies: [10.0.0.1/8]}", nil, `web.trusted_proxies[0]: "10.0.0.1/8" has host bits set`},
		{"web.behind_proxy with cert", "web: {behind_proxy: true, trusted_proxies: [10.0.0.1], cert_file: /c, key_file: /k}", nil, "web.behind_proxy: behind_proxy serves plain HTTP: cert_file and key_file would go unused"},
		{"audit.max_age", "", []string{"RADIUSMFA_AUDIT_MAX_AGE=-1h"}, "audit.max_age: must not be negative"},

		{"radius.listen empty", "", []string{"RADIUSMFA_RADIUS_LISTEN="}, "radius.listen: at least one address is required"},
		{"radius.listen no port", "radius: {listen: [127.0.0.1]}", nil, `radius.listen[0]: "127.0.0.1" is not host:port`},
		{"radius.listen bare IPv6", "radius: {listen: [\"::1:1812\"]}", nil, `radius.listen[0]: "::1:1812" is not host:port (write IPv6 addresses in brackets`},
		{"radius.listen port name", "radius: {listen: [\"127.0.0.1:radius\"]}", nil, "radius.listen[0]: \"127.0.0.1:radius\": port must be a number"},
		{"radius.listen port range", "radius: {listen: [\"127.0.0.1:65536\"]}", nil, "port must be a number from 0 to 65535"},
		{"radius.listen bad host", "radius: {listen: [\"bad_host!:1812\"]}", nil, "is neither an IP address nor a host name"},
		{"radius.listen IPv4 in brackets", "radius: {listen: [\"[127.0.0.1]:1812\"]}", nil, "in brackets is not an IPv6 address"},
		{"radius.accounting_listen", "radius: {accounting_listen: [\"x:y\"]}", nil, `radius.accounting_listen[0]: "x:y": port must be a number`},
		{"radius.listen duplicate", "radius: {listen: [\"127.0.0.1:1812\"], accounting_listen: [\"127.0.0.1:1812\"]}", nil,
			"radius.accounting_listen[0]: 127.0.0.1:1812 is already listed as radius.listen[0]"},
		{"radius.request_timeout", "", []string{"RADIUSMFA_RADIUS_REQUEST_TIMEOUT=0s"}, "radius.request_timeout: must be greater than zero"},
		{"radius.reply_cache_ttl", "", []string{"RADIUSMFA_RADIUS_REPLY_CACHE_TTL=-1s"}, "radius.reply_cache_ttl: must be greater than zero"},
		{"radius.unknown_client_log_interval", "", []string{"RADIUSMFA_RADIUS_UNKNOWN_CLIENT_LOG_INTERVAL=0"}, "radius.unknown_client_log_interval: must be greater than zero"},
		{"radius.max_in_flight", "", []string{"RADIUSMFA_RADIUS_MAX_IN_FLIGHT=0"}, "radius.max_in_flight: must be at least 1"},

		{"client name", client("networks: [127.0.0.1]", "secret: x"), nil, "radius.clients[0].name: is required"},
		{"client name unique", oneClient + "    - {name: localhost, networks: [10.0.0.1], secret: y}\n", nil,
			"radius.clients[1].name (localhost): is already used by radius.clients[0]"},
		{"client networks", client("name: a", "secret: x"), nil, "radius.clients[0].networks (a): at least one network is required"},
		{"client network syntax", client("name: a", "secret: x", "networks: [10.0.0.256]"), nil,
			`radius.clients[0].networks[0] (a): "10.0.0.256" is not a CIDR prefix or IP address`},
		{"client network prefix", client("name: a", "secret: x", "networks: [10.0.0.0/33]"), nil,
			`radius.clients[0].networks[0] (a): "10.0.0.0/33" is not a CIDR prefix`},
		{"client network host bits", client("name: a", "secret: x", "networks: [10.0.0.1/8]"), nil,
			`"10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)`},
		{"client network claimed twice", oneClient + "    - {name: b, networks: [127.0.0.1/32], secret: y}\n", nil,
			"radius.clients[1].networks[0] (b): 127.0.0.1/32 is already claimed by radius.clients[0]"},
		{"client secret", client("name: a", "networks: [127.0.0.1]"), nil, "radius.clients[0].secret (a): is required (or secret_file)"},
		{"client secret and file", client("name: a", "networks: [127.0.0.1]", "secret: x", "secret_file: /x"), nil,
			"radius.clients[0] (a): set secret or secret_file, not both"},
		{"client secret_file missing", client("name: a", "networks: [127.0.0.1]", "secret_file: /nonexistent/secret"), nil,
			"radius.clients[0].secret_file (a): stat /nonexistent/secret: no such file or directory"},
		{"client secret_file device", client("name: a", "networks: [127.0.0.1]", "secret_file: /dev/null"), nil,
			"radius.clients[0].secret_file (a): /dev/null is not a regular file"},
		{"client require_message_authenticator", client("name: a", "networks: [127.0.0.1]", "secret: x", "require_message_authenticator: maybe"), nil,
			`radius.clients[0].require_message_authenticator (a): must be one of true, auto, false, got "maybe"`},

		{"auth.delimiter empty", "auth: {delimiter: \"\"}", nil, `auth.delimiter: must be exactly one character, got ""`},
		{"auth.delimiter long", "auth: {delimiter: \"::\"}", nil, `auth.delimiter: must be exactly one character, got "::"`},
		{"auth.delimiter letter", "", []string{"RADIUSMFA_AUTH_DELIMITER=x"}, `auth.delimiter: must not be a letter, digit or control character, got "x"`},
		{"auth.delimiter digit", "auth: {delimiter: \"7\"}", nil, "auth.delimiter: must not be a letter, digit"},
		{"auth.enrollment_required", "", []string{"RADIUSMFA_AUTH_ENROLLMENT_REQUIRED=maybe"}, `auth.enrollment_required: must be one of reject, allow, got "maybe"`},
		{"auth.enforcement", "auth: {enforcement: on}", nil, `auth.enforcement: must be one of off, optional, required, got "on"`},
		{"push.contact", "push: {contact: admin@example.com}", nil, `push.contact: must be a "mailto:" or "https://" address`},
		{"number_matching", client("name: a", "networks: [127.0.0.1]", "secret: x", "number_matching: true"), nil,
			`radius.clients[0].number_matching (a): needs challenge: "challenge"`},
		{"push_timeout", client("name: a", "networks: [127.0.0.1]", "secret: x", "push_timeout: 1s"), nil,
			"radius.clients[0].push_timeout (a): must be from 5s to 5m, got 1s"},
		{"client request_timeout", client("name: a", "networks: [127.0.0.1]", "secret: x", "push_timeout: 30s", "request_timeout: 20s"), nil,
			"radius.clients[0].request_timeout (a): must be longer than push_timeout (30s), got 20s"},
		{"auth.challenge_timeout short", "", []string{"RADIUSMFA_AUTH_CHALLENGE_TIMEOUT=2s"}, "auth.challenge_timeout: must be from 5s to 10m, got 2s"},
		{"auth.challenge_timeout long", "", []string{"RADIUSMFA_AUTH_CHALLENGE_TIMEOUT=11m"}, "auth.challenge_timeout: must be from 5s to 10m, got 11m0s"},
		{"client challenge", client("name: a", "networks: [127.0.0.1]", "secret: x", "challenge: push"), nil,
			`radius.clients[0].challenge (a): must be one of auto, challenge, append-only, got "push"`},
		{"auth.enforcement twice", "auth: {enforcement: required, enrollment_required: reject}", nil,
			"auth.enrollment_required: is the older spelling of auth.enforcement: set only auth.enforcement"},
		{"web.admin_groups builtin", "web: {admin_groups: [vpn-admins]}", nil,
			"web.admin_groups: names directory groups, so it needs auth.directory: ldap"},
		{"web.admin_groups DN", "auth: {directory: ldap}\nldap: {servers: [\"ldaps://127.0.0.1\"], base_dn: \"dc=example,dc=org\", bind_dn: \"cn=svc\", bind_password: x}\nweb: {admin_groups: [\"cn=vpn-admins,ou=groups\"]}", nil,
			`web.admin_groups[0]: name the group by its name (cn), not its DN`},
		{"web.helpdesk_groups blank", "web: {helpdesk_groups: [\" \"]}", nil, "web.helpdesk_groups[0]: must name a group"},
		{"auth.lockout.threshold", "", []string{"RADIUSMFA_AUTH_LOCKOUT_THRESHOLD=-1"}, "auth.lockout.threshold: must not be negative"},
		{"auth.lockout.duration", "", []string{"RADIUSMFA_AUTH_LOCKOUT_DURATION=-5m"}, "auth.lockout.duration: must not be negative"},

		{"totp.issuer empty", "", []string{"RADIUSMFA_TOTP_ISSUER="}, "totp.issuer: must not be empty"},
		{"totp.issuer colon", "", []string{"RADIUSMFA_TOTP_ISSUER=Acme:VPN"}, "totp.issuer: must not contain a colon"},
		{"totp.digits", "", []string{"RADIUSMFA_TOTP_DIGITS=7"}, "totp.digits: must be 6 or 8, got 7"},
		{"totp.algorithm", "", []string{"RADIUSMFA_TOTP_ALGORITHM=MD5"}, `totp.algorithm: must be one of SHA1, SHA256, SHA512, got "MD5"`},
		{"totp.skew high", "", []string{"RADIUSMFA_TOTP_SKEW=11"}, "totp.skew: must be from 0 to 10 steps, got 11"},
		{"totp.skew negative", "", []string{"RADIUSMFA_TOTP_SKEW=-1"}, "totp.skew: must be from 0 to 10 steps, got -1"},

		{"argon2.time", "", []string{"RADIUSMFA_LOCALDIR_ARGON2_TIME=0"}, "localdir.argon2.time: must be at least 1"},
		{"argon2.threads", "", []string{"RADIUSMFA_LOCALDIR_ARGON2_THREADS=0"}, "localdir.argon2.threads: must be at least 1"},
		{"argon2.memory_kib floor", "", []string{"RADIUSMFA_LOCALDIR_ARGON2_MEMORY_KIB=7", "RADIUSMFA_LOCALDIR_ARGON2_THREADS=1"}, "localdir.argon2.memory_kib: must be at least 8 × threads (8), got 7"},
		{"argon2.memory_kib per thread", "", []string{"RADIUSMFA_LOCALDIR_ARGON2_MEMORY_KIB=1024", "RADIUSMFA_LOCALDIR_ARGON2_THREADS=255"},
			"localdir.argon2.memory_kib: must be at least 8 × threads (2040), got 1024"},
		{"max_concurrent_hashes", "", []string{"RADIUSMFA_LOCALDIR_MAX_CONCURRENT_HASHES=-2"}, "localdir.max_concurrent_hashes: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadString(t, tt.yaml, tt.env...)
			wantErr(t, err, tt.want)
		})
	}
}

func TestValidListenAddresses(t *testing.T) {
	for _, addr := range []string{
		"127.0.0.1:1812", "0.0.0.0:1812", "[::]:1812", "[::1]:1812", "[fe80::1%eth0]:1812",
		":1812", "localhost:1812", "radius.example.com:1812", "127.0.0.1:0", "127.0.0.1:65535",
	} {
		if _, err := parseListen(addr); err != nil {
			t.Errorf("parseListen(%q): %v", addr, err)
		}
	}
}

func TestPortZeroMayRepeat(t *testing.T) {
	mustLoad(t, "radius: {listen: [\"127.0.0.1:0\", \"127.0.0.1:0\"], accounting_listen: [\"127.0.0.1:0\"]}", clientEnv)
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte("a-secret-from-a-file-123\r\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg, warnings := mustLoad(t, client("name: a", "networks: [127.0.0.1]", "secret_file: "+path))
	if got := cfg.Radius.Clients[0].Secret; got != "a-secret-from-a-file-123" {
		t.Errorf("secret = %q", got)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings = %q", warnings)
	}
	// Validate reads the file again rather than objecting to both being set.
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate on a loaded config: %v", err)
	}

	_, _, err := loadString(t, client("name: a", "networks: [127.0.0.1]", "secret_file: "+empty))
	wantErr(t, err, "radius.clients[0].secret_file (a): "+empty+" is empty")

	_, _, err = loadString(t, client("name: a", "networks: [127.0.0.1]", "secret_file: "+dir))
	wantErr(t, err, "radius.clients[0].secret_file (a): "+dir+" is not a regular file")
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want string
	}{
		{"short secret", client("name: localhost", "networks: [127.0.0.1]", "secret: testing123"), nil,
			"radius.clients[0] (localhost): secret is shorter than 16 characters"},
		{"no message authenticator", client("name: old", "networks: [127.0.0.1]", "secret: a-secret-of-24-characters",
			"require_message_authenticator: false"), nil,
			"radius.clients[0] (old): require_message_authenticator is false, so this client is vulnerable to Blast-RADIUS (CVE-2024-3596)"},
		{"argon2 memory", oneClient, []string{"RADIUSMFA_LOCALDIR_ARGON2_MEMORY_KIB=8192"},
			"localdir.argon2.memory_kib: 8192 is below OWASP's minimum of 19456"},
		{"enrollment allowed", oneClient, []string{"RADIUSMFA_AUTH_ENROLLMENT_REQUIRED=allow"}, "auth.enrollment_required:"},
		{"lockout off", oneClient, []string{"RADIUSMFA_AUTH_LOCKOUT_THRESHOLD=0"}, "auth.lockout.threshold: 0 disables lockout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warnings := mustLoad(t, tt.yaml, tt.env...)
			if len(warnings) != 1 || !strings.Contains(warnings[0], tt.want) {
				t.Errorf("warnings = %q, want exactly one mentioning %q", warnings, tt.want)
			}
		})
	}
}

func TestValidateOnDefaultAndBuiltConfig(t *testing.T) {
	cfg := Default()
	cfg.Radius.Clients = []ClientConfig{{
		Name: "a", Networks: []string{"::ffff:192.0.2.1"}, Secret: "s", RequireMessageAuthenticator: "true",
	}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if got := cfg.Radius.Clients[0].Networks[0]; got != "192.0.2.1/32" {
		t.Errorf("Validate left network %q, want 192.0.2.1/32", got)
	}
	cfg.Radius.Clients = nil
	wantErr(t, cfg.Validate(), "radius.clients: at least one client is required")
	cfg.Radius.Clients = []ClientConfig{{
		Name: "a", Networks: []string{"192.0.2.1"}, Secret: "s", RequireMessageAuthenticator: "true",
	}}
	cfg.TOTP.Digits = 5
	cfg.Radius.MaxInFlight = 0
	err := cfg.Validate()
	wantErr(t, err, "totp.digits", "radius.max_in_flight")
}

func TestEnrollMessage(t *testing.T) {
	tests := []struct {
		name    string
		message string
		want    string // "" when valid
	}{
		{"default-like", "Two-factor enrollment required: visit https://mfa.example.com/enroll", ""},
		{"non-ASCII", "Zwei-Faktor-Anmeldung nötig — café ✓", ""},
		{"empty", "", ""},
		{"exactly 1000 bytes", strings.Repeat("é", 500), ""},
		{"1001 bytes", strings.Repeat("a", 1001), "auth.enroll_message: must be at most 1000 bytes, got 1001"},
		{"invalid UTF-8", "enrol\xff now", "auth.enroll_message: must be valid UTF-8"},
		{"line feed", "line one\nline two", "auth.enroll_message: must not contain control characters (line breaks, tabs, NUL…), found U+000A at byte 8"},
		{"carriage return", "enrol\r", "found U+000D at byte 5"},
		{"NUL", "\x00enrol", "found U+0000 at byte 0"},
		{"tab", "enrol\there", "found U+0009"},
		{"C1 control", "enrol\u0085", "found U+0085"},
		{"DEL", "enrol\x7f", "found U+007F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadString(t, oneClient, "RADIUSMFA_AUTH_ENROLL_MESSAGE="+tt.message)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			wantErr(t, err, tt.want)
		})
	}
}

func TestPathsMustDiffer(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		want []string // "" when valid
	}{
		{"defaults", nil, nil},
		{"all explicit", []string{"RADIUSMFA_STORE_PATH=/srv/db", "RADIUSMFA_STORE_MASTER_KEY_FILE=/etc/k", "RADIUSMFA_ADMIN_SOCKET=/run/s"}, nil},
		{"socket on the master key", []string{"RADIUSMFA_ADMIN_SOCKET=var/master.key"},
			[]string{"admin.socket: is the same file as store.master_key_file (" + filepath.Join(cwd, "var", "master.key") + ")"}},
		{"unclean path", []string{"RADIUSMFA_STORE_PATH=./var/../var//admin.sock"},
			[]string{"admin.socket: is the same file as store.path"}},
		{"relative and absolute", []string{"RADIUSMFA_STORE_MASTER_KEY_FILE=" + filepath.Join(cwd, "var", "radiusmfa.db")},
			[]string{"store.master_key_file: is the same file as store.path"}},
		{"data_dir spelling", []string{"RADIUSMFA_DATA_DIR=/srv/mfa/", "RADIUSMFA_STORE_PATH=/srv/mfa/./master.key"},
			[]string{"store.master_key_file: is the same file as store.path (/srv/mfa/master.key)"}},
		{"all three", []string{"RADIUSMFA_STORE_PATH=/x", "RADIUSMFA_STORE_MASTER_KEY_FILE=/x", "RADIUSMFA_ADMIN_SOCKET=/x/"},
			[]string{"store.master_key_file: is the same file as store.path (/x)", "admin.socket: is the same file as store.path (/x)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadString(t, oneClient, tt.env...)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			wantErr(t, err, tt.want...)
		})
	}
}

func TestAuthMode(t *testing.T) {
	for _, c := range []struct {
		yaml, want string
	}{
		{"\n", "off"},
		{"\nauth: {enforcement: Optional}", "optional"},
		{"\nauth: {enrollment_required: reject}", "required"},
		{"\nauth: {enrollment_required: allow}", "optional"},
	} {
		cfg, _ := mustLoad(t, oneClient+c.yaml)
		if got := cfg.Auth.Mode(); got != c.want {
			t.Errorf("%q: Mode() = %q, want %q", c.yaml, got, c.want)
		}
	}
}
