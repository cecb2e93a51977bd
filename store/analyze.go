package store

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// analyzer refreshes the planner statistics after bulk writes. Autovacuum
// analyzes a table a minute or more after it grew by a tenth; a search run
// right after a bulk load would be planned for the empty tables it saw
// before (nested loops over what are now millions of rows). Counting the
// rows this process writes, the analyzer runs ANALYZE in the background
// once a quarter more (and at least analyzeEvery) resources were written
// since the last time.
type analyzer struct {
	written atomic.Int64 // resources written by this process
	mu      sync.Mutex
	running bool
	last    int64 // written at the last ANALYZE
	run     func(context.Context) error
}

// analyzeEvery is the fewest new resources that trigger an ANALYZE.
const analyzeEvery = 10_000

// analyzed lists the tables searches read, whose statistics plans rely on.
var analyzed = func() string {
	ts := []string{"resources", "resource_ids", "compartment_members", "shared_resources"}
	for _, set := range tableSets {
		ts = append(ts, set.index...)
	}
	return strings.Join(ts, ", ")
}()

// wrote records n new resources and starts an ANALYZE when they add up.
func (a *analyzer) wrote(n int) {
	if a == nil || n == 0 {
		return
	}
	total := a.written.Add(int64(n))
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running || total-a.last < max(analyzeEvery, a.last/4) {
		return
	}
	a.running, a.last = true, total
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		if err := a.run(ctx); err != nil {
			slog.Warn("analyze after bulk writes failed", "error", err)
		} else {
			slog.Info("analyzed after bulk writes", "resources_written", total, "took", time.Since(start).Round(time.Millisecond).String())
		}
		a.mu.Lock()
		a.running = false
		a.mu.Unlock()
	}()
}
