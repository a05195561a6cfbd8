package delivery

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultTwilioURL is Twilio's API. A compatible service (or a test
// server) is reached by setting TwilioOptions.BaseURL.
const DefaultTwilioURL = "https://api.twilio.com"

// TwilioOptions configure a Twilio.
type TwilioOptions struct {
	// BaseURL defaults to DefaultTwilioURL. It may carry a path prefix,
	// for a compatible service mounted below one.
	BaseURL string
	// AccountSID and AuthToken authenticate every request (HTTP basic).
	AccountSID, AuthToken string
	// From is the sender: an E.164 number of the account or, for text
	// messages where allowed, an alphanumeric sender id. Calls need it.
	From string
	// MessagingServiceSID, when set, sends text messages through that
	// service (which picks the sender) instead of From. One of the two is
	// required.
	MessagingServiceSID string
	// AllowLoopbackPlaintext permits an http:// BaseURL whose host is a
	// literal loopback address, for tests; https is required otherwise.
	AllowLoopbackPlaintext bool
	// RootCAs, when set, replaces the system's roots for the API's
	// certificate (tests).
	RootCAs *x509.CertPool
	// Timeout bounds one request; default DefaultHTTPTimeout.
	Timeout time.Duration
}

// Twilio sends text messages and voice calls through Twilio's REST API
// (version 2010-04-01), or another service that speaks it.
type Twilio struct {
	o      TwilioOptions
	base   string // BaseURL without its trailing slash
	host   string // for messages: the API's paths hold the account
	client *http.Client
}

var _ Provider = (*Twilio)(nil)

// sidPattern is what an account SID may hold, since it becomes a path
// segment: Twilio's are "AC" and 32 hex digits.
var sidPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// e164 is a number in E.164 form: "+", a country code and at most 15
// digits in all.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// NewTwilio checks o and returns its provider.
func NewTwilio(o TwilioOptions) (*Twilio, error) {
	if o.BaseURL == "" {
		o.BaseURL = DefaultTwilioURL
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultHTTPTimeout
	}
	var errs []error
	u, err := parseURL("twilio", o.BaseURL, o.AllowLoopbackPlaintext)
	if err != nil {
		errs = append(errs, err)
	} else if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		errs = append(errs, errors.New("twilio: the base URL takes no query, fragment or credentials"))
	}
	if !sidPattern.MatchString(o.AccountSID) {
		errs = append(errs, errors.New("twilio: account SID missing or not letters and digits"))
	}
	if o.AuthToken == "" {
		errs = append(errs, errors.New("twilio: no auth token"))
	}
	if o.From == "" && o.MessagingServiceSID == "" {
		errs = append(errs, errors.New("twilio: from or messaging service SID required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Twilio{
		o:      o,
		base:   strings.TrimRight(o.BaseURL, "/"),
		host:   u.Host,
		client: newHTTPClient(o.RootCAs, o.Timeout),
	}, nil
}

func (t *Twilio) Name() string { return "twilio" }

// Send creates a message (SMS) or a call (Voice) that says m.Text. The API
// accepting it (2xx) is success: whether the phone got it is known only
// later, to Twilio. An answer of the 4xx class (but 408 and 429) wraps
// ErrRefused.
func (t *Twilio) Send(ctx context.Context, m Message) error {
	if err := checkMessage("twilio", m, SMS, Voice); err != nil {
		return err
	}
	if !e164.MatchString(m.To) {
		return fail(nil, "twilio: the destination is not an E.164 number")
	}
	form := url.Values{"To": {m.To}}
	var resource string
	switch {
	case m.Channel == Voice && t.o.From == "":
		return fail(nil, "twilio: a call needs from, a number of the account")
	case m.Channel == Voice:
		resource = "Calls.json"
		form.Set("From", t.o.From)
		form.Set("Twiml", twiml(m.Text))
	case t.o.MessagingServiceSID != "":
		resource = "Messages.json"
		form.Set("MessagingServiceSid", t.o.MessagingServiceSID)
		form.Set("Body", m.Text)
	default:
		resource = "Messages.json"
		form.Set("From", t.o.From)
		form.Set("Body", m.Text)
	}
	endpoint := t.base + "/2010-04-01/Accounts/" + url.PathEscape(t.o.AccountSID) + "/" + resource
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fail(nil, "twilio: cannot build the request")
	}
	req.SetBasicAuth(t.o.AccountSID, t.o.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "radiusmfa")

	status, body, err := roundTrip(t.client, req, "twilio", t.host)
	switch {
	case err != nil:
		return err
	case status >= 200 && status < 300:
		return nil
	}
	detail := twilioDetail(body, m)
	if refusedStatus(status) {
		return refused("twilio: %s answered %s%s", t.host, statusLine(status), detail)
	}
	return fail(nil, "twilio: %s answered %s%s", t.host, statusLine(status), detail)
}

// twilioError is the body of Twilio's error answers.
type twilioError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

// twilioDetail is ": error 21211: The 'To' number … is not valid" from
// Twilio's error JSON, or the start of a body that is not one; cleared of
// the code either way.
func twilioDetail(body []byte, m Message) string {
	var te twilioError
	if err := json.Unmarshal(body, &te); err == nil && (te.Code != 0 || te.Message != "") {
		return fmt.Sprintf(": error %d: %s", te.Code, quote(te.Message, m))
	}
	if q := quote(string(body), m); q != "" {
		return ": " + q
	}
	return ""
}

// twiml is the call's script: m.Text said twice, a second apart, for
// whoever missed the start. Text is XML-escaped: it is not markup.
func twiml(text string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(text)) // a strings.Builder does not fail
	say := "<Say>" + b.String() + "</Say>"
	return "<Response>" + say + `<Pause length="1"/>` + say + "</Response>"
}
