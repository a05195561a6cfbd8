// Package mailer holds what every sender of mail here shares: how the SMTP
// server is reached (STARTTLS, implicit TLS or, to loopback only, none),
// how those settings are checked, and the go-mail client built from them.
// The admins' notifications (notify) and the one-time codes
// (factors/delivery) send through it, so both keep the same rules: TLS is
// mandatory away from loopback and a password never crosses in clear.
package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Ways to reach an SMTP server.
const (
	TLSStartTLS = "starttls" // plain connection upgraded by STARTTLS, which must succeed
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS)
	TLSNone     = "none"     // plain text: only to a loopback host, for tests
)

// Options say how to reach and log in to an SMTP server.
type Options struct {
	Host string
	// Port defaults to 587 with TLSStartTLS, 465 with TLSImplicit, 25 with
	// TLSNone.
	Port int
	// TLS is TLSStartTLS (default), TLSImplicit or TLSNone; TLSNone needs
	// AllowLoopbackPlaintext and a literal loopback Host.
	TLS                    string
	AllowLoopbackPlaintext bool
	// Username and Password authenticate (SMTP AUTH, the strongest
	// mechanism both sides know) when Username is set; never over TLSNone.
	Username, Password string
	// RootCAs, when set, replaces the system's roots for the server's
	// certificate (tests).
	RootCAs *x509.CertPool
}

// Check fills in the defaults of TLS and Port and returns every problem,
// one error each and without a prefix, for the caller to name itself.
func (o *Options) Check() []error {
	if o.TLS == "" {
		o.TLS = TLSStartTLS
	}
	var errs []error
	if o.Host == "" {
		errs = append(errs, errors.New("no SMTP host"))
	}
	switch o.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !o.AllowLoopbackPlaintext || !IsLoopback(o.Host) {
			errs = append(errs, errors.New("tls none only to a loopback address, with allow_loopback_plaintext"))
		}
		if o.Username != "" {
			errs = append(errs, errors.New("no authentication without TLS"))
		}
	default:
		errs = append(errs, fmt.Errorf("tls must be %s, %s or %s, got %q", TLSStartTLS, TLSImplicit, TLSNone, o.TLS))
	}
	if o.Port == 0 {
		o.Port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[o.TLS]
	}
	if o.Port < 0 || o.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d out of range", o.Port))
	}
	return errs
}

// Client returns a go-mail client for o, which Check has passed. It
// gives up at ctx's deadline when there is one (go-mail's own timeout
// otherwise); sending with a context still needs DialAndSendWithContext.
func Client(ctx context.Context, o Options) (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(o.Port),
		gomail.WithTLSConfig(&tls.Config{ServerName: o.Host, RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}),
	}
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left > 0 {
			opts = append(opts, gomail.WithTimeout(left))
		}
	}
	switch o.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		// Check refuses it; a caller that skipped Check gets no plain text.
		return nil, fmt.Errorf("unknown tls mode %q", o.TLS)
	}
	if o.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(o.Username), gomail.WithPassword(o.Password))
	}
	return gomail.NewClient(o.Host, opts...)
}

// Addr is the server's host:port, for messages.
func (o Options) Addr() string {
	return net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
}

// Refused reports whether err is the server's answer of the 5xx class: a
// permanent refusal that a retry would only repeat.
func Refused(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.ErrorCode() >= 500
}

// IsLoopback reports a literal loopback address (127.0.0.0/8, ::1). Names,
// even "localhost", do not count: what they resolve to is not ours to
// promise.
func IsLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
