// Package gctune moves the garbage collector's target (GOGC) with the size
// of the live heap: a high target while the heap is small, which saves the
// CPU of frequent collections, and Go's default of 100 once the heap is
// large, so memory stays near a soft ceiling instead of growing to several
// times the live heap.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// Floor is the lowest target the tuner sets: Go's default.
const Floor = 100

// Percent is the GC target for a live heap of live bytes: high while
// live × (1 + high/100) stays under soft bytes, then as much as keeps the
// heap goal at soft, but never below Floor (nor above high). A high below
// Floor is returned as it is.
func Percent(live, soft uint64, high int) int {
	if high <= Floor || live == 0 || soft == 0 {
		return high
	}
	if soft <= live {
		return Floor
	}
	p := (soft - live) * 100 / live
	return int(max(min(p, uint64(high)), Floor))
}

// Tuner sets the GC target after every collection. Stop ends it.
type Tuner struct {
	soft    uint64
	high    int
	stopped atomic.Bool
	set     atomic.Int64 // the target last set
	sample  []metrics.Sample
}

// Start sets the GC target to high and, after every collection, to
// Percent(live heap, soft, high). soft 0 only sets high.
func Start(high int, soft uint64) *Tuner {
	t := &Tuner{soft: soft, high: high, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	debug.SetGCPercent(high)
	t.set.Store(int64(high))
	if soft > 0 && high > Floor {
		t.arm()
	}
	return t
}

// Current is the target the tuner set last.
func (t *Tuner) Current() int { return int(t.set.Load()) }

// Stop ends the tuning after the next collection; the target stays as it
// was last set.
func (t *Tuner) Stop() { t.stopped.Store(true) }

// arm leaves an object for the next collection to free: its cleanup runs
// after that collection, on the runtime's cleanup goroutine, and arms the
// next.
func (t *Tuner) arm() {
	sentinel := new([16]byte) // not tiny-allocated: freed by the next cycle
	runtime.AddCleanup(sentinel, func(t *Tuner) { t.collected() }, t)
}

func (t *Tuner) collected() {
	if t.stopped.Load() {
		return
	}
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		p := Percent(t.sample[0].Value.Uint64(), t.soft, t.high)
		// Small moves are not worth a change of pacing.
		if old := int(t.set.Load()); p != old && (p == Floor || p == t.high || abs(p-old) >= 10) {
			debug.SetGCPercent(p)
			t.set.Store(int64(p))
		}
	}
	t.arm()
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
