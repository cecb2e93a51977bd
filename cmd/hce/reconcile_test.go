package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/internal/testcitus"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
	"github.com/jackc/pgx/v5/pgxpool"
)

// adminCluster is the part of /admin/cluster the reconcile test reads.
type adminCluster struct {
	Mode    string
	Workers []struct {
		Host   string
		Port   int
		Shards int
	}
	Rebalance *store.RebalanceProgress
	Reconcile *store.ReconcileStatus
}

// shardsOf returns the shard placements per HOST:PORT.
func (a adminCluster) shardsOf() map[string]int {
	out := map[string]int{}
	for _, w := range a.Workers {
		out[w.Host+":"+strconv.Itoa(w.Port)] = w.Shards
	}
	return out
}

// TestClusterReconcileCitus runs the reconcile loop against a real Citus
// coordinator and three workers started for the test: a worker added to the
// desired set is registered and gets shards by a rebalance started for it,
// a worker dropped from the set is drained and removed, and no patient is
// lost on the way; /admin/cluster and /metrics show the progress.
func TestClusterReconcileCitus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four PostgreSQL servers")
	}
	c := testcitus.Start(t, 3)
	w1, w2, w3 := c.Workers[0], c.Workers[1], c.Workers[2]
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(c.Coordinator.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["hce.shard_count"] = "4"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := store.New(pool)
	rec := st.NewReconciler()
	worker := func(n testcitus.Node) store.Worker { return store.Worker{Host: n.Host, Port: n.Port} }

	s, err := rec.Reconcile(ctx, []store.Worker{worker(w1)})
	if err != nil || !slices.Equal(s.Registered, []string{w1.Addr()}) {
		t.Fatalf("first pass: %+v, %v; want %s registered", s, err, w1.Addr())
	}
	if err := store.MigrateUp(ctx, pool); err != nil {
		t.Fatal(err)
	}
	cl := testServerWith(t, st, rec, rest.Options{})
	var ids []string
	for i := range 20 {
		ids = append(ids, cl.do("POST", "/fhir/Patient", patient(fmt.Sprintf("Reconcile%d", i))).must(t, 201).str("id"))
	}
	cluster := func() adminCluster {
		t.Helper()
		var a adminCluster
		if err := json.Unmarshal(cl.do("GET", "/admin/cluster", nil).must(t, 200).raw, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	if got := cluster().shardsOf(); len(got) != 1 || got[w1.Addr()] == 0 {
		t.Fatalf("before the second worker: shards %v", got)
	}

	// A second worker in the set: registered, and a rebalance moves shards to it.
	s, err = rec.Reconcile(ctx, []store.Worker{worker(w1), worker(w2)})
	if err != nil || !slices.Equal(s.Registered, []string{w2.Addr()}) || !s.RebalanceStarted {
		t.Fatalf("second pass: %+v, %v; want %s registered and a rebalance", s, err, w2.Addr())
	}
	took := waitRebalance(t, ctx, st)
	t.Logf("rebalance onto the second worker: %s", took)
	a := cluster()
	if got := a.shardsOf(); got[w1.Addr()] == 0 || got[w2.Addr()] == 0 {
		t.Errorf("after the rebalance: shards %v, want some on each worker", got)
	}
	if a.Reconcile == nil || !slices.Equal(a.Reconcile.Registered, []string{w2.Addr()}) || a.Reconcile.Passes != 2 {
		t.Errorf("/admin/cluster reconcile %+v", a.Reconcile)
	}
	if a.Rebalance == nil || a.Rebalance.State != "finished" || a.Rebalance.Tasks["done"] == 0 {
		t.Errorf("/admin/cluster rebalance %+v, want finished with tasks done", a.Rebalance)
	}
	// The cluster metrics are read in the background, at most every 10 s.
	wants := []string{`hce_cluster_workers 2`, `hce_cluster_rebalance_tasks{state="done"} `, `hce_cluster_reconcile_passes_total 2`,
		`hce_cluster_reconcile_changes_total 2`, `hce_db_primary_changes_total{group="0"} 0`}
	for _, w := range []testcitus.Node{w1, w2} {
		wants = append(wants, `hce_cluster_worker_shards{worker="`+w.Addr()+`"} `)
	}
	var metrics string
	waitFor(30*time.Second, func() bool {
		metrics = string(cl.do("GET", "/metrics", nil).must(t, 200).raw)
		for _, want := range wants {
			if !strings.Contains(metrics, want) {
				return false
			}
		}
		return true
	})
	for _, want := range wants {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(metrics, "hce_"))
		}
	}
	for _, w := range []testcitus.Node{w1, w2} {
		re := regexp.MustCompile(`hce_cluster_worker_shards\{worker="` + regexp.QuoteMeta(w.Addr()) + `"\} ([1-9]\d*)`)
		if !re.MatchString(metrics) {
			t.Errorf("metrics show no shards on %s:\n%s", w.Addr(), grepLines(metrics, "hce_cluster"))
		}
	}
	checkDashboardMetrics(t, metrics, true)

	// The second worker dropped from the set: drained, then removed.
	start := time.Now()
	s, err = rec.Reconcile(ctx, []store.Worker{worker(w1)})
	t.Logf("drain and removal of the second worker: %s", time.Since(start).Round(time.Millisecond))
	if err != nil || !slices.Equal(s.Drained, []string{w2.Addr()}) {
		t.Fatalf("third pass: %+v, %v; want %s drained", s, err, w2.Addr())
	}
	waitRebalance(t, ctx, st)
	if got := cluster().shardsOf(); len(got) != 1 || got[w1.Addr()] == 0 {
		t.Errorf("after the drain: shards %v, want all on %s", got, w1.Addr())
	}
	for _, id := range ids {
		cl.do("GET", "/fhir/Patient/"+id, nil).must(t, 200)
	}

	// Following a cluster whose workers something else registers (Patroni):
	// a changed set is seen, and a rebalance started when one is needed.
	follow := st.NewReconciler()
	if s, err := follow.Follow(ctx); err != nil || s.RebalanceStarted {
		t.Fatalf("first follow pass: %+v, %v; want the workers recorded only", s, err)
	}
	if _, err := st.RegisterWorker(ctx, w3.Host, w3.Port); err != nil {
		t.Fatal(err)
	}
	// A worker registered by someone else (a pod's start hook) between two
	// passes: nothing to register, but the set grew, so a rebalance starts.
	if s, err := rec.Reconcile(ctx, []store.Worker{worker(w1), worker(w3)}); err != nil || len(s.Registered) != 0 || !s.RebalanceStarted {
		t.Fatalf("pass after a registration by someone else: %+v, %v; want a rebalance", s, err)
	}
	waitRebalance(t, ctx, st)
	if got := cluster().shardsOf(); got[w3.Addr()] == 0 {
		t.Errorf("after the rebalance: shards %v, want some on %s", got, w3.Addr())
	}
	if s, err := follow.Follow(ctx); err != nil || s.Changes != 1 {
		t.Fatalf("follow pass after a registration: %+v, %v; want the change seen", s, err)
	}
	if s, err := follow.Follow(ctx); err != nil || s.RebalanceStarted {
		t.Errorf("follow pass without a change: %+v, %v; want nothing started", s, err)
	}
	if _, err := rec.Reconcile(ctx, []store.Worker{worker(w1)}); err != nil {
		t.Fatal(err)
	}
	waitRebalance(t, ctx, st)

	// An empty set changes nothing.
	if s, err := rec.Reconcile(ctx, nil); err != nil || len(s.Registered)+len(s.Drained) != 0 {
		t.Errorf("empty set: %+v, %v", s, err)
	}
	if got := cluster().shardsOf(); len(got) != 1 {
		t.Errorf("the empty set changed the workers: %v", got)
	}
}

// waitRebalance waits for the latest background rebalance to end and
// returns how long it waited.
func waitRebalance(t *testing.T, ctx context.Context, st *store.Store) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		s, err := st.Rebalance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch s.State {
		case "finished", "none":
			return time.Since(start).Round(time.Millisecond)
		case "failed", "cancelled":
			t.Fatalf("rebalance %s: %s", s.State, s.Details)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("rebalance still %s: %s", s.State, s.Details)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
