package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestHeapFloorPercent(t *testing.T) {
	h := newHeapFloor(64 << 20)
	for _, tt := range []struct {
		live uint64
		want int
	}{
		{0, 100},         // no reading yet
		{4 << 20, 1500},  // a small heap waits for the floor: 4 + 60 MiB
		{16 << 20, 300},  // 16 + 48 MiB
		{32 << 20, 100},  // past half the floor: GOGC's default
		{512 << 20, 100}, // a large transaction: never below the default
		{63 << 20, 100},
	} {
		if got := h.percentFor(tt.live); got != tt.want {
			t.Errorf("live %d MiB: percent %d, want %d", tt.live>>20, got, tt.want)
		}
	}
}

// TestHeapFloorTunes checks that a collection sets the percentage for a
// floor far above the test's live heap, and that stop ends the tuning.
func TestHeapFloorTunes(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	h := newHeapFloor(1 << 40)
	h.arm()
	t.Cleanup(h.stop)
	deadline := time.Now().Add(30 * time.Second)
	for h.percent.Load() <= 100 {
		if time.Now().After(deadline) {
			t.Fatal("no collection set a percentage above 100 for a floor of 1 TiB")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // finalizers run on their own goroutine
	}
	h.stop()
	runtime.GC() // the sentinel armed before stop finds it stopped
	time.Sleep(10 * time.Millisecond)
	n := h.tunes.Load()
	for range 3 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := h.tunes.Load(); got != n {
		t.Errorf("a stopped floor tuned %d more times", got-n)
	}
}
