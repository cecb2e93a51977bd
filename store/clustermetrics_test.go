package store

import (
	"testing"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/prometheus/client_golang/prometheus"
)

// TestPrimaryChanges checks the failover counter on a real database: the
// first reading of a group's primary shows 0, the same primary again
// changes nothing, and another server behind the pool (a failover or a
// restart) counts one.
func TestPrimaryChanges(t *testing.T) {
	s := New(testdb.Pool(t, MigrateUp))
	c := s.ClusterCollector(nil).(*clusterCollector)
	c.refresh = 0 // read the database at every scrape
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	names := map[string]bool{}
	count := func() float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		v := -1.0
		for _, mf := range mfs {
			names[mf.GetName()] = true
			if mf.GetName() != "hce_db_primary_changes_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == "0" {
					v = m.GetCounter().GetValue()
				}
			}
		}
		if v < 0 {
			t.Fatal("no hce_db_primary_changes_total{group=\"0\"}")
		}
		return v
	}
	if got := count(); got != 0 {
		t.Errorf("first reading: %v, want 0", got)
	}
	if got := count(); got != 0 {
		t.Errorf("same primary: %v, want 0", got)
	}
	c.mu.Lock()
	c.primaries["0"] = "10.0.0.1:5432 an earlier primary"
	c.mu.Unlock()
	if got := count(); got != 1 {
		t.Errorf("after a change of primary: %v, want 1", got)
	}
	for _, name := range []string{"hce_cluster_workers", "hce_cluster_rebalance_running", "hce_cluster_rebalance_tasks"} {
		if !names[name] {
			t.Errorf("no %s", name)
		}
	}
}
