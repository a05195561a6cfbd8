package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPushNtfy: off by default; a URL turns it on, from the file or the
// environment; each bad value is an error naming its key.
func TestPushNtfy(t *testing.T) {
	cfg, _ := mustLoad(t, oneClient)
	if cfg.Push.Ntfy != (NtfyConfig{}) {
		t.Errorf("push.ntfy is %+v by default", cfg.Push.Ntfy)
	}
	tokenFile := filepath.Join(t.TempDir(), "ntfy.token")
	if err := os.WriteFile(tokenFile, []byte("tk_abcdefghijklmnopqrstuvwxyz123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ = mustLoad(t, oneClient+"push:\n  ntfy:\n    url: https://ntfy.example.com\n    token_file: "+tokenFile+"\n    priority: 5\n")
	if n := cfg.Push.Ntfy; n.URL != "https://ntfy.example.com" || n.TokenFile != tokenFile || n.Priority != 5 {
		t.Errorf("push.ntfy = %+v", n)
	}
	if tok, err := cfg.Push.Ntfy.Token(); err != nil || tok != "tk_abcdefghijklmnopqrstuvwxyz123" {
		t.Errorf("Token() = %q, %v", tok, err)
	}
	cfg, _ = mustLoad(t, oneClient, "RADIUSMFA_PUSH_NTFY_URL=https://ntfy.example.com:8443/")
	if cfg.Push.Ntfy.URL != "https://ntfy.example.com:8443/" {
		t.Errorf("RADIUSMFA_PUSH_NTFY_URL gave %q", cfg.Push.Ntfy.URL)
	}
	if tok, err := cfg.Push.Ntfy.Token(); tok != "" || err != nil {
		t.Errorf("Token() without a file = %q, %v", tok, err)
	}
	// http to loopback only with the test switch.
	mustLoad(t, oneClient+"push:\n  allow_loopback_http_endpoints: true\n  ntfy:\n    url: http://127.0.0.1:8080\n")
	// Push off: the section is not checked.
	mustLoad(t, oneClient+"push:\n  enabled: false\n  ntfy:\n    url: http://ntfy.example.com\n")

	badToken := filepath.Join(t.TempDir(), "bad.token")
	if err := os.WriteFile(badToken, []byte("tk_secret part\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ yaml, want string }{
		"http":              {"url: http://ntfy.example.com", "push.ntfy.url: must be https"},
		"http loopback off": {"url: http://127.0.0.1:8080", "push.ntfy.url: must be https"},
		"a path":            {"url: https://example.com/ntfy", "push.ntfy.url: must have no path"},
		"a query":           {"url: https://ntfy.example.com/?a=b", "push.ntfy.url: must have no path"},
		"no host":           {"url: https://", "push.ntfy.url: must be the ntfy server's base URL"},
		"not a URL":         {"url: ntfy.example.com", "push.ntfy.url: must be the ntfy server's base URL"},
		"ftp":               {"url: ftp://ntfy.example.com", "push.ntfy.url: must be an https:// URL"},
		"credentials":       {"url: https://phil:hunter22@ntfy.example.com", "push.ntfy.url: must not hold credentials"},
		"bad credentials":   {"url: https://phil:hunter22%zz@ntfy.example.com", "push.ntfy.url: must not hold credentials"},
		"priority":          {"url: https://ntfy.example.com\n    priority: 6", "push.ntfy.priority: must be from 1 (min) to 5 (max), got 6"},
		"priority text":     {"url: https://ntfy.example.com\n    priority: high", "push.ntfy.priority: expected an integer"},
		"token, no url":     {"token_file: " + tokenFile, "push.ntfy.token_file: is set but push.ntfy.url is empty"},
		"missing token":     {"url: https://ntfy.example.com\n    token_file: /nonexistent/ntfy.token", "push.ntfy.token_file: "},
		"token with space":  {"url: https://ntfy.example.com\n    token_file: " + badToken, "push.ntfy.token_file: " + badToken + " must hold one access token"},
		"unknown key":       {"url: https://ntfy.example.com\n    topic: alerts", "push.ntfy.topic: unknown key"},
	} {
		_, _, err := loadString(t, oneClient+"push:\n  ntfy:\n    "+c.yaml+"\n")
		if err == nil {
			t.Errorf("%s: loaded", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want %q", name, err, c.want)
		}
		if strings.Contains(err.Error(), "hunter22") || strings.Contains(err.Error(), "secret part") {
			t.Errorf("%s: the error shows a secret: %v", name, err)
		}
	}
}
