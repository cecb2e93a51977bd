package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hce-fhir/hce/store"
)

// workerList collects repeated --worker HOST:PORT flags.
type workerList []string

func (w *workerList) String() string { return strings.Join(*w, ",") }

func (w *workerList) Set(v string) error {
	for _, hp := range strings.Split(v, ",") {
		if _, _, err := splitHostPort(hp); err != nil {
			return err
		}
		*w = append(*w, hp)
	}
	return nil
}

func splitHostPort(hp string) (string, int, error) {
	host, p, err := net.SplitHostPort(strings.TrimSpace(hp))
	if err != nil {
		return "", 0, fmt.Errorf("worker %q: want HOST:PORT", hp)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("worker %q: bad port", hp)
	}
	return host, port, nil
}

func clusterCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("cluster", stderr)
	var d dbFlags
	d.register(fs)
	var workers workerList
	fs.Var(&workers, "worker", "worker HOST:PORT to register; repeat or separate with commas (env HCE_WORKER)")
	wait := fs.Duration("wait", 2*time.Minute, "how long register waits for the coordinator and workers to accept connections (env HCE_WAIT)")
	asJSON := fs.Bool("json", false, "status as JSON (env HCE_JSON)")
	var rf reconcileFlags
	rf.register(fs, "")
	loop := fs.Bool("loop", false, "reconcile: a pass every --reconcile-interval until interrupted, instead of one (env HCE_LOOP)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: hce cluster status|register|rebalance|reconcile [flags]

  status     mode, Citus version, workers with shards and bytes, tables
  register   add the --worker HOST:PORT workers (idempotent)
  rebalance  move shards until the workers hold about the same bytes
  reconcile  make the workers those of --worker and --workers-srv: register
             missing ones, drain and remove the others (only while they
             answer), and start a rebalance when the set changed; with
             --reconcile-follow only rebalance when the registered workers
             change (Patroni registers them)

`)
		fs.PrintDefaults()
	}
	verb, err := subcommand(fs, "cluster", args, "status", "register", "rebalance", "reconcile")
	if err != nil {
		return err
	}
	if d.databaseURL == "" && verb != "status" {
		return errors.New("cluster " + verb + " needs --database-url (HCE_DATABASE_URL) of the Citus coordinator")
	}
	if verb == "register" && len(workers) == 0 {
		return errors.New("cluster register needs at least one --worker HOST:PORT")
	}
	if verb == "reconcile" {
		rf.workers = workers
		if err := rf.check(""); err != nil {
			return errors.New("cluster reconcile needs --worker HOST:PORT, --workers-srv NAME or --reconcile-follow")
		}
	}
	wctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	db, err := openDatabaseWait(wctx, d, stderr)
	if err != nil {
		return err
	}
	defer db.close()
	st := store.New(db.pool)
	if verb != "status" {
		if err := st.CheckCitus(ctx); err != nil {
			return err
		}
	}
	switch verb {
	case "status":
		return clusterStatus(ctx, st, stdout, *asJSON)
	case "register":
		for _, w := range workers {
			if err := registerWorker(wctx, st, w, stdout); err != nil {
				return err
			}
		}
		return nil
	case "reconcile":
		return clusterReconcile(ctx, st, &rf, *loop, stdout, stderr)
	default:
		return rebalance(ctx, st, stdout)
	}
}

// openDatabaseWait opens the database, retrying until ctx ends: in compose
// and Kubernetes the coordinator may still be starting.
func openDatabaseWait(ctx context.Context, d dbFlags, stderr io.Writer) (*database, error) {
	if d.databaseURL == "" {
		return openDatabase(ctx, d, newLogger(stderr))
	}
	for {
		db, err := openDatabase(ctx, d, newLogger(stderr))
		if err == nil {
			if err = db.pool.Ping(ctx); err == nil {
				return db, nil
			}
			db.close()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("database not reachable: %w", err)
		case <-time.After(time.Second):
		}
	}
}

// registerWorker waits until the worker accepts TCP connections, then adds it.
func registerWorker(ctx context.Context, st *store.Store, w string, stdout io.Writer) error {
	host, port, _ := splitHostPort(w)
	for {
		conn, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("worker %s does not accept connections: %w", w, err)
		case <-time.After(time.Second):
		}
	}
	for {
		changed, err := st.RegisterWorker(ctx, host, port)
		if err == nil {
			if changed {
				fmt.Fprintf(stdout, "worker %s registered\n", w)
			} else {
				fmt.Fprintf(stdout, "worker %s already registered\n", w)
			}
			return nil
		}
		if errors.Is(err, store.ErrNotCitus) {
			return err
		}
		// The worker's PostgreSQL may accept TCP before it accepts queries.
		select {
		case <-ctx.Done():
			return fmt.Errorf("register worker %s: %w", w, err)
		case <-time.After(2 * time.Second):
		}
	}
}

func rebalance(ctx context.Context, st *store.Store, stdout io.Writer) (err error) {
	if err := printSpread(ctx, st, stdout, "before"); err != nil {
		return err
	}
	started, err := st.StartRebalance(ctx)
	if err != nil {
		return err
	}
	if !started {
		fmt.Fprintln(stdout, "shards are balanced; nothing to move")
		return nil
	}
	defer func() {
		if err == nil {
			err = printSpread(ctx, st, stdout, "after")
		}
	}()
	last := ""
	for {
		s, err := st.Rebalance(ctx)
		if err != nil {
			return err
		}
		if line := s.State + " " + summarizeRebalance(s.Details); line != last {
			fmt.Fprintln(stdout, "rebalance:", line)
			last = line
		}
		switch s.State {
		case "finished", "none":
			return nil
		case "failed", "cancelled", "cancelling", "failing":
			err = fmt.Errorf("rebalance %s", s.State)
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// printSpread prints each worker's share of the data: shards, resources
// (the planner's count, refreshed first) and bytes, with the bytes as a
// share of the mean, which the rebalance evens out.
func printSpread(ctx context.Context, st *store.Store, stdout io.Writer, label string) error {
	if err := st.Analyze(ctx, "resources"); err != nil {
		return err
	}
	info, err := st.ClusterInfo(ctx)
	if err != nil {
		return err
	}
	var total int64
	for _, w := range info.Workers {
		total += w.Bytes
	}
	fmt.Fprintf(stdout, "%s:\n", label)
	for _, w := range info.Workers {
		share := 0.0
		if total > 0 {
			share = float64(w.Bytes) * float64(len(info.Workers)) / float64(total) * 100
		}
		fmt.Fprintf(stdout, "  %s:%d shards=%d resources=%d bytes=%d (%.0f%% of the mean)\n", w.Host, w.Port, w.Shards, w.Resources, w.Bytes, share)
	}
	return nil
}

func clusterStatus(ctx context.Context, st *store.Store, stdout io.Writer, asJSON bool) error {
	info, err := st.ClusterInfo(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	fmt.Fprintf(stdout, "mode:        %s\npostgres:    %s\n", info.Mode, info.PostgresVersion)
	if info.Mode == "citus" {
		fmt.Fprintf(stdout, "citus:       %s\ncoordinator: %s\nworkers:\n", info.CitusVersion, info.Coordinator)
		for _, w := range info.Workers {
			state := "reachable"
			if !w.Reachable {
				state = "UNREACHABLE: " + w.Error
			}
			fmt.Fprintf(stdout, "  %s:%d active=%t shards=%d resources=%d bytes=%d %s\n", w.Host, w.Port, w.Active, w.Shards, w.Resources, w.Bytes, state)
		}
	}
	for _, group := range []struct {
		name   string
		tables []store.Table
	}{{"distributed tables", info.DistributedTables}, {"reference tables", info.ReferenceTables}, {"local tables", info.LocalTables}} {
		if len(group.tables) == 0 {
			continue
		}
		fmt.Fprintf(stdout, "%s:\n", group.name)
		for _, t := range group.tables {
			fmt.Fprintf(stdout, "  %-24s %d bytes\n", t.Name, t.Bytes)
		}
	}
	return nil
}

// summarizeRebalance turns Citus's job details into "12 done, 1 running,
// 3 blocked; moving shard 102356 from host:port to host:port".
func summarizeRebalance(details string) string {
	var d struct {
		Tasks []struct {
			Command string `json:"command"`
			Hosts   struct {
				Source string `json:"source"`
				Target string `json:"target"`
			} `json:"hosts"`
		} `json:"tasks"`
		Counts map[string]int `json:"task_state_counts"`
	}
	if json.Unmarshal([]byte(details), &d) != nil {
		return details
	}
	var parts []string
	for _, state := range []string{"done", "running", "runnable", "blocked", "error", "cancelled"} {
		if n := d.Counts[state]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, state))
		}
	}
	out := strings.Join(parts, ", ")
	for _, t := range d.Tasks {
		out += fmt.Sprintf("; moving %s → %s", t.Hosts.Source, t.Hosts.Target)
	}
	return out
}
