package enrollment

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Config is the typed configuration of the site's listener.
type Config struct {
	Addr string // host:port; port 0 picks a free one
	// Certificate serves HTTPS; it is ignored with BehindProxy.
	Certificate Certificate
	// BehindProxy serves plain HTTP to TrustedProxies only.
	BehindProxy    bool
	TrustedProxies []netip.Prefix
	// PublicURL, https://host[:port], is the origin of pairing links and
	// ntfy approval links; "" uses each request's Host.
	PublicURL string
}

// Site is the running enrollment site.
type Site struct {
	srv *http.Server
	ln  net.Listener
	url string
}

//go:embed assets
var assets embed.FS

var templates = template.Must(template.ParseFS(assets, "assets/*.html"))

// Start listens on cfg.Addr and serves until Close.
func Start(cfg Config, deps Deps, log *slog.Logger) (*Site, error) {
	if cfg.BehindProxy && len(cfg.TrustedProxies) == 0 {
		return nil, errors.New("enrollment: behind_proxy needs trusted proxies")
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("enrollment: %w", err)
	}
	scheme := "https"
	if cfg.BehindProxy {
		scheme = "http"
	} else {
		ln = tls.NewListener(ln, &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{cfg.Certificate.TLS},
		})
	}
	s := &Site{ln: ln, url: scheme + "://" + ln.Addr().String() + "/"}
	s.srv = &http.Server{
		Handler:           Handler(cfg, deps, log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("enrollment site stopped", slog.Any("err", err))
		}
	}()
	return s, nil
}

// URL is the site's address as it listens (with the real port).
func (s *Site) URL() string { return s.url }

// Close stops the site, letting requests in flight finish until ctx ends.
func (s *Site) Close(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

// Handler is the site's whole handler chain: the proxy gate (with
// BehindProxy), security headers, cross-origin protection, then the routes.
func Handler(cfg Config, deps Deps, log *slog.Logger) http.Handler {
	if deps.Delimiter == "" {
		deps.Delimiter = ","
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	p := &pages{deps: deps, sessions: newSessions(deps.Now), limit: newRateLimiter(deps.Now),
		pairs: &pairTokens{m: map[[32]byte]pairToken{}}, log: log, publicURL: cfg.PublicURL}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.landing)
	if deps.Auth != nil && deps.Admin != nil {
		mux.HandleFunc("GET /signin", p.signinForm)
		mux.HandleFunc("POST /signin", p.signin)
		mux.HandleFunc("GET /me", p.me)
		mux.HandleFunc("POST /signout", p.signout)
		mux.HandleFunc("GET /enroll", p.enrollForm)
		mux.HandleFunc("POST /enroll", p.enrollConfirm)
		p.contactRoutes(mux)
		p.accountRoutes(mux)
		p.consoleRoutes(mux)
		p.apiRoutes(mux)
		p.approverRoutes(mux)
		// A change made by someone else that takes something from a user
		// (a disabled phone, a lock, a lost role) ends their sessions: each
		// was granted for what the user had then.
		deps.Admin.OnAccessReduced(func(user string, bySelf bool) {
			if !bySelf {
				p.sessions.endUser(user, [32]byte{})
			}
		})
	}
	mux.Handle("GET /assets/", http.FileServerFS(assets))
	var h http.Handler = mux
	h = http.NewCrossOriginProtection().Handler(h)
	h = securityHeaders(h, !cfg.BehindProxy)
	if cfg.BehindProxy {
		h = proxyGate(h, cfg.TrustedProxies, log)
	}
	return h
}

// contentSecurityPolicy allows the site's own scripts, styles and images
// only: no inline script, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(next http.Handler, tlsDirect bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), geolocation=(), microphone=(), payment=()")
		h.Set("Cache-Control", "no-store")
		if tlsDirect {
			// Behind a proxy, HSTS is the proxy's to send.
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// proxyGate serves only connections from trusted proxies, and takes the
// client's address from X-Forwarded-For: the rightmost address that is not
// itself a trusted proxy (anything left of it may be forged by the client).
func proxyGate(next http.Handler, trusted []netip.Prefix, log *slog.Logger) http.Handler {
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !isTrusted(peer.Addr()) {
			// Debug, not Warn: anyone who can connect could flood the log.
			log.Debug("enrollment: refused a connection that is not from a trusted proxy", slog.String("peer", r.RemoteAddr))
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		client := peer.Addr()
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := hopAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // garbage from here leftwards: keep what was proven
			}
			client = a
			if !isTrusted(a) {
				break
			}
		}
		r2 := r.Clone(r.Context())
		r2.RemoteAddr = netip.AddrPortFrom(client.Unmap(), 0).String()
		next.ServeHTTP(w, r2)
	})
}

// hopAddr reads one X-Forwarded-For entry: an address, or an address with
// a port (some proxies write "203.0.113.5:4711" or "[2001:db8::1]:4711").
func hopAddr(h string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a, nil
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr(), nil
	}
	return netip.ParseAddr(strings.Trim(h, "[]"))
}
