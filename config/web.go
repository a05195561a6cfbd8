package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// validateWeb checks the enrollment site's listener. Trusted proxies are
// normalised to CIDR prefixes, like client networks.
func (c *Config) validateWeb(p *problems) {
	w := &c.Web
	if w.Listen != "" {
		if _, err := parseListen(w.Listen); err != nil {
			p.addf("web.listen", "%v", err)
		}
		if w.Listen == c.Ops.Listen && !strings.HasSuffix(w.Listen, ":0") {
			p.addf("web.listen", "%s is also ops.listen", w.Listen)
		}
	}
	if w.PublicURL != "" {
		if err := checkOrigin(w.PublicURL); err != nil {
			p.addf("web.public_url", "%v", err)
		} else {
			w.PublicURL = strings.TrimSuffix(w.PublicURL, "/")
		}
	}
	if (w.CertFile == "") != (w.KeyFile == "") {
		p.addf("web.cert_file", "cert_file and key_file go together")
	}
	if w.BehindProxy && len(w.TrustedProxies) == 0 {
		p.addf("web.trusted_proxies", "behind_proxy serves plain HTTP: list the proxies' addresses it may come from")
	}
	if w.BehindProxy && w.CertFile != "" {
		p.addf("web.behind_proxy", "behind_proxy serves plain HTTP: cert_file and key_file would go unused")
	}
	for i, s := range w.TrustedProxies {
		n, err := parseNetwork(s)
		if err != nil {
			p.addf(fmt.Sprintf("web.trusted_proxies[%d]", i), "%v", err)
			continue
		}
		w.TrustedProxies[i] = n.String()
	}
	for _, g := range []struct {
		key   string
		names []string
	}{{"web.admin_groups", w.AdminGroups}, {"web.helpdesk_groups", w.HelpdeskGroups}} {
		for i, n := range g.names {
			switch {
			case strings.TrimSpace(n) == "":
				p.addf(fmt.Sprintf("%s[%d]", g.key, i), "must name a group")
			case strings.Contains(n, "="):
				// Roles are matched against group names: a DN would match
				// nothing, and silently leave the console without admins.
				p.addf(fmt.Sprintf("%s[%d]", g.key, i), "name the group by its name (cn), not its DN, got %q", n)
			}
		}
		if len(g.names) > 0 && c.Auth.Directory != "ldap" {
			p.addf(g.key, "names directory groups, so it needs auth.directory: ldap (built-in users get roles with `radiusmfa user roles`)")
		}
	}
}

// validatePush checks the push section.
func (c *Config) validatePush(p *problems) {
	ct := c.Push.Contact
	if c.Push.Enabled && !strings.HasPrefix(ct, "mailto:") && !strings.HasPrefix(ct, "https://") {
		p.addf("push.contact", `must be a "mailto:" or "https://" address push services can write to, got %q`, ct)
	}
	if c.Push.Enabled {
		c.validateNtfy(p)
	}
}

// checkOrigin accepts an https origin: https://host[:port], no credentials,
// path, query or fragment. A value holding credentials is not echoed.
func checkOrigin(raw string) error {
	if strings.Contains(raw, "@") {
		return errors.New("must be https://host[:port], with no credentials")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Scheme != "https" || u.Hostname() == "" || u.Opaque != "":
		return fmt.Errorf("must be https://host[:port], got %q", raw)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Errorf("must be an origin with no path, query or fragment, got %q", raw)
	}
	return nil
}
