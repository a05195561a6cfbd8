package ldapauth

import (
	"context"
	"syscall"
	"testing"
	"time"

	"radiusmfa/ldapauth/ldaptest"
)

// BenchmarkAuthenticate logs alice in against a real slapd over LDAPS
// (search, bind, the two group searches), from 8 goroutines. Besides
// ns/op, which includes slapd's share of the two cores, it reports
// client-µs/op: this process's CPU per login, slapd's excluded.
//
//	go test ./ldapauth -run '^$' -bench Authenticate -benchmem -count 5
func BenchmarkAuthenticate(b *testing.B) {
	s := ldaptest.StartSlapd(b, ldaptest.SlapdOptions{})
	c := slapdConfig(s)
	c.PoolSize = 8
	d, err := New(c, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.Close)
	name := d.NormalizeName("alice")
	ctx := context.Background()
	if _, ok, err := d.Authenticate(ctx, name, "alice-pass"); !ok || err != nil {
		b.Fatalf("alice: ok=%v err=%v", ok, err)
	}
	b.SetParallelism(4) // 8 goroutines on 2 cores: the pool's size
	before := cpuTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok, err := d.Authenticate(ctx, name, "alice-pass"); !ok || err != nil {
				b.Errorf("alice: ok=%v err=%v", ok, err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-before).Microseconds())/float64(b.N), "client-µs/op")
}

// cpuTime is the user and system CPU this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
