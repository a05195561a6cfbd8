package ldapauth

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// ServerCheck is the result of checking one server: connection, TLS, the
// service account and the base DN.
type ServerCheck struct {
	Server  string
	TLS     string // protocol, cipher suite and verified certificate; "" for plaintext
	Bind    string // what the service account check found
	BaseDN  string // what the base DN check found
	Elapsed time.Duration
	Err     error // the first step that failed; nil when all passed
}

// Check connects to every server on a new connection (never a pooled one)
// and reports each step, for `radiusmfa ldap check`.
func (d *Directory) Check(ctx context.Context) []ServerCheck {
	out := make([]ServerCheck, 0, len(d.servers))
	for _, s := range d.servers {
		out = append(out, d.checkServer(ctx, s))
	}
	return out
}

func (d *Directory) checkServer(ctx context.Context, s *server) (r ServerCheck) {
	r.Server = s.url
	start := time.Now()
	defer func() { r.Elapsed = time.Since(start) }()
	c, err := s.dial(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	defer c.Close()
	if st, ok := c.TLSConnectionState(); ok {
		r.TLS = describeTLS(st, s.tls.ServerName)
	}
	if d.cfg.BindDN == "" {
		r.Bind = "none configured: users bind directly through " + d.cfg.BindTemplate
		r.BaseDN = "not checked (no service account to search with)"
		return r
	}
	if err := d.svcBind(ctx, c); err != nil {
		r.Err = err
		return r
	}
	r.Bind = "bound as " + d.cfg.BindDN
	e, err := d.search(ctx, c, d.cfg.BaseDN, ldap.ScopeBaseObject, "(objectClass=*)", []string{"objectClass"}, 1)
	switch {
	case err != nil:
		r.Err = fmt.Errorf("reading base_dn %s: %w", d.cfg.BaseDN, err)
	case e == nil:
		r.Err = fmt.Errorf("base_dn %s: no such entry, or the service account may not read it", d.cfg.BaseDN)
	default:
		r.BaseDN = "found " + e.DN
	}
	return r
}

// describeTLS names the protocol, suite and certificate; name is the name
// verified (Go sends no SNI for an IP address, so st has none then).
func describeTLS(st tls.ConnectionState, name string) string {
	s := tls.VersionName(st.Version) + ", " + tls.CipherSuiteName(st.CipherSuite)
	if len(st.PeerCertificates) > 0 {
		cert := st.PeerCertificates[0]
		s += fmt.Sprintf(", certificate %q verified for %s (expires %s)", cert.Subject.String(), name,
			cert.NotAfter.Format("2006-01-02"))
	}
	return s
}
