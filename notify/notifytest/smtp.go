package notifytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPOptions shape a test SMTP server.
type SMTPOptions struct {
	// TLS is "starttls" (offered, with a certificate made for 127.0.0.1),
	// "tls" (implicit TLS) or "" / "none" (plain text only).
	TLS string
	// Username and Password, when set, are required (AUTH PLAIN, over TLS
	// only) before MAIL FROM.
	Username, Password string
	// RejectRcpt, when not 0, is the SMTP code every RCPT TO gets (e.g. 550).
	RejectRcpt int
}

// Mail is one message the server accepted.
type Mail struct {
	From     string // MAIL FROM
	To       []string
	TLS      bool   // the message came over TLS
	AuthUser string // who authenticated, "" if nobody
	Header   mail.Header
	Body     string // decoded from its Content-Transfer-Encoding
	Raw      []byte
}

// SMTPServer is a running test SMTP server on 127.0.0.1.
type SMTPServer struct {
	Host string // "127.0.0.1"
	Port int
	// RootCAs trusts the server's certificate (nil without TLS).
	RootCAs *x509.CertPool

	o    SMTPOptions
	mu   sync.Mutex
	got  []Mail
	more chan struct{} // signalled after each message
}

// StartSMTP runs a server until t ends.
func StartSMTP(t testing.TB, o SMTPOptions) *SMTPServer {
	t.Helper()
	s := &SMTPServer{Host: "127.0.0.1", o: o, more: make(chan struct{}, 1)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	var ln net.Listener
	var err error
	switch o.TLS {
	case "starttls", "tls":
		var cert tls.Certificate
		cert, s.RootCAs = loopbackCertificate(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if o.TLS == "tls" {
			ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
		} else {
			ln, err = net.Listen("tcp", "127.0.0.1:0")
		}
	case "", "none":
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		t.Fatalf("notifytest: unknown TLS mode %q", o.TLS)
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Addr is host:port.
func (s *SMTPServer) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Mails returns the messages received so far.
func (s *SMTPServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.got...)
}

// Wait waits up to d for at least n messages and returns them all; ok is
// false if fewer came.
func (s *SMTPServer) Wait(n int, d time.Duration) (mails []Mail, ok bool) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if got := s.Mails(); len(got) >= n {
			return got, true
		}
		select {
		case <-s.more:
		case <-deadline.C:
			got := s.Mails()
			return got, len(got) >= n
		}
	}
}

func (s *SMTPServer) add(m Mail) {
	s.mu.Lock()
	s.got = append(s.got, m)
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}
}

// session is one SMTP conversation; a new one starts at every EHLO.
type session struct {
	s        *SMTPServer
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.o.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != ss.s.o.Username || password != ss.s.o.Password {
			return errors.New("invalid credentials")
		}
		ss.authUser = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.o.Username != "" && ss.authUser == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.s.o.RejectRcpt != 0 {
		return &smtp.SMTPError{Code: ss.s.o.RejectRcpt, EnhancedCode: smtp.EnhancedCodeNotSet, Message: "recipient rejected"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Mail{From: ss.from, To: ss.to, AuthUser: ss.authUser, Raw: raw}
	_, m.TLS = ss.conn.TLSConnectionState()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	m.Header = msg.Header
	var body io.Reader = msg.Body
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	m.Body = string(text)
	ss.s.add(m)
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// loopbackCertificate makes a self-signed certificate for 127.0.0.1, ::1
// and localhost, and a pool that trusts it.
func loopbackCertificate(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "notifytest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
