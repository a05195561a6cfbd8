package radiusd

import (
	"net"
	"strconv"
	"testing"
)

// The production example lists 0.0.0.0:1812 and [::]:1812 together; a
// dual-stack [::] socket would take the IPv4 port too and the second bind
// would fail.
func TestListenIPv4AndIPv6WildcardsTogether(t *testing.T) {
	probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		t.Fatal(err)
	}
	port := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close()
	for _, order := range [][2]string{{"0.0.0.0", "[::]"}, {"[::]", "0.0.0.0"}} {
		a, err := listenUDP(net.JoinHostPort(trim(order[0]), strconv.Itoa(port)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := listenUDP(net.JoinHostPort(trim(order[1]), strconv.Itoa(port)))
		if err != nil {
			a.Close()
			t.Fatalf("%s then %s on port %d: %v", order[0], order[1], port, err)
		}
		a.Close()
		b.Close()
	}
}

func trim(h string) string {
	if len(h) > 1 && h[0] == '[' {
		return h[1 : len(h)-1]
	}
	return h
}
