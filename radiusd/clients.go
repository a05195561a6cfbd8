package radiusd

import (
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// clientState is a configured client with its run-time state.
type clientState struct {
	name      string
	networks  []netip.Prefix // as configured, for ClientStats
	secret    []byte
	requireMA MARequirement
	timeout   time.Duration // 0: the server's RequestTimeout
	// maSeen latches for MAAuto clients once a valid Message-Authenticator
	// arrived: from then on one is required.
	maSeen  atomic.Bool
	hashers sync.Pool // *hasher keyed with secret
	metrics *clientMetrics
	summary clientSummary
}

func newClientState(c Client) *clientState {
	cs := &clientState{name: c.Name, networks: slices.Clone(c.Networks), secret: slices.Clone(c.Secret),
		requireMA: c.RequireMA, timeout: c.RequestTimeout}
	cs.hashers.New = func() any {
		return &hasher{mac: hmac.New(md5.New, cs.secret), md5: md5.New(), secret: cs.secret}
	}
	return cs
}

// clientTable maps a source address to its client by longest-prefix match.
// It is read-only after construction, so lookups take no lock.
type clientTable struct {
	v4, v6 prefixTable
	all    []*clientState
}

type prefixTable struct {
	bits []int // distinct prefix lengths present, longest first
	m    map[netip.Prefix]*clientState
}

// newClientTable validates clients and builds the table. A prefix listed
// twice (after masking) is an error even across clients, since the match
// would be ambiguous; nested prefixes are fine and resolved by length.
func newClientTable(clients []Client) (*clientTable, error) {
	t := &clientTable{
		v4: prefixTable{m: make(map[netip.Prefix]*clientState)},
		v6: prefixTable{m: make(map[netip.Prefix]*clientState)},
	}
	names := make(map[string]bool, len(clients))
	var errs []error
	for i, c := range clients {
		if err := validateClient(i, c, names); err != nil {
			errs = append(errs, err) // and go on: report overlaps too
		}
		cs := newClientState(c)
		t.all = append(t.all, cs)
		for _, p := range c.Networks {
			if err := t.add(cs, p); err != nil {
				errs = append(errs, fmt.Errorf("radiusd: client %q: %w", c.Name, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, pt := range []*prefixTable{&t.v4, &t.v6} {
		slices.SortFunc(pt.bits, func(a, b int) int { return b - a })
	}
	return t, nil
}

func validateClient(i int, c Client, names map[string]bool) error {
	var errs []error
	switch {
	case c.Name == "":
		errs = append(errs, fmt.Errorf("radiusd: client #%d: empty name", i+1))
	case names[c.Name]:
		errs = append(errs, fmt.Errorf("radiusd: client %q: name used twice", c.Name))
	}
	names[c.Name] = true
	if len(c.Secret) == 0 {
		errs = append(errs, fmt.Errorf("radiusd: client %q: empty secret", c.Name))
	}
	if len(c.Networks) == 0 {
		errs = append(errs, fmt.Errorf("radiusd: client %q: no network", c.Name))
	}
	if c.RequireMA < MARequire || c.RequireMA > MAOptional {
		errs = append(errs, fmt.Errorf("radiusd: client %q: invalid RequireMA %d", c.Name, c.RequireMA))
	}
	return errors.Join(errs...)
}

func (t *clientTable) add(cs *clientState, p netip.Prefix) error {
	p, err := normalizePrefix(p)
	if err != nil {
		return err
	}
	pt := &t.v6
	if p.Addr().Is4() {
		pt = &t.v4
	}
	if other, ok := pt.m[p]; ok {
		if other == cs {
			return fmt.Errorf("network %v listed twice", p)
		}
		return fmt.Errorf("network %v is already assigned to client %q", p, other.name)
	}
	pt.m[p] = cs
	if !slices.Contains(pt.bits, p.Bits()) {
		pt.bits = append(pt.bits, p.Bits())
	}
	return nil
}

// normalizePrefix masks p and turns an IPv4-mapped IPv6 prefix into IPv4,
// matching how source addresses are unmapped before lookup.
func normalizePrefix(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return p, fmt.Errorf("invalid network %v", p)
	}
	a := p.Addr()
	if a.Zone() != "" {
		return p, fmt.Errorf("network %v: zones are not supported", p)
	}
	if a.Is4In6() {
		if p.Bits() < 96 {
			return p, fmt.Errorf("network %v: IPv4-mapped prefix shorter than /96", p)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// lookup returns the client whose longest network contains a, or nil.
func (t *clientTable) lookup(a netip.Addr) *clientState {
	a = a.Unmap().WithZone("")
	pt := &t.v6
	if a.Is4() {
		pt = &t.v4
	}
	for _, bits := range pt.bits {
		p, _ := a.Prefix(bits)
		if cs, ok := pt.m[p]; ok {
			return cs
		}
	}
	return nil
}

// logLimiter allows one log line per source address per interval. Its map is
// bounded: when full and nothing has expired, further lines are suppressed.
type logLimiter struct {
	mu       sync.Mutex
	last     map[netip.Addr]time.Time
	swept    time.Time // a spoofed flood must not make every packet sweep
	interval time.Duration
	max      int
}

func newLogLimiter(interval time.Duration, max int) *logLimiter {
	return &logLimiter{last: make(map[netip.Addr]time.Time), interval: interval, max: max}
}

func (l *logLimiter) allow(a netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[a]; ok {
		if now.Sub(t) < l.interval {
			return false
		}
		l.last[a] = now
		return true
	}
	if len(l.last) >= l.max {
		if now.Sub(l.swept) < l.interval {
			return false
		}
		l.swept = now
		for k, t := range l.last {
			if now.Sub(t) >= l.interval {
				delete(l.last, k)
			}
		}
		if len(l.last) >= l.max {
			return false
		}
	}
	l.last[a] = now
	return true
}
