package integration

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEnrollmentSiteTLS: without configured files the server makes a
// self-signed certificate on first run, logs its fingerprint, serves the
// site over HTTPS with it, and keeps it across restarts.
func TestEnrollmentSiteTLS(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	url := s.webURL(t)
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("ready line web=%q, want an https URL on loopback", url)
	}
	certPEM, err := os.ReadFile(filepath.Join(s.dataDir, "web.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(s.dataDir, "web.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("web.key: %v, %v; want mode 0600", fi, err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("web.crt holds no PEM certificate")
	}
	sum := sha256.Sum256(block.Bytes)
	fp := strings.ToUpper(strings.Join(strings.Split(fmt.Sprintf("% x", sum[:]), " "), ":"))
	if !strings.Contains(s.logs.String(), fp) {
		s.fatalf(t, "the log does not name the certificate's fingerprint %s", fp)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	get := func(url string) (*http.Response, string) {
		t.Helper()
		roots := x509.NewCertPool()
		roots.AddCert(cert)
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
		resp, err := c.Get(url)
		if err != nil {
			s.fatalf(t, "GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resp, body := get(url)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "radiusmfa enrollment") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		s.fatalf(t, "GET %s: %d %v\n%s", url, resp.StatusCode, resp.Header, body)
	}

	s.restart(t)
	if resp, _ := get(s.webURL(t)); resp.StatusCode != http.StatusOK {
		t.Fatalf("after a restart: %d", resp.StatusCode)
	}
	if again, _ := os.ReadFile(filepath.Join(s.dataDir, "web.crt")); string(again) != string(certPEM) {
		t.Error("a restart made a new certificate")
	}
}

func (s *server) webURL(t *testing.T) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr.Web == "" {
		s.fatalf(t, "the ready line named no web URL")
	}
	return s.addr.Web
}
