package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// clients builds a file with one client per entry, named a, b, c…, each with
// the given networks (a YAML flow list) and a long secret.
func clients(networks ...string) string {
	var b strings.Builder
	b.WriteString("radius:\n  clients:\n")
	for i, n := range networks {
		b.WriteString("    - {name: " + string(rune('a'+i)) + ", networks: " + n +
			", secret: a-secret-of-24-characters}\n")
	}
	return b.String()
}

func TestNetworksAreNormalised(t *testing.T) {
	tests := []struct {
		name     string
		networks string
		want     []string
	}{
		{"bare IPv4", "[10.0.0.1]", []string{"10.0.0.1/32"}},
		{"bare IPv6", `["2001:db8::1"]`, []string{"2001:db8::1/128"}},
		{"IPv6 spelling", `["2001:0DB8:0:0::0/32"]`, []string{"2001:db8::/32"}},
		{"IPv4-mapped address", `["::ffff:10.0.0.1"]`, []string{"10.0.0.1/32"}},
		{"IPv4-mapped prefix", `["::ffff:10.0.0.0/104"]`, []string{"10.0.0.0/8"}},
		{"IPv4-mapped /96 is all of IPv4", `["::ffff:0.0.0.0/96"]`, []string{"0.0.0.0/0"}},
		{"IPv4-mapped in hex", `["::ffff:a00:1/128"]`, []string{"10.0.0.1/32"}},
		{"already normal", "[10.0.0.0/8, 192.0.2.0/24]", []string{"10.0.0.0/8", "192.0.2.0/24"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := mustLoad(t, clients(tt.networks))
			got := cfg.Radius.Clients[0].Networks
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("networks = %q, want %q", got, tt.want)
			}
			// Consumers parse what Load wrote back without a helper.
			for _, n := range got {
				if p, err := netip.ParsePrefix(n); err != nil || p.String() != n {
					t.Errorf("netip.ParsePrefix(%q) = %v, %v", n, p, err)
				}
			}
		})
	}
}

func TestNestedNetworksAreAllowed(t *testing.T) {
	cfg, _ := mustLoad(t, clients("[10.0.0.0/8]", "[10.1.0.0/16, \"::ffff:10.1.2.3\"]", "[\"::/0\", 0.0.0.0/0]"))
	if got := cfg.Radius.Clients[1].Networks; !reflect.DeepEqual(got, []string{"10.1.0.0/16", "10.1.2.3/32"}) {
		t.Errorf("networks = %q", got)
	}
}

func TestNetworkErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"same address across clients", clients("[10.0.0.1]", `["::ffff:10.0.0.1"]`),
			[]string{`radius.clients[1].networks[0] (b): "::ffff:10.0.0.1" (10.0.0.1/32) is already claimed by radius.clients[0].networks[0] (a)`}},
		{"same prefix, mapped", clients("[10.0.0.0/8]", `[192.0.2.0/24, "::ffff:10.0.0.0/104"]`),
			[]string{`radius.clients[1].networks[1] (b): "::ffff:10.0.0.0/104" (10.0.0.0/8) is already claimed by radius.clients[0].networks[0] (a)`}},
		{"bare address and /32", clients("[10.0.0.1]", "[10.0.0.1/32]"),
			[]string{"radius.clients[1].networks[0] (b): 10.0.0.1/32 is already claimed by radius.clients[0].networks[0] (a)"}},
		{"IPv6 spelling", clients(`["2001:db8::1"]`, `["2001:DB8:0::1/128"]`),
			[]string{`radius.clients[1].networks[0] (b): "2001:DB8:0::1/128" (2001:db8::1/128) is already claimed by radius.clients[0].networks[0] (a)`}},
		{"within one client", clients(`[10.0.0.1, 192.0.2.0/24, "::ffff:10.0.0.1/128"]`),
			[]string{`radius.clients[0].networks[2] (a): "::ffff:10.0.0.1/128" (10.0.0.1/32) is already claimed by radius.clients[0].networks[0] (a)`}},
		{"three clients, one prefix", clients("[10.0.0.1]", "[10.0.0.1]", "[10.0.0.1]"),
			[]string{`radius.clients[1].networks[0] (b): "10.0.0.1" (10.0.0.1/32) is already claimed by radius.clients[0].networks[0] (a)`,
				`radius.clients[2].networks[0] (c): "10.0.0.1" (10.0.0.1/32) is already claimed by radius.clients[0].networks[0] (a)`}},
		{"IPv4-mapped shorter than /96", clients(`["::ffff:0.0.0.0/95"]`),
			[]string{`radius.clients[0].networks[0] (a): "::ffff:0.0.0.0/95": an IPv4-mapped prefix must be /96 or longer`}},
		{"IPv4-mapped host bits", clients(`["::ffff:10.0.0.1/104"]`),
			[]string{`"::ffff:10.0.0.1/104" has host bits set (did you mean ::ffff:10.0.0.0/104?)`}},
		{"zone", clients(`["fe80::1%eth0"]`), []string{`"fe80::1%eth0" is not a CIDR prefix or IP address`}},
		{"zone in a prefix", clients(`["fe80::1%eth0/128"]`), []string{`"fe80::1%eth0/128" is not a CIDR prefix or IP address`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadString(t, tt.yaml)
			wantErr(t, err, tt.want...)
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", n, len(tt.want), err)
			}
		})
	}
}
