package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"time"

	gomail "github.com/wneessen/go-mail"

	"radiusmfa/internal/mailer"
)

// DefaultSMTPTimeout bounds one message's conversation with the server
// when ctx sets no earlier deadline.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPOptions configure an SMTP provider.
type SMTPOptions struct {
	// Server is how the server is reached: host, port, TLS, AUTH, as for
	// the admins' notifications.
	Server mailer.Options
	// From is the sender's address, in the envelope and the header.
	From string
	// Timeout bounds one message (default DefaultSMTPTimeout).
	Timeout time.Duration
}

// SMTP mails codes, through the same client settings as the admins'
// notifications (internal/mailer).
type SMTP struct {
	server  mailer.Options
	from    string
	timeout time.Duration
}

var _ Provider = (*SMTP)(nil)

// NewSMTP checks o and returns its provider.
func NewSMTP(o SMTPOptions) (*SMTP, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultSMTPTimeout
	}
	server := o.Server
	var errs []error
	for _, err := range server.Check() {
		errs = append(errs, fmt.Errorf("smtp: %w", err))
	}
	if _, err := mail.ParseAddress(o.From); err != nil {
		errs = append(errs, fmt.Errorf("smtp: from: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &SMTP{server: server, from: o.From, timeout: o.Timeout}, nil
}

func (s *SMTP) Name() string { return "smtp" }

// Send mails m to m.To: m.Text as text/plain and, when m.HTML is set, with
// it as the text/html alternative. A 5xx answer from the server wraps
// ErrRefused. The server's words are quoted, cleared of the code: it may
// echo what it was sent.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := checkMessage("smtp", m, Email); err != nil {
		return err
	}
	if a, err := mail.ParseAddress(m.To); err != nil || a.Name != "" || a.Address != m.To {
		return fail(nil, "smtp: the destination is not a bare address")
	}
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fail(nil, "smtp: from: %s", quote(err.Error(), m))
	}
	if err := msg.To(m.To); err != nil {
		return fail(nil, "smtp: to: %s", quote(err.Error(), m))
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	c, err := mailer.Client(ctx, s.server)
	if err != nil {
		return fail(nil, "smtp: %s", quote(err.Error(), m))
	}
	err = c.DialAndSendWithContext(ctx, msg)
	switch {
	case err == nil:
		return nil
	case mailer.Refused(err):
		return refused("smtp: %s refused the message: %s", s.server.Addr(), quote(err.Error(), m))
	case ctx.Err() != nil:
		return fail(ctx.Err(), "smtp: %s: %s", s.server.Addr(), quote(err.Error(), m))
	}
	return fail(nil, "smtp: %s: %s", s.server.Addr(), quote(err.Error(), m))
}
