package webpush

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestGuardRefusesNonPublicAddresses(t *testing.T) {
	for addr, public := range map[string]bool{
		"142.250.74.10":            true,
		"2a00:1450:4001:80b::200a": true,
		"::ffff:142.250.74.10":     true,
		"127.0.0.1":                false,
		"::1":                      false,
		"10.1.2.3":                 false,
		"172.16.0.1":               false,
		"192.168.1.1":              false,
		"169.254.169.254":          false, // cloud metadata
		"100.64.0.1":               false, // carrier NAT
		"0.0.0.0":                  false,
		"255.255.255.255":          false,
		"224.0.0.1":                false,
		"198.18.0.1":               false,
		"203.0.113.7":              false,
		"240.0.0.1":                false,
		"fd00::1":                  false,
		"fe80::1":                  false,
		"fec0::1":                  false,
		"ff02::1":                  false,
		"::ffff:10.0.0.1":          false,
		"64:ff9b::a00:1":           false, // NAT64 of 10.0.0.1
		"2002:a00:1::1":            false, // 6to4 of 10.0.0.1
		"2001:db8::1":              false,
		"::":                       false,
	} {
		if got := PublicAddress(netip.MustParseAddr(addr)); got != public {
			t.Errorf("PublicAddress(%s) = %t, want %t", addr, got, public)
		}
	}

	strict, tests := dialGuard(false), dialGuard(true)
	for _, c := range []struct {
		address     string
		strict, lab bool // allowed without and with loopback allowed
	}{
		{"142.250.74.10:443", true, true},
		{"127.0.0.1:443", false, true},
		{"[::1]:443", false, true},
		{"[::ffff:127.0.0.1]:443", false, true},
		{"10.0.0.1:443", false, false},
		{"[fe80::1%eth0]:443", false, false},
		{"not-an-address", false, false},
	} {
		for _, g := range []struct {
			name  string
			check func(string, string, any) error
			want  bool
		}{{"strict", func(n, a string, _ any) error { return strict(n, a, nil) }, c.strict},
			{"loopback allowed", func(n, a string, _ any) error { return tests(n, a, nil) }, c.lab}} {
			err := g.check("tcp", c.address, nil)
			if (err == nil) != g.want || err != nil && !errors.Is(err, ErrForbiddenAddress) {
				t.Errorf("%s guard on %s: %v, want allowed=%t", g.name, c.address, err, g.want)
			}
		}
	}
}

// A phone cannot make the server post to its own network: an https
// endpoint on a loopback address, or a name resolving to one, is refused
// when the connection is made, before any request.
func TestSendRefusesPrivateEndpoint(t *testing.T) {
	v, dev := testVAPID(t), newDevice(t)
	ps, _, endpoint := startPushService(t, v, dev, false) // https on 127.0.0.1
	s := NewSender(v, Options{})
	for _, ep := range []string{endpoint, strings.Replace(endpoint, "127.0.0.1", "localhost", 1)} {
		err := s.Send(t.Context(), dev.subscription(ep), []byte("hi"))
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("endpoint %s: %v, want ErrForbiddenAddress", ep, err)
		}
		if err != nil && strings.Contains(err.Error(), "/push/") {
			t.Errorf("error repeats the endpoint's path: %v", err)
		}
	}
	if n, _ := ps.counts(); n != 0 {
		t.Fatalf("refused sends made %d requests", n)
	}
}
