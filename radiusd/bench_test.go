package radiusd

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"radiusmfa/auth"
)

type acceptAll struct{}

func (acceptAll) Decide(_ context.Context, r auth.Request) auth.Decision {
	return auth.Decision{Outcome: auth.Accept, Reason: auth.ReasonOK, User: r.UserName, Factor: "totp"}
}

// BenchmarkServerAccept measures accepted logins per second over loopback
// with a trivial Decider, with the production log line (JSON, discarded),
// audit and metrics. Clients run closed-loop, each waiting for its reply;
// every request has a fresh authenticator, so none is a cache hit.
func BenchmarkServerAccept(b *testing.B) {
	cfg := testConfig()
	cfg.AcctAddrs = nil
	cfg.MaxInFlight = 4096
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	s, err := NewServer(cfg, acceptAll{}, discardAudit{}, log, reg)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		b.Fatal(err)
	}
	go s.Serve(context.Background())
	defer s.Shutdown(context.Background())
	addr := s.AuthAddrs()[0].(*net.UDPAddr)
	template := encode(b, newRequest("alice"), true)
	signer := s.clients.all[0]
	var lost atomic.Int64
	var seq atomic.Uint64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := net.DialUDP("udp", nil, addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		req := append([]byte(nil), template...)
		reply := make([]byte, 4096)
		h := signer.getHasher()
		for pb.Next() {
			binary.BigEndian.PutUint64(req[4:12], seq.Add(1)) // a new request each time
			copy(req[22:38], h.messageAuthenticator(req, 22, nil))
			conn.Write(req)
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := conn.Read(reply); err != nil {
				lost.Add(1)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
	if n := lost.Load(); n > 0 {
		b.Errorf("%d replies lost; dropped: overloaded %v, reply_cache_full %v", n,
			metric(b, reg, "radiusmfa_dropped_packets_total", "cause", "overloaded"),
			metric(b, reg, "radiusmfa_dropped_packets_total", "cause", "reply_cache_full"))
	}
}

// BenchmarkEncodeReply measures encoding an Access-Accept with a
// Reply-Message and a Proxy-State, without and with granted attributes
// (one of each vendor, two Cisco-AVPairs). Either way it is one allocation:
// the slice the reply cache keeps.
func BenchmarkEncodeReply(b *testing.B) {
	h := testClient(testSecret).getHasher()
	hdr := make([]byte, headerLen)
	hdr[0] = byte(radius.CodeAccessRequest)
	proxy := radius.Attributes{{Type: rfc2865.ProxyState_Type, Attribute: radius.Attribute("proxy-1")}}
	for _, bc := range []struct {
		name  string
		attrs []auth.Attribute
	}{
		{"plain", nil},
		{"attributes", mustAttributes(b, grantedPairs...)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeReply(h, radius.CodeAccessAccept, hdr, "Welcome", nil, bc.attrs, proxy); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
