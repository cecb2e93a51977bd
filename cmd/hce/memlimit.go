package main

import (
	"os"
	"runtime/debug"
)

// defaultMemoryLimit is the default of --memory-limit: with it, the heap of
// one 60 MB transaction stays near what it needs instead of doubling, and
// the server fits the chart's 1 GiB container limit.
const defaultMemoryLimit = 768 << 20

// setMemoryLimit sets the Go runtime's soft memory limit to n bytes,
// unless n is 0 or GOMEMLIMIT is set (the runtime has applied it).
func setMemoryLimit(n int64) {
	if n <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(n)
}
