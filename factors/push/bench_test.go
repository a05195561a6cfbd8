package push

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

const benchPending = 10000

// benchSPKIs are the public keys of benchPending devices, as the engine
// reads them from the enrollments; made once, they are parsed per login.
var benchSPKIs = sync.OnceValue(func() []string {
	keys := make([]string, benchPending)
	for i := range keys {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			panic(err)
		}
		keys[i] = base64.StdEncoding.EncodeToString(der)
	}
	return keys
})

// beginAll begins one push for each of benchPending users, each with its
// own device key and the context of a real login.
func beginAll(b *testing.B, h *Hub) []*Pending {
	spkis := benchSPKIs()
	ps := make([]*Pending, benchPending)
	for i := range ps {
		pub, err := ParsePublicKey(spkis[i])
		if err != nil {
			b.Fatal(err)
		}
		user := fmt.Sprintf("user%05d@example.com", i)
		c := Context{Client: "vpn-gw1", NASIdentifier: "asa-dc1", NASIPAddress: "192.0.2.10",
			CallingStationID: fmt.Sprintf("203.0.%d.%d", i/256%256, i%256), Number: 10 + i%90}
		if ps[i], err = h.Begin(user, fmt.Sprintf("%016x", i), pub, c, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	return ps
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkHubPending10k begins 10,000 pending pushes and reports the heap
// they keep alive (heap-B/op, and per push), keys and context included.
func BenchmarkHubPending10k(b *testing.B) {
	benchSPKIs()
	var kept uint64
	for b.Loop() {
		before := liveHeap()
		h := NewHub(Options{})
		ps := beginAll(b, h)
		kept += liveHeap() - before
		if h.Len() != benchPending {
			b.Fatalf("Len = %d", h.Len())
		}
		runtime.KeepAlive(ps)
	}
	b.ReportMetric(float64(kept)/float64(b.N), "heap-B/op")
	b.ReportMetric(float64(kept)/float64(b.N)/benchPending, "B/pending")
}

// BenchmarkHubPending10kWaiting adds a waiting goroutine per push, as the
// RADIUS handlers will, and reports heap plus goroutine stacks.
func BenchmarkHubPending10kWaiting(b *testing.B) {
	benchSPKIs()
	var kept uint64
	var m runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&m)
		before := m.HeapAlloc + m.StackInuse
		h := NewHub(Options{})
		ps := beginAll(b, h)
		ctx, cancel := context.WithCancel(context.Background())
		var started, done sync.WaitGroup
		for _, p := range ps {
			started.Add(1)
			done.Go(func() { started.Done(); h.Wait(ctx, p) })
		}
		started.Wait()
		runtime.GC()
		runtime.ReadMemStats(&m)
		kept += m.HeapAlloc + m.StackInuse - before
		cancel()
		done.Wait()
	}
	b.ReportMetric(float64(kept)/float64(b.N), "heap+stack-B/op")
	b.ReportMetric(float64(kept)/float64(b.N)/benchPending, "B/pending")
}
