package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/hce-fhir/hce/store"
)

// reconcileFlags say where the desired Citus workers come from and how
// often the reconcile loop looks.
type reconcileFlags struct {
	workers  workerList
	srv      string
	follow   bool
	interval time.Duration
}

// register declares the flags with prefix (cluster- in hce serve, empty in
// hce cluster reconcile, where --worker is the command's own).
func (f *reconcileFlags) register(fs *flag.FlagSet, prefix string) {
	if prefix != "" {
		fs.Var(&f.workers, prefix+"workers", "workers the reconcile loop keeps registered, HOST:PORT separated by commas (env HCE_"+strings.ToUpper(strings.ReplaceAll(prefix, "-", "_"))+"WORKERS)")
	}
	fs.StringVar(&f.srv, prefix+"workers-srv", "", "DNS SRV name listing the workers, e.g. _postgres._tcp.hce-worker.hce.svc.cluster.local, the headless Service of a StatefulSet (env HCE_"+strings.ToUpper(strings.ReplaceAll(prefix, "-", "_"))+"WORKERS_SRV)")
	fs.BoolVar(&f.follow, prefix+"reconcile-follow", false, "do not register or remove workers (Patroni's Citus mode registers each group's primary): start a rebalance when the registered workers change (env HCE_"+strings.ToUpper(strings.ReplaceAll(prefix, "-", "_"))+"RECONCILE_FOLLOW)")
	fs.DurationVar(&f.interval, prefix+"reconcile-interval", 30*time.Second, "time between two reconcile passes (env HCE_"+strings.ToUpper(strings.ReplaceAll(prefix, "-", "_"))+"RECONCILE_INTERVAL)")
}

// check rejects a reconcile without a source of workers.
func (f *reconcileFlags) check(prefix string) error {
	if len(f.workers) == 0 && f.srv == "" && !f.follow {
		return fmt.Errorf("the reconcile loop needs --%sworkers, --%sworkers-srv or --%sreconcile-follow", prefix, prefix, prefix)
	}
	if f.interval <= 0 {
		return fmt.Errorf("--%sreconcile-interval must be positive", prefix)
	}
	return nil
}

// desired returns the worker set: the static list and the SRV targets,
// sorted and without duplicates. A failed lookup is an error, never an
// empty set, so that the loop does not drain workers it merely cannot see.
func (f *reconcileFlags) desired(ctx context.Context) ([]store.Worker, error) {
	var out []store.Worker
	for _, hp := range f.workers {
		host, port, err := splitHostPort(hp)
		if err != nil {
			return nil, err
		}
		out = append(out, store.Worker{Host: host, Port: port})
	}
	if f.srv != "" {
		_, addrs, err := net.DefaultResolver.LookupSRV(ctx, "", "", f.srv)
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", f.srv, err)
		}
		for _, a := range addrs {
			out = append(out, store.Worker{Host: strings.TrimSuffix(a.Target, "."), Port: int(a.Port)})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no worker found: nothing to reconcile")
	}
	slices.SortFunc(out, func(a, b store.Worker) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(out), nil
}

// reconcileLoop runs a pass at once and then every interval until ctx ends,
// logging what each pass changed.
func reconcileLoop(ctx context.Context, rec *store.Reconciler, f *reconcileFlags, log *slog.Logger) {
	for {
		reconcileOnce(ctx, rec, f, log)
		select {
		case <-ctx.Done():
			return
		case <-time.After(f.interval):
		}
	}
}

// reconcileOnce makes one pass and logs it.
func reconcileOnce(ctx context.Context, rec *store.Reconciler, f *reconcileFlags, log *slog.Logger) (store.ReconcileStatus, error) {
	if f.follow {
		st, err := rec.Follow(ctx)
		if err != nil {
			log.Warn("cluster reconcile", "error", err.Error())
		} else if st.RebalanceStarted {
			log.Info("cluster reconcile: the workers changed, rebalance started", "workers", st.Desired)
		}
		return st, err
	}
	want, err := f.desired(ctx)
	if err != nil {
		log.Warn("cluster reconcile", "error", err.Error())
		return rec.Status(), err
	}
	st, err := rec.Reconcile(ctx, want)
	switch {
	case err != nil:
		log.Warn("cluster reconcile", "desired", st.Desired, "error", err.Error())
	case len(st.Registered)+len(st.Drained)+len(st.Skipped) > 0:
		log.Info("cluster reconcile", "desired", st.Desired, "registered", st.Registered, "drained", st.Drained,
			"not_drained_unreachable", st.Skipped, "rebalance_started", st.RebalanceStarted)
	}
	return st, err
}

// clusterReconcile is hce cluster reconcile: one pass, or with --loop a
// pass every interval until interrupted.
func clusterReconcile(ctx context.Context, st *store.Store, f *reconcileFlags, loop bool, stdout, stderr io.Writer) error {
	log := newLogger(stderr)
	rec := st.NewReconciler()
	if loop {
		reconcileLoop(ctx, rec, f, log)
		return nil
	}
	s, err := reconcileOnce(ctx, rec, f, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "desired: %s\n", strings.Join(s.Desired, ", "))
	for _, line := range []struct {
		label string
		ws    []string
	}{{"registered", s.Registered}, {"drained and removed", s.Drained}, {"not drained (unreachable)", s.Skipped}} {
		if len(line.ws) > 0 {
			fmt.Fprintf(stdout, "%s: %s\n", line.label, strings.Join(line.ws, ", "))
		}
	}
	if s.RebalanceStarted {
		fmt.Fprintln(stdout, "rebalance started: follow it with hce cluster status or /admin/cluster")
	} else if len(s.Registered)+len(s.Drained) == 0 {
		fmt.Fprintln(stdout, "the workers match; nothing to do")
	}
	return nil
}

// operations is the Operations of the REST layer: the store's, with the
// reconcile loop's last pass in /admin/cluster when it runs.
type operations struct {
	*store.Store
	rec *store.Reconciler
}

// clusterReport is /admin/cluster: the cluster and the reconcile loop.
type clusterReport struct {
	*store.ClusterInfo
	Reconcile *store.ReconcileStatus `json:"reconcile,omitempty"`
}

// Cluster describes the cluster and, when the loop runs, its last pass.
func (o operations) Cluster(ctx context.Context) (any, error) {
	info, err := o.ClusterInfo(ctx)
	if err != nil {
		return nil, err
	}
	r := clusterReport{ClusterInfo: info}
	if o.rec != nil {
		st := o.rec.Status()
		r.Reconcile = &st
	}
	return r, nil
}
