package webpush

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned (wrapped) when a push endpoint's name
// resolves to an address that is not public: a loopback, private,
// link-local, shared (carrier NAT), multicast or reserved address. The
// phone names the endpoint at pairing, so without this check a user could
// make the server post to anything on its own network.
var ErrForbiddenAddress = errors.New("webpush: push endpoint resolves to an address that is not public")

// Invariant: the default client of a Sender connects only to public
// unicast addresses (and to loopback ones with Options.AllowHTTP, for
// tests), whatever name the endpoint gives and whatever that name resolves
// to when the connection is made. (TestGuardRefusesNonPublicAddresses,
// TestSendRefusesPrivateEndpoint)

// notPublic lists the ranges netip's predicates leave to us: shared,
// benchmarking, documentation, reserved, IPv4-in-IPv6 translation and the
// deprecated site-local prefix.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("fec0::/10"),
}

// PublicAddress reports whether a is a public unicast address a push
// service may have.
func PublicAddress(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// dialGuard is a net.Dialer Control that refuses any address PublicAddress
// refuses, but loopback ones when allowLoopback is set. It runs on the
// resolved address of every connection attempt, so a name that resolves
// (or later rebinds) to a private address is refused too.
func dialGuard(allowLoopback bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %q", ErrForbiddenAddress, address)
		}
		a := ap.Addr().Unmap()
		if PublicAddress(a) || allowLoopback && a.IsLoopback() {
			return nil
		}
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, a)
	}
}

// guardedClient is the Sender's default client: direct connections only
// (no proxy from the environment, whose own address would be private), to
// public addresses, with DefaultTimeout.
func guardedClient(allowLoopback bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: dialGuard(allowLoopback)}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = d.DialContext
	t.MaxIdleConnsPerHost = 16
	return &http.Client{Timeout: DefaultTimeout, Transport: t}
}
