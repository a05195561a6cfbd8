package notify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/mail"

	gomail "github.com/wneessen/go-mail"

	"radiusmfa/internal/mailer"
)

// Ways an Email reaches its SMTP server.
const (
	TLSStartTLS = mailer.TLSStartTLS // plain connection upgraded by STARTTLS, which must succeed
	TLSImplicit = mailer.TLSImplicit // TLS from the first byte (SMTPS)
	TLSNone     = mailer.TLSNone     // plain text: only to a loopback host, for tests
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
	var errs []error
	mo := o.server()
	for _, err := range mo.Check() {
		errs = append(errs, fmt.Errorf("email: %w", err))
	}
	o.TLS, o.Port = mo.TLS, mo.Port
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

	mo := e.o.server()
	c, err := mailer.Client(ctx, mo)
	if err != nil {
		return Permanent(fmt.Errorf("email: %w", err))
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		err = fmt.Errorf("email via %s: %w", mo.Addr(), err)
		if mailer.Refused(err) {
			return Permanent(err)
		}
		return err
	}
	return nil
}

// server is the part of o that says how to reach the SMTP server.
func (o EmailOptions) server() mailer.Options {
	return mailer.Options{Host: o.Host, Port: o.Port, TLS: o.TLS, AllowLoopbackPlaintext: o.AllowLoopbackPlaintext,
		Username: o.Username, Password: o.Password, RootCAs: o.RootCAs}
}
