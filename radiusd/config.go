package radiusd

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Defaults applied to zero-valued Config fields.
const (
	DefaultRequestTimeout           = 10 * time.Second
	DefaultReplyCacheTTL            = 30 * time.Second
	DefaultUnknownClientLogInterval = time.Minute
	DefaultMaxInFlight              = 1024
	DefaultReplyCacheSize           = 1 << 18
)

// MARequirement says when an Access-Request from a client must carry a
// Message-Authenticator. Whenever one is present it is verified.
type MARequirement int

const (
	// MARequire drops every Access-Request without Message-Authenticator.
	MARequire MARequirement = iota
	// MAAuto behaves like MAOptional until the client sends one valid
	// Message-Authenticator, and like MARequire from then on.
	MAAuto
	// MAOptional accepts Access-Requests without Message-Authenticator, except
	// those carrying Proxy-State (the BlastRADIUS forgery vector).
	MAOptional
)

// ParseMARequirement parses the configuration spelling: "true" (or ""),
// "auto" or "false".
func ParseMARequirement(s string) (MARequirement, error) {
	switch s {
	case "", "true":
		return MARequire, nil
	case "auto":
		return MAAuto, nil
	case "false":
		return MAOptional, nil
	}
	return 0, fmt.Errorf("radiusd: require_message_authenticator %q: want true, auto or false", s)
}

func (m MARequirement) String() string {
	switch m {
	case MARequire:
		return "true"
	case MAAuto:
		return "auto"
	case MAOptional:
		return "false"
	}
	return fmt.Sprintf("MARequirement(%d)", int(m))
}

// Client is one RADIUS client (NAS) as configured.
type Client struct {
	Name      string         // used in logs, audit and metric labels
	Networks  []netip.Prefix // source networks; bare addresses as /32 or /128
	Secret    []byte
	RequireMA MARequirement
	// RequestTimeout, when set, replaces Config.RequestTimeout for this
	// client's requests (a client whose logins wait on a push needs more).
	RequestTimeout time.Duration
}

// Config is the typed configuration of the RADIUS adapter.
type Config struct {
	// AuthAddrs and AcctAddrs are host:port to bind ("127.0.0.1:1812",
	// "[::1]:1812"); port 0 picks a free port. AcctAddrs may be empty.
	AuthAddrs, AcctAddrs []string
	Clients              []Client

	// RequestTimeout is the deadline given to the Decider.
	RequestTimeout time.Duration
	// ReplyCacheTTL is how long a reply is kept for retransmissions.
	ReplyCacheTTL time.Duration
	// UnknownClientLogInterval limits logging of unknown sources to one line
	// per address per interval.
	UnknownClientLogInterval time.Duration
	// MaxInFlight bounds the requests being processed at once; more are dropped.
	MaxInFlight int
	// ReplyCacheSize bounds the reply cache entries; when full, new requests
	// are dropped rather than risking a second Decide for a retransmission.
	ReplyCacheSize int
}

// withDefaults returns c with zero fields defaulted, or the joined errors of
// every invalid field.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	dur := func(name string, d *time.Duration, def time.Duration) {
		switch {
		case *d < 0:
			errs = append(errs, fmt.Errorf("radiusd: %s: negative duration %v", name, *d))
		case *d == 0:
			*d = def
		}
	}
	dur("request timeout", &c.RequestTimeout, DefaultRequestTimeout)
	dur("reply cache TTL", &c.ReplyCacheTTL, DefaultReplyCacheTTL)
	dur("unknown client log interval", &c.UnknownClientLogInterval, DefaultUnknownClientLogInterval)
	count := func(name string, n *int, def int) {
		switch {
		case *n < 0:
			errs = append(errs, fmt.Errorf("radiusd: %s: negative value %d", name, *n))
		case *n == 0:
			*n = def
		}
	}
	count("max in flight", &c.MaxInFlight, DefaultMaxInFlight)
	count("reply cache size", &c.ReplyCacheSize, DefaultReplyCacheSize)
	if len(c.AuthAddrs)+len(c.AcctAddrs) == 0 {
		errs = append(errs, errors.New("radiusd: no listen address"))
	}
	if len(c.Clients) == 0 {
		errs = append(errs, errors.New("radiusd: no client configured"))
	}
	return c, errors.Join(errs...)
}
