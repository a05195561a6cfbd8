package enrollment

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Self-signed certificate files inside the data directory.
const (
	selfCertFile = "web.crt"
	selfKeyFile  = "web.key"
	// selfValidity is how long a generated certificate lasts; a new one is
	// made on the first start after it expired.
	selfValidity = 2 * 365 * 24 * time.Hour
)

// Certificate is the site's certificate and how it came to be.
type Certificate struct {
	TLS         tls.Certificate
	Fingerprint string // SHA-256 of the leaf, hex pairs joined by colons
	SelfSigned  bool
	Created     bool // made by this start
	CertFile    string
}

// LoadCertificate reads certFile and keyFile when set; otherwise it reads
// the self-signed certificate kept in dataDir, making one (for hosts, plus
// localhost and the loopback addresses) when there is none or it expired.
func LoadCertificate(certFile, keyFile, dataDir string, hosts []string, now time.Time) (Certificate, error) {
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return Certificate{}, fmt.Errorf("enrollment: web.cert_file/key_file: %w", err)
		}
		return Certificate{TLS: c, Fingerprint: fingerprint(c.Certificate[0]), CertFile: certFile}, nil
	}
	certFile, keyFile = filepath.Join(dataDir, selfCertFile), filepath.Join(dataDir, selfKeyFile)
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err == nil && c.Leaf != nil && now.Before(c.Leaf.NotAfter) {
		return Certificate{TLS: c, Fingerprint: fingerprint(c.Certificate[0]), SelfSigned: true, CertFile: certFile}, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Certificate{}, fmt.Errorf("enrollment: %s: %w (delete both files to have a new one made)", certFile, err)
	}
	c, err = makeSelfSigned(certFile, keyFile, hosts, now)
	if err != nil {
		return Certificate{}, err
	}
	return Certificate{TLS: c, Fingerprint: fingerprint(c.Certificate[0]), SelfSigned: true, Created: true, CertFile: certFile}, nil
}

func makeSelfSigned(certFile, keyFile string, hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "radiusmfa enrollment (self-signed)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	seen := map[string]bool{}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
		h = strings.Trim(h, "[]")
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
			continue
		}
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	// The key first and 0600: a certificate without its key is useless,
	// a key readable by others is a leak.
	if err := writeFileAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.LoadX509KeyPair(certFile, keyFile)
}

// writeFileAtomic writes through a temporary file and a rename, so a crash
// leaves the old file or the new one, never half of one.
func writeFileAtomic(name string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name))
	if err != nil {
		return fmt.Errorf("enrollment: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err == nil {
		_, err = tmp.Write(data)
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), name)
		}
		if err != nil {
			return fmt.Errorf("enrollment: writing %s: %w", name, err)
		}
		return nil
	}
	tmp.Close()
	return fmt.Errorf("enrollment: chmod %s: %w", tmp.Name(), err)
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
