package geoip

import (
	"net/netip"
	"strings"
)

// maxStationID bounds what ParseCallingStationID reads: the longest form it
// takes, "[IPv6%zone]:port", is well under 100 bytes.
const maxStationID = 100

// ParseCallingStationID returns the IP address in a RADIUS
// Calling-Station-Id as VPN gateways send it: a plain IPv4 or IPv6 address,
// "IPv4:port", "[IPv6]:port" or "[IPv6]". A MAC address, a telephone number
// or anything else gives ok false. The address comes back unmapped (an
// IPv4-mapped IPv6 address as IPv4) and without a zone.
func ParseCallingStationID(s string) (ip netip.Addr, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxStationID {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}

// notGlobal are special-purpose ranges (RFC 6890 and its updates) that
// netip's predicates do not already cover and that no GeoIP record can
// place. The documentation ranges (192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24, 2001:db8::/32) are left out on purpose: they never reach
// a real database's records, and tests and examples use them.
var notGlobal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // shared address space (carrier-grade NAT)
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and the broadcast address
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use IPv4/IPv6 translation
	netip.MustParsePrefix("100::/64"),       // discard-only
	netip.MustParsePrefix("fec0::/10"),      // deprecated site-local
}

// IsGlobal reports whether ip may have a place on the map: not private,
// loopback, link-local, multicast, unspecified or another special range.
func IsGlobal(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return false
	}
	for _, p := range notGlobal {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
