package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// validateNtfy checks push.ntfy: a URL ntfy can be reached at, a readable
// token file, a priority ntfy knows. The token itself is never shown.
func (c *Config) validateNtfy(p *problems) {
	n := c.Push.Ntfy
	if n.Priority != 0 && (n.Priority < 1 || n.Priority > 5) {
		p.addf("push.ntfy.priority", "must be from 1 (min) to 5 (max), got %d", n.Priority)
	}
	if n.URL == "" {
		if n.TokenFile != "" {
			p.addf("push.ntfy.token_file", "is set but push.ntfy.url is empty: set the ntfy server's URL, or remove the token file")
		}
		return
	}
	if err := checkNtfyURL(n.URL, c.Push.AllowLoopbackHTTPEndpoints); err != nil {
		p.addf("push.ntfy.url", "%v", err)
	}
	if n.TokenFile != "" {
		if _, err := n.Token(); err != nil {
			p.addf("push.ntfy.token_file", "%v", err)
		}
	}
}

// checkNtfyURL accepts https://host[:port] with no path, query, fragment or
// credentials, and http only to a literal loopback address when allowed.
func checkNtfyURL(raw string, allowLoopbackHTTP bool) error {
	u, err := url.Parse(raw)
	switch {
	case strings.Contains(raw, "@") || err == nil && u.User != nil:
		// The value is not shown, parsed or not: it may hold a password.
		return errors.New("must not hold credentials: put an access token in push.ntfy.token_file")
	case err != nil || u.Opaque != "" || u.Hostname() == "":
		return fmt.Errorf("must be the ntfy server's base URL, https://host[:port], got %q", raw)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Errorf("must have no path, query or fragment (ntfy is served at the root of its host), got %q", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && allowLoopbackHTTP && ntfyLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("must be https, got %q (plain http only to a loopback address, with push.allow_loopback_http_endpoints, for tests)", raw)
	}
	return fmt.Errorf("must be an https:// URL, got %q", raw)
}

// ntfyLoopback reports a literal loopback address ("localhost" is not one).
func ntfyLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Token reads the access token from TokenFile ("" without one): one line
// of printable ASCII without spaces, as ntfy's tokens are. Errors never
// hold the token.
func (n NtfyConfig) Token() (string, error) {
	if n.TokenFile == "" {
		return "", nil
	}
	tok, err := readSecretFile(n.TokenFile)
	if err != nil {
		return "", err
	}
	if strings.IndexFunc(tok, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		return "", fmt.Errorf("%s must hold one access token: no spaces, line breaks or non-ASCII", n.TokenFile)
	}
	return tok, nil
}
