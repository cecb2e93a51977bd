package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/internal/testdb"
)

// TestAnalyzeAfterBulkWrites loads more than analyzeEvery resources and
// waits for the planner statistics of resources to be refreshed without
// anyone asking.
func TestAnalyzeAfterBulkWrites(t *testing.T) {
	pool := testdb.Pool(t, MigrateUp)
	ctx := context.Background()
	if New(pool).CheckCitus(ctx) == nil {
		t.Skip("the shards' statistics are not visible in the coordinator's pg_stat_user_tables")
	}
	st := New(pool)
	// NULL until the table was first analyzed: pgx cannot scan -infinity
	// into a time.Time, so the times are read as nullable.
	var before *time.Time
	if err := pool.QueryRow(ctx, `SELECT greatest(last_analyze, last_autoanalyze) FROM pg_stat_user_tables WHERE relname = 'resources'`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	p := fhir.NewID(42)
	for chunk := 0; chunk*500 < analyzeEvery+500; chunk++ {
		var rs []*fhir.Resource
		for i := range 500 {
			rs = append(rs, mustParse(t, fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"text":"bulk %d"},"subject":{"reference":"Patient/%s"}}`, i, p)))
		}
		if _, err := st.Load(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var last *time.Time
		if err := pool.QueryRow(ctx, `SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'resources'`).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if last != nil && (before == nil || last.After(*before)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("resources not analyzed within 60 s of %d new resources (last ANALYZE %s)", analyzeEvery+500, func() string {
				if last == nil {
					return "never"
				}
				return last.String()
			}())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestAnalyzerThreshold checks when the analyzer runs: after analyzeEvery
// resources, then after a quarter more than at its last run, one at a time.
func TestAnalyzerThreshold(t *testing.T) {
	runs := make(chan int64, 10)
	a := &analyzer{}
	a.run = func(context.Context) error { runs <- a.written.Load(); return nil }
	wait := func() int64 {
		select {
		case n := <-runs:
			for a.mu.Lock(); a.running; a.mu.Lock() {
				a.mu.Unlock()
				time.Sleep(time.Millisecond)
			}
			a.mu.Unlock()
			return n
		case <-time.After(5 * time.Second):
			t.Fatal("no ANALYZE")
			return 0
		}
	}
	a.wrote(analyzeEvery - 1)
	a.wrote(1)
	if n := wait(); n != analyzeEvery {
		t.Errorf("first ANALYZE at %d, want %d", n, analyzeEvery)
	}
	a.wrote(100_000)
	if n := wait(); n != analyzeEvery+100_000 {
		t.Errorf("second ANALYZE at %d", n)
	}
	a.wrote(analyzeEvery) // less than a quarter of 110,000
	select {
	case n := <-runs:
		t.Errorf("ANALYZE at %d, before a quarter more was written", n)
	case <-time.After(100 * time.Millisecond):
	}
	a.wrote(20_000)
	if n := wait(); n != 2*analyzeEvery+120_000 {
		t.Errorf("third ANALYZE at %d", n)
	}
}
