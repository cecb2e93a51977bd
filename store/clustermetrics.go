package store

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// RebalanceProgress is the state of the latest background rebalance with its
// tasks counted by state (done, running, runnable, blocked, error …).
type RebalanceProgress struct {
	State string         `json:"state"`
	Tasks map[string]int `json:"tasks"`
}

// progress reads Citus's job details into a RebalanceProgress.
func (st RebalanceStatus) progress() RebalanceProgress {
	p := RebalanceProgress{State: st.State, Tasks: map[string]int{}}
	var d struct {
		Counts map[string]int `json:"task_state_counts"`
	}
	if json.Unmarshal([]byte(st.Details), &d) == nil {
		for k, v := range d.Counts {
			p.Tasks[k] = v
		}
	}
	return p
}

const (
	// serverIdentity changes when the server behind the pool is another
	// one (a failover) or restarted.
	serverIdentity = `SELECT coalesce(host(inet_server_addr()), 'local') || ':' || coalesce(inet_server_port(), 0) || ' ' || pg_postmaster_start_time()::text`
	// groupPrimaries names the primary of each worker group: Patroni's
	// Citus mode updates it when a group fails over.
	groupPrimaries = `SELECT groupid, nodename || ':' || nodeport FROM pg_dist_node WHERE noderole = 'primary' AND groupid <> 0`
)

// clusterCollector exposes the cluster's state as Prometheus metrics. A
// scrape answers from the last reading at once and, when that is older than
// the refresh interval, starts the next reading in the background: a slow
// or unreachable node never delays /metrics, and the figures lag by at most
// about one interval. (A refresh of 0 reads at every scrape, before
// answering.)
type clusterCollector struct {
	s          *Store
	rec        *Reconciler
	refresh    time.Duration
	refreshing atomic.Bool

	mu        sync.Mutex // guards the reading below
	read      time.Time
	info      *ClusterInfo
	rebalance RebalanceProgress
	primaries map[string]string // group ("0" is the coordinator) → identity
	changes   map[string]float64

	workers, up, shards, bytes, rows, rebalRunning, rebalTasks *prometheus.Desc
	primaryChanges, passes, changed, reconcileErrors           *prometheus.Desc
}

// ClusterCollector returns a Prometheus collector of the cluster: workers
// with their shards, bytes and rows, the rebalance's progress, primary
// changes per group (failovers) and, when rec is not nil, the reconcile
// loop's passes.
func (s *Store) ClusterCollector(rec *Reconciler) prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &clusterCollector{s: s, rec: rec, refresh: 10 * time.Second,
		primaries: map[string]string{}, changes: map[string]float64{"0": 0},
		workers:         d("hce_cluster_workers", "Citus workers registered as primaries (0 on plain PostgreSQL)."),
		up:              d("hce_cluster_worker_up", "1 when the worker answers the coordinator, 0 otherwise.", "worker"),
		shards:          d("hce_cluster_worker_shards", "Shard placements on the worker.", "worker"),
		bytes:           d("hce_cluster_worker_bytes", "Bytes of the shards on the worker.", "worker"),
		rows:            d("hce_cluster_worker_resources", "Resource rows on the worker (the planner's estimate).", "worker"),
		rebalRunning:    d("hce_cluster_rebalance_running", "1 while a shard rebalance is scheduled or running."),
		rebalTasks:      d("hce_cluster_rebalance_tasks", "Tasks of the latest shard rebalance by state.", "state"),
		primaryChanges:  d("hce_db_primary_changes_total", "Changes of primary seen per Citus group (0: the database HCE connects to): failovers and restarts.", "group"),
		passes:          d("hce_cluster_reconcile_passes_total", "Passes of the cluster reconcile loop."),
		changed:         d("hce_cluster_reconcile_changes_total", "Reconcile passes that registered or removed a worker."),
		reconcileErrors: d("hce_cluster_reconcile_failed", "1 when the last reconcile pass failed."),
	}
}

// Describe sends the metrics' descriptions.
func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.workers, c.up, c.shards, c.bytes, c.rows, c.rebalRunning, c.rebalTasks,
		c.primaryChanges, c.passes, c.changed, c.reconcileErrors} {
		ch <- d
	}
}

// Collect reads the cluster (at most every refresh interval) and sends the
// metrics.
func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	stale := time.Since(c.read) >= c.refresh
	c.mu.Unlock()
	switch {
	case c.refresh <= 0:
		c.update()
	case stale && c.refreshing.CompareAndSwap(false, true):
		go func() {
			defer c.refreshing.Store(false)
			c.update()
		}()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	n, running := 0, 0.0
	if c.info != nil {
		n = len(c.info.Workers)
		for _, w := range c.info.Workers {
			name := w.Host + ":" + strconv.Itoa(w.Port)
			up := 0.0
			if w.Reachable {
				up = 1
			}
			gauge(c.up, up, name)
			gauge(c.shards, float64(w.Shards), name)
			gauge(c.bytes, float64(w.Bytes), name)
			gauge(c.rows, float64(w.Resources), name)
		}
	}
	if c.rebalance.State == "running" || c.rebalance.State == "scheduled" {
		running = 1
	}
	gauge(c.workers, float64(n))
	gauge(c.rebalRunning, running)
	for _, state := range []string{"done", "running", "runnable", "blocked", "error", "cancelled"} {
		gauge(c.rebalTasks, float64(c.rebalance.Tasks[state]), state)
	}
	for g, v := range c.changes {
		ch <- prometheus.MustNewConstMetric(c.primaryChanges, prometheus.CounterValue, v, g)
	}
	if c.rec != nil {
		st := c.rec.Status()
		ch <- prometheus.MustNewConstMetric(c.passes, prometheus.CounterValue, float64(st.Passes))
		ch <- prometheus.MustNewConstMetric(c.changed, prometheus.CounterValue, float64(st.Changes))
		failed := 0.0
		if st.Error != "" {
			failed = 1
		}
		gauge(c.reconcileErrors, failed)
	}
}

// update reads the cluster, bounded to 5 seconds; what cannot be read keeps
// its last value.
func (c *clusterCollector) update() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	primaries := map[string]string{}
	var id string
	if err := c.s.q().QueryRow(ctx, serverIdentity).Scan(&id); err == nil {
		primaries["0"] = id
	}
	info, err := c.s.ClusterInfo(ctx)
	var rebalance *RebalanceProgress
	if err != nil {
		info = nil
	} else {
		if info.Mode == "citus" {
			if rb, err := c.s.Rebalance(ctx); err == nil {
				p := rb.progress()
				rebalance = &p
			}
			if rows, err := c.s.q().Query(ctx, groupPrimaries); err == nil {
				_ = forEach(rows, func(r pgx.Rows) error {
					var g int
					var node string
					if err := r.Scan(&g, &node); err != nil {
						return err
					}
					primaries[strconv.Itoa(g)] = node
					return nil
				})
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read = time.Now()
	if info != nil {
		c.info = info
	}
	if rebalance != nil {
		c.rebalance = *rebalance
	}
	for g, id := range primaries {
		if old, seen := c.primaries[g]; seen && old != id {
			c.changes[g]++
		} else if !seen {
			c.changes[g] = c.changes[g] // a group seen for the first time shows 0
		}
		c.primaries[g] = id
	}
}
