package radiusd

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func TestClientTableLongestPrefixMatch(t *testing.T) {
	table, err := newClientTable([]Client{
		{Name: "campus", Networks: prefixes("10.0.0.0/8", "2001:db8::/32"), Secret: []byte("a")},
		{Name: "vpn", Networks: prefixes("10.1.0.0/16", "2001:db8:1::/48"), Secret: []byte("b")},
		{Name: "nas", Networks: prefixes("10.1.2.3/32", "::ffff:192.0.2.0/120"), Secret: []byte("c")},
		{Name: "any6", Networks: prefixes("::/0"), Secret: []byte("d")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ addr, want string }{
		{"10.9.9.9", "campus"},
		{"10.1.9.9", "vpn"},
		{"10.1.2.3", "nas"},
		{"10.1.2.4", "vpn"},
		{"::ffff:10.1.2.3", "nas"}, // IPv4-mapped source from a dual-stack socket
		{"::ffff:10.200.0.1", "campus"},
		{"192.0.2.77", "nas"}, // IPv4-mapped prefix in the configuration
		{"11.0.0.1", ""},      // ::/0 does not cover IPv4
		{"2001:db8:1::5", "vpn"},
		{"2001:db8:2::5", "campus"},
		{"fe80::1%eth0", "any6"},
		{"2001:db9::1", "any6"},
	} {
		got := ""
		if cs := table.lookup(netip.MustParseAddr(tc.addr)); cs != nil {
			got = cs.name
		}
		if got != tc.want {
			t.Errorf("lookup(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestClientTableRejectsAmbiguity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		clients []Client
		want    string
	}{
		{"same prefix", []Client{
			{Name: "a", Networks: prefixes("10.0.0.0/8"), Secret: []byte("s")},
			{Name: "b", Networks: prefixes("10.0.0.0/8"), Secret: []byte("s")},
		}, `client "b": network 10.0.0.0/8 is already assigned to client "a"`},
		{"same after masking", []Client{
			{Name: "a", Networks: prefixes("10.0.0.0/8"), Secret: []byte("s")},
			{Name: "b", Networks: prefixes("10.1.2.3/8"), Secret: []byte("s")},
		}, "already assigned"},
		{"mapped duplicate", []Client{
			{Name: "a", Networks: prefixes("192.0.2.1/32"), Secret: []byte("s")},
			{Name: "b", Networks: prefixes("::ffff:192.0.2.1/128"), Secret: []byte("s")},
		}, "already assigned"},
		{"twice in one client", []Client{
			{Name: "a", Networks: prefixes("10.0.0.0/8", "10.0.0.0/8"), Secret: []byte("s")},
		}, "listed twice"},
		{"empty secret", []Client{{Name: "a", Networks: prefixes("10.0.0.0/8")}}, "empty secret"},
		{"no name", []Client{{Networks: prefixes("10.0.0.0/8"), Secret: []byte("s")}}, "empty name"},
		{"no network", []Client{{Name: "a", Secret: []byte("s")}}, "no network"},
		{"duplicate name", []Client{
			{Name: "a", Networks: prefixes("10.0.0.0/8"), Secret: []byte("s")},
			{Name: "a", Networks: prefixes("11.0.0.0/8"), Secret: []byte("s")},
		}, "name used twice"},
		{"bad policy", []Client{{Name: "a", Networks: prefixes("10.0.0.0/8"), Secret: []byte("s"), RequireMA: 7}}, "invalid RequireMA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newClientTable(tc.clients)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestLogLimiter(t *testing.T) {
	l := newLogLimiter(time.Minute, 2)
	t0 := time.Unix(1000, 0)
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	steps := []struct {
		addr netip.Addr
		at   time.Duration
		want bool
	}{
		{a, 0, true},
		{a, time.Second, false}, // once per interval
		{b, time.Second, true},
		{c, 2 * time.Second, false}, // map full, nothing expired: suppressed, not unbounded
		{a, 61 * time.Second, true},
		{c, 62 * time.Second, true}, // b expired and swept
	}
	for i, s := range steps {
		if got := l.allow(s.addr, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d: allow(%v) = %v, want %v", i, s.addr, got, s.want)
		}
		if len(l.last) > 2 {
			t.Fatalf("limiter holds %d addresses, bound is 2", len(l.last))
		}
	}
}

func TestParseMARequirement(t *testing.T) {
	for in, want := range map[string]MARequirement{"": MARequire, "true": MARequire, "auto": MAAuto, "false": MAOptional} {
		got, err := ParseMARequirement(in)
		if err != nil || got != want {
			t.Errorf("%q: %v, %v", in, got, err)
		}
	}
	if _, err := ParseMARequirement("yes"); err == nil {
		t.Error("yes accepted")
	}
}

func TestNewServerValidates(t *testing.T) {
	cfg := testConfig()
	cfg.AuthAddrs, cfg.AcctAddrs = nil, nil
	cfg.RequestTimeout = -time.Second
	cfg.Clients = append(cfg.Clients, Client{Name: "loopback", Networks: prefixes("127.0.0.0/8"), Secret: []byte("x")})
	_, err := NewServer(cfg, nil, nil, nil, nil)
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"no listen address", "request timeout", "name used twice", "already assigned", "nil Decider"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
