package otc

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"log/slog"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"radiusmfa/auth"
	"radiusmfa/factors"
	"radiusmfa/factors/delivery"
	"radiusmfa/factors/email"
	"radiusmfa/factors/phone"
	"radiusmfa/store"
)

// Default texts of the messages, Go templates of MessageData.
const (
	DefaultSMSMessage   = "Your {{.Issuer}} code is {{.Code}}. It expires in {{.Minutes}} minutes."
	DefaultVoiceMessage = "Your {{.Issuer}} code is {{.Spoken}}."
	DefaultEmailSubject = "Your {{.Issuer}} sign-in code"
)

// Store is the part of the store a Sender needs.
type Store interface {
	Updater
	AddEnrollment(ctx context.Context, e store.Enrollment) error
	DeleteEnrollment(ctx context.Context, user, id string) error
}

// SenderOptions configure a Sender. Zero fields take the defaults.
type SenderOptions struct {
	Codes  Options // digits, lifetime, clock, randomness
	Issuer string  // the service's name in messages (default "radiusmfa")
	// Providers deliver the codes of each kind (auth.KindSMS, KindVoice,
	// KindEmail); a kind without one is off.
	Providers map[string]delivery.Provider
	// SMSMessage, VoiceMessage and EmailSubject are Go templates of
	// MessageData ("": the defaults).
	SMSMessage, VoiceMessage, EmailSubject string
	// PerUser codes may be sent to one user in Window (default 5 in 15
	// minutes); HourlyBudget codes in an hour by the whole server (0: no
	// budget).
	PerUser      int
	Window       time.Duration
	HourlyBudget int
	// Directory says which of a directory's contact details are trusted
	// as destinations; PhoneRules read its phone numbers.
	Directory  DirectoryOptions
	PhoneRules phone.Rules
	Log        *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are not registered
}

// MessageData is what a message template may use.
type MessageData struct {
	Code    string // "123456"
	Spoken  string // "1, 2, 3, 4, 5, 6", for calls
	Issuer  string
	Minutes int // the code's lifetime
}

// Sender sends the codes of the devices of the kinds it has providers
// for, within its rate limits, and checks the codes sent to a phone or
// address being added. It is the engine's auth.CodeSender.
type Sender struct {
	st        Store
	o         SenderOptions
	codes     map[string]*Codes
	templates map[string]*template.Template // kind → message (email: subject)
	limits    *limits
	log       *slog.Logger
	m         senderMetrics
}

type senderMetrics struct {
	sent, failed, limited *prometheus.CounterVec
}

var _ auth.CodeSender = (*Sender)(nil)

// NewSender checks o and returns its Sender.
func NewSender(st Store, o SenderOptions) (*Sender, error) {
	o.Issuer = cmp.Or(o.Issuer, "radiusmfa")
	if o.PerUser == 0 {
		o.PerUser = 5
	}
	if o.Window <= 0 {
		o.Window = 15 * time.Minute
	}
	if o.PerUser < 0 || o.HourlyBudget < 0 {
		return nil, errors.New("otc: negative rate limit")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Sender{st: st, o: o, codes: map[string]*Codes{}, templates: map[string]*template.Template{},
		limits: &limits{perUser: o.PerUser, window: o.Window, budget: o.HourlyBudget, users: map[string]*userSends{}},
		log:    o.Log}
	texts := map[string]string{auth.KindSMS: cmp.Or(o.SMSMessage, DefaultSMSMessage),
		auth.KindVoice: cmp.Or(o.VoiceMessage, DefaultVoiceMessage), auth.KindEmail: cmp.Or(o.EmailSubject, DefaultEmailSubject)}
	for kind, p := range o.Providers {
		if !auth.IsSentKind(kind) || p == nil {
			return nil, fmt.Errorf("otc: no sent codes of kind %q", kind)
		}
		c, err := New(st, kind, o.Codes)
		if err != nil {
			return nil, err
		}
		t, err := template.New(kind).Option("missingkey=error").Parse(texts[kind])
		if err != nil {
			return nil, fmt.Errorf("otc: the %s message: %w", kind, err)
		}
		if err := t.Execute(io.Discard, MessageData{}); err != nil {
			return nil, fmt.Errorf("otc: the %s message: %w", kind, err)
		}
		s.codes[kind], s.templates[kind] = c, t
	}
	s.m = senderMetrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "radiusmfa_codes_sent_total",
			Help: "One-time codes handed to a delivery provider, by channel and provider."}, []string{"channel", "provider"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "radiusmfa_codes_send_failures_total",
			Help: "One-time codes a delivery provider failed to take, by channel and provider."}, []string{"channel", "provider"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "radiusmfa_codes_limited_total",
			Help: "Sends refused by a rate limit: limit is user (per user and window) or budget (the server's hourly budget)."}, []string{"channel", "limit"}),
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{s.m.sent, s.m.failed, s.m.limited} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Factors are the Factors that check the codes of the kinds s sends.
func (s *Sender) Factors() []factors.Factor {
	var out []factors.Factor
	for _, k := range auth.SentKinds() {
		if c := s.codes[k]; c != nil {
			out = append(out, c)
		}
	}
	return out
}

// Sends reports whether s sends codes of kind.
func (s *Sender) Sends(kind string) bool { return s.codes[kind] != nil }

// SendCode implements auth.CodeSender: a new code for en, within the rate
// limits, handed to the provider of en's kind. A failure is logged and
// counted here; its error never holds the code.
func (s *Sender) SendCode(ctx context.Context, en store.Enrollment) (auth.SentCode, error) {
	c := s.codes[en.Kind]
	if c == nil {
		return auth.SentCode{}, fmt.Errorf("otc: no codes of kind %q are sent", en.Kind)
	}
	dest, err := Destination(en)
	if err != nil {
		return auth.SentCode{}, err
	}
	if err := s.take(en.User, en.Kind); err != nil {
		return auth.SentCode{}, err
	}
	code, expires, err := c.Issue(ctx, en.User, en.ID)
	if err != nil {
		s.limits.giveBack(en.User)
		return auth.SentCode{}, err
	}
	if err := s.deliver(ctx, en.User, en.Kind, dest, code); err != nil {
		return auth.SentCode{}, err
	}
	return auth.SentCode{To: sentTo(en.Kind, dest), Expires: expires}, nil
}

// take counts a send toward the limits, or refuses it with an error
// wrapping auth.ErrCodeLimited.
func (s *Sender) take(user, kind string) error {
	if le := s.limits.take(user, s.o.Codes.now()); le != nil {
		s.m.limited.WithLabelValues(kind, le.which).Inc()
		s.log.Warn("code not sent: rate limit", "user", user, "channel", kind, "limit", le.which, "until", le.until)
		return fmt.Errorf("%w: %w", auth.ErrCodeLimited, le)
	}
	return nil
}

// deliver hands code to the provider of kind; a failure gives the user's
// share of the limit back, and is logged, counted, and returned wrapping
// auth.ErrCodeNotSent.
func (s *Sender) deliver(ctx context.Context, user, kind, dest, code string) error {
	p := s.o.Providers[kind]
	m, err := s.message(kind, dest, code)
	if err != nil {
		s.limits.giveBack(user)
		return err
	}
	if err := p.Send(ctx, m); err != nil {
		if !errors.Is(err, delivery.ErrRefused) {
			// Down or slow: the user may try again once it is back. A
			// refusal (a number the provider will not text) keeps its
			// place, or one user could spend the hourly budget.
			s.limits.giveBack(user)
		}
		s.m.failed.WithLabelValues(kind, p.Name()).Inc()
		s.log.Warn("code not sent: the delivery provider failed", "user", user, "channel", kind,
			"provider", p.Name(), "to", Mask(kind, dest), "err", err)
		return fmt.Errorf("%w: %s via %s: %w", auth.ErrCodeNotSent, kind, p.Name(), err)
	}
	s.m.sent.WithLabelValues(kind, p.Name()).Inc()
	s.log.Info("code sent", "user", user, "channel", kind, "provider", p.Name(), "to", Mask(kind, dest))
	return nil
}

// message is what carries code to dest.
func (s *Sender) message(kind, dest, code string) (delivery.Message, error) {
	data := MessageData{Code: code, Spoken: Spoken(code), Issuer: s.o.Issuer, Minutes: int(s.codes[kind].o.TTL / time.Minute)}
	var b bytes.Buffer
	if err := s.templates[kind].Execute(&b, data); err != nil {
		return delivery.Message{}, fmt.Errorf("otc: the %s message: %w", kind, err)
	}
	m := delivery.Message{Channel: delivery.Channel(kind), To: dest, Code: code, Text: b.String()}
	if kind == auth.KindEmail {
		m.Subject = strings.Join(strings.Fields(b.String()), " ") // one line
		var text, html bytes.Buffer
		if err := emailText.Execute(&text, data); err != nil {
			return delivery.Message{}, err
		}
		if err := emailHTML.Execute(&html, data); err != nil {
			return delivery.Message{}, err
		}
		m.Text, m.HTML = text.String(), html.String()
	}
	return m, nil
}

// The body of a code's email.
var (
	emailText = template.Must(template.New("text").Parse(`Your {{.Issuer}} sign-in code is:

    {{.Code}}

It works once, for {{.Minutes}} minutes.

If you did not just try to sign in, someone else may know your password:
change it, and tell your administrator.
`))
	emailHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html><body style="font-family: sans-serif">
<p>Your {{.Issuer}} sign-in code is:</p>
<p style="font-size: 2em; font-family: monospace; letter-spacing: 0.2em"><strong>{{.Code}}</strong></p>
<p>It works once, for {{.Minutes}} minutes.</p>
<p>If you did not just try to sign in, someone else may know your password:
change it, and tell your administrator.</p>
</body></html>
`))
)

// Describe implements auth.CodeSender: "Text message to •••-•••-3816".
func (s *Sender) Describe(en store.Enrollment) string {
	dest, err := Destination(en)
	if err != nil {
		dest = "?"
	}
	switch en.Kind {
	case auth.KindSMS:
		return "Text message to " + Mask(en.Kind, dest)
	case auth.KindVoice:
		return "Phone call to " + Mask(en.Kind, dest)
	}
	return "Email to " + Mask(en.Kind, dest)
}

// sentTo says where a code went, to follow "A code was sent".
func sentTo(kind, dest string) string { return By(kind) + " to " + Mask(kind, dest) }

// By names how the codes of kind travel: "by text message".
func By(kind string) string {
	switch kind {
	case auth.KindSMS:
		return "by text message"
	case auth.KindVoice:
		return "by phone call"
	}
	return "by email"
}

// Mask hides most of dest, where codes of kind go, for menus, replies,
// listings and logs: "•••-•••-3816", "cki•••@example.com".
func Mask(kind, dest string) string {
	if kind == auth.KindEmail {
		return email.Mask(dest)
	}
	return phone.Number(dest).Mask()
}

// Spoken spells a code out for a call, digit by digit with pauses.
func Spoken(code string) string {
	return strings.Join(strings.Split(code, ""), ", ")
}

// now is the options' clock.
func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// Proof is a code sent to a phone or address being added, and the device
// to store once the user enters it. It lives in the user's session, never
// in the store.
type Proof struct {
	Enrollment store.Enrollment
	To         string // where the code went: "by text message to •••-•••-3816"
	Expires    time.Time
	tag        uint64
}

// SendProof sends a code to destination (checked by the caller), which
// user is adding as a device of kind, within the rate limits.
func (s *Sender) SendProof(ctx context.Context, user, kind, destination, label string) (*Proof, error) {
	c := s.codes[kind]
	if c == nil {
		return nil, fmt.Errorf("otc: no codes of kind %q are sent", kind)
	}
	en, err := s.newEnrollment(user, kind, label, destination)
	if err != nil {
		return nil, err
	}
	if err := s.take(user, kind); err != nil {
		return nil, err
	}
	v, err := randomCode(c)
	if err != nil {
		s.limits.giveBack(user)
		return nil, err
	}
	expires := c.o.Now().Add(c.o.TTL).Truncate(time.Second)
	key, _, _ := open(en.Secret)
	p := &Proof{Enrollment: en, To: sentTo(kind, destination), Expires: expires, tag: tag(key, v, expires)}
	if err := s.deliver(ctx, user, kind, destination, v); err != nil {
		return nil, err
	}
	return p, nil
}

// CheckProof reports whether code is the one p sent: nil, ErrExpired, or
// factors.ErrInvalidCode. The caller bounds the tries.
func (s *Sender) CheckProof(p *Proof, code string) error {
	c := s.codes[p.Enrollment.Kind]
	if c == nil || !factors.IsDigits(code, c.o.Digits) {
		return factors.ErrInvalidCode
	}
	key, _, err := open(p.Enrollment.Secret)
	if err != nil {
		return err
	}
	var want, got [8]byte
	putTag(want[:], p.tag)
	putTag(got[:], tag(key, code, p.Expires))
	switch {
	case subtle.ConstantTimeCompare(want[:], got[:]) != 1:
		return factors.ErrInvalidCode
	case !c.o.Now().Before(p.Expires):
		return ErrExpired
	}
	return nil
}

// newEnrollment is a device of kind sending to destination, with a new
// ID and key.
func (s *Sender) newEnrollment(user, kind, label, destination string) (store.Enrollment, error) {
	var id [8]byte
	if _, err := io.ReadFull(s.random(), id[:]); err != nil {
		return store.Enrollment{}, fmt.Errorf("otc: random id: %w", err)
	}
	en, err := NewEnrollment(user, hex.EncodeToString(id[:]), kind, label, destination, s.random())
	if err != nil {
		return store.Enrollment{}, err
	}
	en.CreatedAt = s.o.Codes.now().UTC()
	return en, nil
}

func (s *Sender) random() io.Reader {
	if s.o.Codes.Rand != nil {
		return s.o.Codes.Rand
	}
	return rand.Reader
}
