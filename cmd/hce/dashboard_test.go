package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
	"github.com/prometheus/client_golang/prometheus"
)

// dashboardFile is the Grafana dashboard the chart ships.
const dashboardFile = "../../helm/dashboards/hce.json"

var metricName = regexp.MustCompile(`\bhce_[a-z0-9_]+`)

// dashboardMetrics returns the metric names the dashboard's queries use.
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var names []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			found := metricName.FindAllString(tg.Expr, -1)
			if len(found) == 0 {
				t.Errorf("panel %q: query %q names no HCE metric", p.Title, tg.Expr)
			}
			names = append(names, found...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// exposes reports whether the Prometheus text has a sample of name.
func exposes(metrics, name string) bool {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `[{ ]`).MatchString(metrics)
}

// perWorker marks the metrics that have a sample per Citus worker, and so
// none on plain PostgreSQL.
func perWorker(name string) bool { return strings.HasPrefix(name, "hce_cluster_worker_") }

// checkDashboardMetrics checks that a live server's /metrics has a sample
// of every metric the dashboard queries; on plain PostgreSQL, where there
// are no workers, the per-worker ones are skipped (TestDashboardMetrics
// checks their descriptions instead).
func checkDashboardMetrics(t *testing.T, metrics string, citus bool) {
	t.Helper()
	names := dashboardMetrics(t)
	if len(names) < 15 {
		t.Fatalf("the dashboard queries only %d metrics: %v", len(names), names)
	}
	for _, name := range names {
		if !citus && perWorker(name) {
			continue
		}
		if !exposes(metrics, name) {
			t.Errorf("the dashboard queries %s, which /metrics does not expose", name)
		}
	}
}

// TestDashboardMetrics scrapes a live server's /metrics and checks every
// metric the Grafana dashboard queries; the per-worker ones, absent on
// plain PostgreSQL, must at least be described by the server's collectors
// (TestClusterReconcileCitus scrapes them on Citus).
func TestDashboardMetrics(t *testing.T) {
	st := store.New(testdb.Pool(t, store.MigrateUp))
	c := testServerWith(t, st, st.NewReconciler(), rest.Options{})
	c.do("GET", "/fhir/metadata", nil).must(t, 200)
	c.do("GET", "/fhir/Patient/missing-dashboard", nil).must(t, 404)
	metrics := string(c.do("GET", "/metrics", nil).must(t, 200).raw)
	citus := clusterMode(t, c) == "citus"
	// The per-worker figures are read in the background: on Citus, wait
	// for the first reading.
	for deadline := time.Now().Add(20 * time.Second); citus && !exposes(metrics, "hce_cluster_worker_up") && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		metrics = string(c.do("GET", "/metrics", nil).must(t, 200).raw)
	}
	checkDashboardMetrics(t, metrics, citus)

	described := map[string]bool{}
	ch := make(chan *prometheus.Desc, 64)
	go func() { st.ClusterCollector(nil).Describe(ch); close(ch) }()
	for d := range ch {
		if m := regexp.MustCompile(`fqName: "([^"]+)"`).FindStringSubmatch(d.String()); m != nil {
			described[m[1]] = true
		}
	}
	for _, name := range dashboardMetrics(t) {
		if perWorker(name) && !described[name] {
			t.Errorf("the dashboard queries %s, which no collector describes", name)
		}
	}
}
