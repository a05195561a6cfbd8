package enrollment

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSelfSignedCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	c, err := LoadCertificate("", "", dir, []string{"vpn.example.test", "192.0.2.7", "0.0.0.0"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !c.SelfSigned || !c.Created || len(c.Fingerprint) != 32*3-1 {
		t.Fatalf("first start: %+v", c)
	}
	leaf := c.TLS.Leaf
	if !slices.Contains(leaf.DNSNames, "vpn.example.test") || !slices.Contains(leaf.DNSNames, "localhost") {
		t.Errorf("DNS names %v", leaf.DNSNames)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if !slices.Contains(ips, "127.0.0.1") || !slices.Contains(ips, "::1") || !slices.Contains(ips, "192.0.2.7") || slices.Contains(ips, "0.0.0.0") {
		t.Errorf("IP addresses %v", ips)
	}
	if fi, err := os.Stat(filepath.Join(dir, selfKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi.Mode(), err)
	}
	again, err := LoadCertificate("", "", dir, nil, now)
	if err != nil || again.Created || again.Fingerprint != c.Fingerprint {
		t.Fatalf("second start made another certificate (%+v, %v)", again, err)
	}
	renewed, err := LoadCertificate("", "", dir, nil, now.Add(selfValidity+time.Hour))
	if err != nil || !renewed.Created || renewed.Fingerprint == c.Fingerprint {
		t.Fatalf("an expired certificate was not replaced (%+v, %v)", renewed, err)
	}
	// Configured files are used as they are.
	files, err := LoadCertificate(filepath.Join(dir, selfCertFile), filepath.Join(dir, selfKeyFile), "/nonexistent", nil, now)
	if err != nil || files.SelfSigned || files.Fingerprint != renewed.Fingerprint {
		t.Fatalf("configured files: %+v, %v", files, err)
	}
	if _, err := LoadCertificate(filepath.Join(dir, "nope.crt"), filepath.Join(dir, "nope.key"), dir, nil, now); err == nil {
		t.Error("missing configured files were not an error")
	}
	if err := os.WriteFile(filepath.Join(dir, selfKeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCertificate("", "", dir, nil, now); err == nil || !strings.Contains(err.Error(), "delete both files") {
		t.Errorf("a damaged key file: %v, want an error saying what to do", err)
	}
}

func TestSiteOverHTTPS(t *testing.T) {
	cert, err := LoadCertificate("", "", t.TempDir(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	site, err := Start(Config{Addr: "127.0.0.1:0", Certificate: cert}, Deps{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close(context.Background())
	if !strings.HasPrefix(site.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL %q", site.URL())
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert.TLS.Leaf)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 10 * time.Second}

	resp, err := client.Get(site.URL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "radiusmfa enrollment") {
		t.Fatalf("GET /: %d\n%s", resp.StatusCode, body)
	}
	for name, want := range map[string]string{
		"Content-Security-Policy":   contentSecurityPolicy,
		"Strict-Transport-Security": "max-age=31536000",
		"X-Content-Type-Options":    "nosniff",
		"X-Frame-Options":           "DENY",
		"Referrer-Policy":           "no-referrer",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	css, err := client.Get(site.URL() + "assets/site.css")
	if err != nil {
		t.Fatal(err)
	}
	css.Body.Close()
	if css.StatusCode != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %q", css.StatusCode, css.Header.Get("Content-Type"))
	}
	if r, err := client.Get(site.URL() + "no-such-page"); err != nil || r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown page: %v %v", r.StatusCode, err)
	}

	// A cross-site form post is refused before any handler runs.
	req, _ := http.NewRequest(http.MethodPost, site.URL(), strings.NewReader("a=b"))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r, err := client.Do(req); err != nil || r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %v %v, want 403", r.StatusCode, err)
	}

	// Plain HTTP to the TLS port gets no page.
	if r, err := http.Get(strings.Replace(site.URL(), "https://", "http://", 1)); err == nil && r.StatusCode == http.StatusOK {
		t.Error("the site answered plain HTTP")
	}
}

func TestProxyGate(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	var seen string
	h := proxyGate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr }),
		trusted, slog.New(slog.DiscardHandler))
	for _, c := range []struct {
		peer, xff string
		code      int
		client    string
	}{
		{"192.0.2.1:5000", "", http.StatusForbidden, ""},
		{"192.0.2.1:5000", "10.0.0.1", http.StatusForbidden, ""}, // a forged header does not make a proxy
		{"10.1.2.3:5000", "", http.StatusOK, "10.1.2.3:0"},
		{"10.1.2.3:5000", "203.0.113.9", http.StatusOK, "203.0.113.9:0"},
		// The client may prepend anything: the rightmost untrusted hop counts.
		{"10.1.2.3:5000", "198.51.100.1, 203.0.113.9, 10.0.0.7", http.StatusOK, "203.0.113.9:0"},
		{"[::1]:5000", "2001:db8::5", http.StatusOK, "[2001:db8::5]:0"},
		{"10.1.2.3:5000", "garbage, 10.0.0.7", http.StatusOK, "10.0.0.7:0"},
		// Some proxies write ports.
		{"10.1.2.3:5000", "203.0.113.9:4711", http.StatusOK, "203.0.113.9:0"},
		{"10.1.2.3:5000", "[2001:db8::7]:4711", http.StatusOK, "[2001:db8::7]:0"},
	} {
		seen = ""
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.code || seen != c.client {
			t.Errorf("peer %s, X-Forwarded-For %q: %d, client %q; want %d, %q", c.peer, c.xff, w.Code, seen, c.code, c.client)
		}
	}
	// Behind a proxy the site sends no HSTS (the proxy's to send).
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.2:1"
	Handler(Config{BehindProxy: true, TrustedProxies: trusted}, Deps{}, slog.New(slog.DiscardHandler)).ServeHTTP(w, r)
	if w.Code != http.StatusOK || w.Header().Get("Strict-Transport-Security") != "" || w.Header().Get("Content-Security-Policy") == "" {
		t.Errorf("behind a proxy: %d, headers %v", w.Code, w.Header())
	}
}
