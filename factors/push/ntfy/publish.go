package ntfy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"radiusmfa/factors/push"
)

// Defaults of Options.
const (
	// DefaultPriority is ntfy's "high": the notification pops up.
	DefaultPriority = 4
	// DefaultTimeout bounds one publish when Options.HTTPClient is nil.
	DefaultTimeout = 10 * time.Second
)

// Options configure a Publisher.
type Options struct {
	// Server is the ntfy server's base URL: https://host[:port], no path
	// (ntfy cannot be hosted on a sub-path).
	Server string
	// Token, if set, is an ntfy access token sent as a Bearer credential.
	Token string
	// Priority is the messages' priority, 1 (min) to 5 (max); 0:
	// DefaultPriority.
	Priority int
	// HTTPClient sends the requests; nil: a client with DefaultTimeout.
	// Redirects are never followed.
	HTTPClient *http.Client
	// AllowHTTP permits an http server on a loopback address, for tests.
	AllowHTTP bool
}

// Publisher publishes notifications to topics of one ntfy server. It is
// safe for concurrent use.
type Publisher struct {
	endpoint string // the server's root URL, where JSON is published
	host     string // for errors
	token    string
	priority int
	client   *http.Client
}

var _ push.Publisher = (*Publisher)(nil)

// StatusError is an ntfy server's answer other than 2xx.
type StatusError struct {
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// New checks o and returns a Publisher.
func New(o Options) (*Publisher, error) {
	u, err := CheckServer(o.Server, o.AllowHTTP)
	if err != nil {
		return nil, err
	}
	if o.Priority == 0 {
		o.Priority = DefaultPriority
	}
	if o.Priority < 1 || o.Priority > 5 {
		return nil, fmt.Errorf("ntfy: priority %d is not 1 to 5", o.Priority)
	}
	if strings.IndexFunc(o.Token, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		return nil, errors.New("ntfy: the access token holds spaces, controls or non-ASCII")
	}
	c := o.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: DefaultTimeout}
	}
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	u.Path = "/"
	return &Publisher{endpoint: u.String(), host: u.Host, token: o.Token, priority: o.Priority, client: &cc}, nil
}

// CheckServer parses an ntfy server's base URL: https (http only to a
// literal loopback address, with allowHTTP), a host, and no path, query,
// fragment or credentials.
func CheckServer(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("ntfy: the server is not a URL")
	}
	switch {
	case u.Opaque != "" || u.Hostname() == "":
		return nil, errors.New("ntfy: the server URL has no host (want https://host[:port])")
	case u.User != nil:
		return nil, errors.New("ntfy: the server URL holds credentials: give the access token in a file instead")
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, errors.New("ntfy: the server URL has a path, query or fragment: ntfy is served at the root of its host")
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, errors.New("ntfy: the server URL is http: use https (http only to a loopback address, for tests)")
	default:
		return nil, fmt.Errorf("ntfy: the server URL's scheme %q is not https", u.Scheme)
	}
	return u, nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// message is ntfy's JSON publish body.
type message struct {
	Topic    string   `json:"topic"`
	Title    string   `json:"title,omitempty"`
	Message  string   `json:"message"`
	Tags     []string `json:"tags,omitempty"`
	Priority int      `json:"priority"`
	Actions  []action `json:"actions,omitempty"`
}

// action is an "http" action button: the app sends Method to URL when
// tapped, and clears the notification once the request succeeded.
type action struct {
	Action string `json:"action"`
	Label  string `json:"label"`
	URL    string `json:"url"`
	Method string `json:"method"`
	Clear  bool   `json:"clear"`
}

// Publish publishes n to topic. nil means the server took the message, not
// that a phone got it.
func (p *Publisher) Publish(ctx context.Context, topic string, n push.Notice) error {
	if topic == "" {
		return errors.New("ntfy: no topic")
	}
	if len(n.Actions) > push.MaxActions {
		return fmt.Errorf("ntfy: %d action buttons (at most %d)", len(n.Actions), push.MaxActions)
	}
	m := message{Topic: topic, Title: n.Title, Message: n.Message, Tags: n.Tags, Priority: p.priority}
	for _, a := range n.Actions {
		m.Actions = append(m.Actions, action{Action: "http", Label: a.Label, URL: a.URL, Method: http.MethodPost, Clear: true})
	}
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("ntfy: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("ntfy: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("ntfy: publish to %s: %w", p.host, withoutURL(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return fmt.Errorf("ntfy: server %s: %w", p.host, &StatusError{StatusCode: resp.StatusCode})
}

// withoutURL drops the request URL from a client error.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
