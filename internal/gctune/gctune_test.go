package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

const mib = 1 << 20

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		live, soft uint64
		high, want int
	}{
		{10 * mib, 128 * mib, 300, 300},  // 40 MiB goal: well under
		{32 * mib, 128 * mib, 300, 300},  // 128 MiB goal: at the ceiling
		{40 * mib, 128 * mib, 300, 220},  // lowered to keep the goal at 128
		{60 * mib, 128 * mib, 300, 113},  // the 10,000-pushes heap
		{64 * mib, 128 * mib, 300, 100},  // the floor
		{200 * mib, 128 * mib, 300, 100}, // above the ceiling: Go's default, no tighter
		{10 * mib, 0, 300, 300},          // off
		{10 * mib, 128 * mib, 80, 80},    // a high below the floor is kept
		{0, 128 * mib, 300, 300},         // no sample yet
	} {
		if got := Percent(c.live, c.soft, c.high); got != c.want {
			t.Errorf("Percent(%d MiB, %d MiB, %d) = %d, want %d", c.live/mib, c.soft/mib, c.high, got, c.want)
		}
	}
}

// The tuner lowers the runtime's target once a collection finds a large
// live heap, and raises it again once the heap is small.
func TestTunerFollowsTheLiveHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tu := Start(300, 32*mib)
	defer tu.Stop()
	if g := runtimePercent(t); g != 300 {
		t.Fatalf("GOGC %d after Start, want 300", g)
	}
	live := make([]byte, 64*mib)
	for i := range live {
		live[i] = byte(i)
	}
	collectUntil(t, tu, Floor)
	runtime.KeepAlive(live)
	if g := runtimePercent(t); g != Floor {
		t.Fatalf("GOGC %d with 64 MiB live, want %d", g, Floor)
	}
	live = nil
	collectUntil(t, tu, 300)
	if g := runtimePercent(t); g != 300 {
		t.Fatalf("GOGC %d with a small heap again, want 300", g)
	}
}

func collectUntil(t *testing.T, tu *Tuner, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tu.Current() != want {
		if time.Now().After(deadline) {
			t.Fatalf("target %d after collections, want %d", tu.Current(), want)
		}
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
}

func runtimePercent(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatal("no /gc/gogc:percent metric")
	}
	return int(s[0].Value.Uint64())
}
