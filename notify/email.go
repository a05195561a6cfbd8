package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Ways an Email reaches its SMTP server.
const (
	TLSStartTLS = "starttls" // plain connection upgraded by STARTTLS, which must succeed
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS)
	TLSNone     = "none"     // plain text: only to a loopback host, for tests
)

// EmailOptions configure an Email.
type EmailOptions struct {
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
	From               string
	To                 []string
	// RootCAs, when set, replaces the system's roots for the server's
	// certificate (tests).
	RootCAs *x509.CertPool
}

// Email sends each event as a plain-text mail over SMTP.
type Email struct {
	o EmailOptions
}

var _ Channel = (*Email)(nil)

// NewEmail checks o and returns its channel.
func NewEmail(o EmailOptions) (*Email, error) {
	if o.TLS == "" {
		o.TLS = TLSStartTLS
	}
	var errs []error
	if o.Host == "" {
		errs = append(errs, errors.New("email: no SMTP host"))
	}
	switch o.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !o.AllowLoopbackPlaintext || !IsLoopback(o.Host) {
			errs = append(errs, errors.New("email: tls none only to a loopback address, with allow_loopback_plaintext"))
		}
		if o.Username != "" {
			errs = append(errs, errors.New("email: no authentication without TLS"))
		}
	default:
		errs = append(errs, fmt.Errorf("email: tls must be %s, %s or %s, got %q", TLSStartTLS, TLSImplicit, TLSNone, o.TLS))
	}
	if o.Port == 0 {
		o.Port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[o.TLS]
	}
	if o.Port < 0 || o.Port > 65535 {
		errs = append(errs, fmt.Errorf("email: port %d out of range", o.Port))
	}
	if _, err := mail.ParseAddress(o.From); err != nil {
		errs = append(errs, fmt.Errorf("email: from: %w", err))
	}
	if len(o.To) == 0 {
		errs = append(errs, errors.New("email: no recipient"))
	}
	for _, to := range o.To {
		if _, err := mail.ParseAddress(to); err != nil {
			errs = append(errs, fmt.Errorf("email: to %q: %w", to, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Email{o: o}, nil
}

func (e *Email) Name() string { return "email" }

// Send mails ev to every recipient in one message. An answer of the 5xx
// class to the message is permanent; the rest (connection, TLS, 4xx) may be
// retried.
func (e *Email) Send(ctx context.Context, ev Event) error {
	msg := gomail.NewMsg()
	if err := msg.From(e.o.From); err != nil {
		return Permanent(err)
	}
	if err := msg.To(e.o.To...); err != nil {
		return Permanent(err)
	}
	msg.Subject("radiusmfa: " + ev.Summary())
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, ev.Text())

	c, err := gomail.NewClient(e.o.Host, e.clientOptions(ctx)...)
	if err != nil {
		return Permanent(fmt.Errorf("email: %w", err))
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		err = fmt.Errorf("email via %s: %w", e.addr(), err)
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 {
			return Permanent(err)
		}
		return err
	}
	return nil
}

func (e *Email) clientOptions(ctx context.Context) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(e.o.Port),
		gomail.WithTLSConfig(&tls.Config{ServerName: e.o.Host, RootCAs: e.o.RootCAs, MinVersion: tls.VersionTLS12}),
	}
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left > 0 {
			opts = append(opts, gomail.WithTimeout(left))
		}
	}
	switch e.o.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if e.o.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(e.o.Username), gomail.WithPassword(e.o.Password))
	}
	return opts
}

func (e *Email) addr() string {
	return net.JoinHostPort(e.o.Host, strconv.Itoa(e.o.Port))
}
