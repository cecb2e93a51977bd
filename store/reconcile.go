package store

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Worker is a Citus worker's address as pg_dist_node names it.
type Worker struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// String is HOST:PORT.
func (w Worker) String() string { return net.JoinHostPort(w.Host, strconv.Itoa(w.Port)) }

// ReconcileStatus is the last pass of a Reconciler, for GET /admin/cluster
// and the metrics.
type ReconcileStatus struct {
	// Desired is the worker set the last pass was given.
	Desired []string `json:"desired"`
	// Registered, Drained and Removed are the workers that pass added,
	// emptied of shards and removed from the cluster.
	Registered []string `json:"registered,omitempty"`
	Drained    []string `json:"drained,omitempty"`
	// Skipped lists the workers left out of the desired set that could not
	// be drained (unreachable): they keep their shards and stay registered.
	Skipped []string `json:"skipped,omitempty"`
	// RebalanceStarted is true when the pass started a shard rebalance.
	RebalanceStarted bool `json:"rebalanceStarted"`
	// Passes counts the passes; Changes those that changed the node set.
	Passes  int64 `json:"passes"`
	Changes int64 `json:"changes"`
	// Error is the failure of the last pass, if any.
	Error string    `json:"error,omitempty"`
	At    time.Time `json:"at"`
}

// Reconciler brings the Citus workers in line with a desired set: it
// registers the missing ones, drains and removes the ones no longer wanted,
// and starts a rebalance when the set changed, so that a new worker gets its
// share of the shards without anyone running hce cluster rebalance.
type Reconciler struct {
	s *Store

	mu   sync.Mutex
	last ReconcileStatus
	seen []Worker // the registered workers of the last Follow pass
}

// NewReconciler returns a Reconciler of the cluster behind s.
func (s *Store) NewReconciler() *Reconciler { return &Reconciler{s: s} }

// Status returns the result of the last pass.
func (r *Reconciler) Status() ReconcileStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

const (
	registeredWorkers = `SELECT nodename, nodeport FROM pg_dist_node
WHERE noderole = 'primary' AND groupid <> 0 ORDER BY nodename, nodeport`
	drainNode = `SELECT citus_drain_node($1, $2, shard_transfer_mode := 'auto')`
	// cleanupOrphans drops the shard copies a move left behind, while their
	// node is still registered: once it is removed, Citus cannot reach them,
	// and the leftover cleanup records block later moves of those shards.
	cleanupOrphans = `CALL citus_cleanup_orphaned_resources()`
	removeNode     = `SELECT citus_remove_node($1, $2)`
	workerUp       = `SELECT success FROM run_command_on_workers('SELECT 1') WHERE nodename = $1 AND nodeport = $2`
)

// Reconcile makes one pass towards desired. An empty desired set changes
// nothing: a failed DNS lookup must not drain the cluster. A worker left
// out of the set is drained only while it answers; one that does not keeps
// its shards (it holds the only copy) and is reported in Skipped. A
// rebalance is started, unless one is running already, after a worker was
// registered or removed, by this pass or by anyone since the last one.
func (r *Reconciler) Reconcile(ctx context.Context, desired []Worker) (ReconcileStatus, error) {
	st := ReconcileStatus{At: time.Now().UTC()}
	for _, w := range desired {
		st.Desired = append(st.Desired, w.String())
	}
	err := r.pass(ctx, desired, &st)
	r.mu.Lock()
	st.Passes, st.Changes = r.last.Passes+1, r.last.Changes
	if len(st.Registered)+len(st.Drained) > 0 {
		st.Changes++
	}
	if err != nil {
		st.Error = err.Error()
	}
	r.last = st
	r.mu.Unlock()
	return st, err
}

// Follow makes one pass for a cluster whose workers something else
// registers (Patroni's Citus mode, which registers each group's primary):
// when the registered workers differ from those of the previous pass, it
// starts a rebalance. The first pass only records them.
func (r *Reconciler) Follow(ctx context.Context) (ReconcileStatus, error) {
	st := ReconcileStatus{At: time.Now().UTC()}
	current, err := r.registered(ctx)
	if err == nil {
		for _, w := range current {
			st.Desired = append(st.Desired, w.String())
		}
		r.mu.Lock()
		first, changed := r.seen == nil, !slices.Equal(r.seen, current)
		r.seen = current
		r.mu.Unlock()
		if changed && !first {
			st.Registered = st.Desired
			err = r.rebalance(ctx, &st)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st.Passes, st.Changes = r.last.Passes+1, r.last.Changes
	if st.Registered != nil {
		st.Changes++
	}
	if err != nil {
		st.Error = err.Error()
	}
	r.last = st
	return st, err
}

// registered returns the workers registered as primaries, in order.
func (r *Reconciler) registered(ctx context.Context) ([]Worker, error) {
	if err := r.s.CheckCitus(ctx); err != nil {
		return nil, err
	}
	rows, err := r.s.q().Query(ctx, registeredWorkers)
	if err != nil {
		return nil, translate("reconcile", err)
	}
	current := []Worker{}
	err = forEach(rows, func(row pgx.Rows) error {
		var w Worker
		if err := row.Scan(&w.Host, &w.Port); err != nil {
			return err
		}
		current = append(current, w)
		return nil
	})
	return current, translate("reconcile", err)
}

// rebalance starts a rebalance unless one is running.
func (r *Reconciler) rebalance(ctx context.Context, st *ReconcileStatus) error {
	if cur, err := r.s.Rebalance(ctx); err == nil && (cur.State == "running" || cur.State == "scheduled") {
		return nil // the running rebalance plans again when it ends
	}
	started, err := r.s.StartRebalance(ctx)
	st.RebalanceStarted = started
	return err
}

func (r *Reconciler) pass(ctx context.Context, desired []Worker, st *ReconcileStatus) error {
	if len(desired) == 0 {
		return r.s.CheckCitus(ctx)
	}
	current, err := r.registered(ctx)
	if err != nil {
		return err
	}
	for _, w := range desired {
		changed, err := r.s.RegisterWorker(ctx, w.Host, w.Port)
		if err != nil {
			return fmt.Errorf("store: reconcile: register %s: %w", w, err)
		}
		if changed {
			st.Registered = append(st.Registered, w.String())
		}
	}
	for _, w := range current {
		if slices.Contains(desired, w) {
			continue
		}
		var up bool
		if err := r.s.q().QueryRow(ctx, workerUp, w.Host, w.Port).Scan(&up); err != nil || !up {
			st.Skipped = append(st.Skipped, w.String())
			continue
		}
		if _, err := r.s.pool.Exec(ctx, drainNode, w.Host, w.Port); err != nil {
			return translate("reconcile: drain "+w.String(), err)
		}
		if _, err := r.s.pool.Exec(ctx, cleanupOrphans); err != nil {
			return translate("reconcile: clean up after draining "+w.String(), err)
		}
		if _, err := r.s.pool.Exec(ctx, removeNode, w.Host, w.Port); err != nil {
			return translate("reconcile: remove "+w.String(), err)
		}
		st.Drained = append(st.Drained, w.String())
	}
	// A worker that registered itself (a pod's start hook) since the last
	// pass changes the set as much as one registered here.
	now, err := r.registered(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	grown := r.seen != nil && !slices.Equal(r.seen, now)
	r.seen = now
	r.mu.Unlock()
	if len(st.Registered) == 0 && len(st.Drained) == 0 && !grown {
		return nil
	}
	return r.rebalance(ctx, st)
}
