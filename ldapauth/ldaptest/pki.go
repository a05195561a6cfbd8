package ldaptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is a throw-away certificate authority with one server and one client
// certificate, written as PEM files because slapd and samba read files.
type pki struct {
	caFile         string
	certFile       string // server certificate
	keyFile        string // server key, mode 0600 (samba refuses a readable key)
	clientCertFile string
	clientKeyFile  string
	pool           *x509.CertPool
}

// loopbackIPs are the server certificate's IP SANs: clients dial the
// servers by address, and Go checks IP SANs for an IP ServerName.
var loopbackIPs = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}

// writePKI generates the CA, a server certificate for the loopback
// addresses and dnsNames, and a client certificate, all ECDSA P-256 (fast to
// generate, and both GnuTLS builds accept it), into dir.
func writePKI(dir, caName string, dnsNames []string) (*pki, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: caName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	p := &pki{
		caFile:         filepath.Join(dir, "ca.crt"),
		certFile:       filepath.Join(dir, "server.crt"),
		keyFile:        filepath.Join(dir, "server.key"),
		clientCertFile: filepath.Join(dir, "client.crt"),
		clientKeyFile:  filepath.Join(dir, "client.key"),
		pool:           x509.NewCertPool(),
	}
	p.pool.AddCert(ca)
	if err := writePEM(p.caFile, "CERTIFICATE", caDER, 0o644); err != nil {
		return nil, err
	}
	server := &x509.Certificate{
		Subject:     pkix.Name{CommonName: dnsNames[0]},
		DNSNames:    dnsNames,
		IPAddresses: loopbackIPs,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if err := issue(server, ca, caKey, p.certFile, p.keyFile); err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	client := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "ldaptest client"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if err := issue(client, ca, caKey, p.clientCertFile, p.clientKeyFile); err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	return p, nil
}

// issue signs tmpl with the CA and writes the certificate and a new key.
func issue(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey, certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = ca.NotBefore
	tmpl.NotAfter = ca.NotAfter
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePEM(certFile, "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	return writePEM(keyFile, "PRIVATE KEY", keyDER, 0o600)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

func writePEM(name, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

// tlsConfig trusts only the test CA and names host as the server: crypto/tls
// fills ServerName in from the address when dialing ldaps://, but a StartTLS
// upgrade of an open connection needs it set.
func (p *pki) tlsConfig(host string) *tls.Config {
	return &tls.Config{RootCAs: p.pool, ServerName: host, MinVersion: tls.VersionTLS12}
}
