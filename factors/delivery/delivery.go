package delivery

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Channel is how a code reaches the user.
type Channel string

// The channels.
const (
	SMS   Channel = "sms"
	Voice Channel = "voice"
	Email Channel = "email"
)

// Message is one code to deliver. Text is the whole text message, the
// plain-text email body, or for Voice the words to read out.
type Message struct {
	Channel Channel
	To      string // E.164 number ("+15855550123") for SMS/Voice; a bare address for Email
	Code    string // the code alone (for templates); secret: never in an error or a log
	Text    string
	Subject string // Email
	HTML    string // Email, optional: sent as multipart/alternative with Text
}

// Provider delivers messages of the channels it serves.
type Provider interface {
	Send(ctx context.Context, m Message) error // nil once the provider accepted it
	Name() string                              // "twilio", "webhook", "command", "smtp" (metrics label)
}

// ErrRefused is wrapped by the errors of a provider that answered and
// said no to the message (an HTTP 4xx but 408 and 429, an SMTP 5xx): the
// same message sent again would be refused again, so a caller should not
// retry it.
var ErrRefused = errors.New("delivery refused")

// Invariant: the text of an error a Provider returns holds neither
// m.Code nor m.Text, nor a URL's path, query or credentials. Errors wrap
// only causes that cannot hold them (context errors, ErrRefused, network
// and TLS errors stripped of their URL). (TestInvariantErrorsHoldNoCode,
// and a test per provider)

// failure is a provider's error: msg is already cleared of the code, and
// cause is nil or an error that cannot hold it.
type failure struct {
	msg   string
	cause error
}

func (f *failure) Error() string { return f.msg }
func (f *failure) Unwrap() error { return f.cause }

// fail builds a failure from a format without %w; cause, which may be
// nil, is wrapped and not quoted.
func fail(cause error, format string, args ...any) error {
	return &failure{msg: fmt.Sprintf(format, args...), cause: cause}
}

// refused is fail wrapping ErrRefused.
func refused(format string, args ...any) error {
	return fail(ErrRefused, format, args...)
}

// maxQuote bounds what an error quotes from the far side.
const maxQuote = 200

// quote makes text from outside (a response body, stderr) fit for an
// error: the message's text and the code cleared, on one line, and cut to
// about maxQuote bytes.
func quote(s string, m Message) string {
	s = redact(s, m)
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	if len(s) <= maxQuote {
		return s
	}
	cut := maxQuote
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// redact replaces m.Text, m.To and m.Code in s: a destination is logged
// only masked, by the caller. The number is also found without its +
// (Twilio's errors, a gateway's stderr), an address in any case (go-mail
// lists the recipients a server refused). The code is also found spread
// out, as a voice message or an echoing server may write it ("1 2 3 4 5
// 6", "123-456"): its characters with up to three others between each.
func redact(s string, m Message) string {
	if m.Text != "" {
		s = strings.ReplaceAll(s, m.Text, "[message]")
	}
	if to := strings.TrimPrefix(m.To, "+"); len(to) >= 3 {
		s = regexp.MustCompile(`(?i)\+?`+regexp.QuoteMeta(to)).ReplaceAllString(s, "[to]")
	}
	if m.Code == "" {
		return s
	}
	var p strings.Builder
	for i, r := range m.Code {
		if i > 0 {
			p.WriteString(`[^\pL\pN]{0,3}`)
		}
		p.WriteString(regexp.QuoteMeta(string(r)))
	}
	return regexp.MustCompile(p.String()).ReplaceAllString(s, "[code]")
}

// checkMessage refuses what no provider can send: a channel other than
// the provider's, or nothing to say. Its errors name no field's value.
func checkMessage(name string, m Message, serves ...Channel) error {
	ok := false
	for _, c := range serves {
		ok = ok || m.Channel == c
	}
	switch {
	case !ok:
		return fail(nil, "%s: cannot send over channel %q", name, quote(string(m.Channel), m))
	case m.To == "":
		return fail(nil, "%s: no destination", name)
	case m.Text == "":
		return fail(nil, "%s: empty message", name)
	}
	return nil
}
