package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// defaultHeapFloor is the default of --gc-heap-floor. 32 MiB gives reads
// by id what 64 MiB did (16,560 against 16,600–16,800 requests/s, 16,000
// without a floor) and leaves the peak of a 5 MB request where it is
// without a floor (82 MB for a Synthea transaction; 108 MB at 64 MiB).
const defaultHeapFloor = 32 << 20

// heapFloor keeps the garbage collector from running before the heap has
// grown to floor bytes. The server's live heap is a few MiB, so with
// GOGC=100 alone a collection starts every few MiB allocated: dozens a
// second under a read load, about a tenth of the CPU of a read by id.
// After every collection heapFloor sets the GC percentage that puts the
// next goal at floor; a live heap past half the floor (a large
// transaction) is collected as with GOGC=100, so the peaks of large
// requests do not grow, and the soft memory limit still wins over both.
type heapFloor struct {
	floor   uint64
	percent atomic.Int64 // the last percentage set, 0 before the first
	tunes   atomic.Int64 // the collections seen
	stopped atomic.Bool
	live    []metrics.Sample
}

// heapSentinel is garbage from the moment it is armed: its finalizer runs
// after the next collection. It holds a pointer, so the tiny allocator,
// whose objects' finalizers may never run, does not place it.
type heapSentinel struct{ h *heapFloor }

var heapFloorOnce sync.Once

// setHeapFloor starts the heap floor of n bytes for the life of the
// process, once; nothing happens when n is 0 or GOGC is set (the operator
// chose the percentage).
func setHeapFloor(n int64) {
	if n <= 0 || os.Getenv("GOGC") != "" {
		return
	}
	heapFloorOnce.Do(func() { newHeapFloor(uint64(n)).arm() })
}

func newHeapFloor(n uint64) *heapFloor {
	return &heapFloor{floor: n, live: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
}

// arm has tune run after the next collection, and arm again, until stop.
func (h *heapFloor) arm() {
	runtime.SetFinalizer(&heapSentinel{h: h}, func(s *heapSentinel) {
		if s.h.stopped.Load() {
			return
		}
		s.h.tune()
		s.h.arm()
	})
}

// stop ends the tuning after the next collection; the percentage stays.
func (h *heapFloor) stop() { h.stopped.Store(true) }

// tune sets the GC percentage for the live heap the last collection left.
func (h *heapFloor) tune() {
	h.tunes.Add(1)
	metrics.Read(h.live)
	p := h.percentFor(h.live[0].Value.Uint64())
	if int64(p) != h.percent.Load() {
		debug.SetGCPercent(p)
		h.percent.Store(int64(p))
	}
}

// percentFor is the GC percentage whose goal for a live heap of live bytes
// is the floor, and never below 100.
func (h *heapFloor) percentFor(live uint64) int {
	if live == 0 || live >= h.floor/2 {
		return 100
	}
	return int((h.floor - live) * 100 / live)
}
