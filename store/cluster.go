package store

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"
)

// ClusterInfo describes the database behind HCE for GET /admin/cluster and
// `hce cluster status`.
type ClusterInfo struct {
	// Mode is "plain" for PostgreSQL and "citus" when the citus extension is installed.
	Mode            string `json:"mode"`
	PostgresVersion string `json:"postgresVersion"`
	CitusVersion    string `json:"citusVersion,omitempty"`
	Coordinator     string `json:"coordinator,omitempty"`
	Workers         []Node `json:"workers"`
	// Rebalance is the latest background shard rebalance (Citus only).
	Rebalance         *RebalanceProgress `json:"rebalance,omitempty"`
	DistributedTables []Table            `json:"distributedTables"`
	ReferenceTables   []Table            `json:"referenceTables"`
	LocalTables       []Table            `json:"localTables"`
}

// Node is a Citus worker. Shards come from the coordinator's catalog;
// Bytes and Resources from the worker itself, so they are zero, and Error
// says why, when the worker does not answer.
type Node struct {
	Host      string `json:"host"`
	Port      int    `json:"port"`
	Active    bool   `json:"active"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	Shards    int    `json:"shards"`
	Bytes     int64  `json:"bytes"`
	// Resources is the number of current rows (deleted ones included) in
	// the node's shards of resources, the planner's estimate.
	Resources int64 `json:"resources"`
}

// Table is a table with its size in bytes (all shards together on Citus).
type Table struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
}

const (
	citusVersion = `SELECT extversion FROM pg_extension WHERE extname = 'citus'`

	localTables = `SELECT c.relname, pg_total_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname <> 'goose_db_version'
ORDER BY c.relname`

	// citusTables sizes tables from the catalog of shards and the sizes
	// each reachable worker reports (see workerSizes).
	citusTables = `SELECT table_name::text, citus_table_type FROM citus_tables ORDER BY 1`

	// citusWorkers reads the coordinator's catalog alone: it answers while
	// a worker is down.
	citusWorkers = `SELECT n.nodename, n.nodeport, n.isactive, count(p.shardid)::int
FROM pg_dist_node n LEFT JOIN pg_dist_placement p ON p.groupid = n.groupid
WHERE n.noderole = 'primary' AND n.groupid <> 0
GROUP BY n.nodename, n.nodeport, n.isactive ORDER BY n.nodename, n.nodeport`

	// workerSizes asks every worker for the size of the shards it holds,
	// per table, and its estimate of resources rows; a worker that does not
	// answer comes back with success false instead of failing the query.
	workerSizes = `SELECT nodename, nodeport, success, result FROM run_command_on_workers($$
SELECT coalesce(json_object_agg(t, b), '{}')::text FROM (
  SELECT s.logicalrelid::text AS t, sum(pg_total_relation_size(shard_name(s.logicalrelid, s.shardid)))::bigint AS b
  FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
  WHERE p.groupid = (SELECT groupid FROM pg_dist_local_group)
  GROUP BY 1
  UNION ALL
  SELECT '', sum(greatest(c.reltuples, 0))::bigint FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
  JOIN pg_class c ON c.oid = to_regclass(shard_name(s.logicalrelid, s.shardid))
  WHERE p.groupid = (SELECT groupid FROM pg_dist_local_group) AND s.logicalrelid = 'resources'::regclass) x
$$)`
)

// Cluster reports the mode, nodes and tables of the database.
func (s *Store) Cluster(ctx context.Context) (any, error) {
	info, err := s.ClusterInfo(ctx)
	if err != nil {
		return nil, err
	}
	return info, nil
}

// ClusterInfo is Cluster with its concrete type.
func (s *Store) ClusterInfo(ctx context.Context) (*ClusterInfo, error) {
	info := &ClusterInfo{Mode: "plain", Workers: []Node{}, DistributedTables: []Table{}, ReferenceTables: []Table{}, LocalTables: []Table{}}
	if err := s.q().QueryRow(ctx, `SHOW server_version`).Scan(&info.PostgresVersion); err != nil {
		return nil, translate("cluster", err)
	}
	err := s.q().QueryRow(ctx, citusVersion).Scan(&info.CitusVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		rows, err := s.q().Query(ctx, localTables)
		if err != nil {
			return nil, translate("cluster", err)
		}
		info.LocalTables, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Table, error) {
			var t Table
			return t, r.Scan(&t.Name, &t.Bytes)
		})
		return info, translate("cluster", err)
	}
	if err != nil {
		return nil, translate("cluster", err)
	}
	info.Mode = "citus"
	cfg := s.pool.Config().ConnConfig
	info.Coordinator = cfg.Host
	rows, err := s.q().Query(ctx, citusWorkers)
	if err != nil {
		return nil, translate("cluster", err)
	}
	if info.Workers, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Node, error) {
		var n Node
		return n, r.Scan(&n.Host, &n.Port, &n.Active, &n.Shards)
	}); err != nil {
		return nil, translate("cluster", err)
	}
	tableBytes, err := s.workerSizes(ctx, info.Workers)
	if err != nil {
		return nil, translate("cluster", err)
	}
	rb, err := s.Rebalance(ctx)
	if err != nil {
		return nil, err
	}
	p := rb.progress()
	info.Rebalance = &p
	rows, err = s.q().Query(ctx, citusTables)
	if err != nil {
		return nil, translate("cluster", err)
	}
	err = forEach(rows, func(r pgx.Rows) error {
		var t Table
		var kind string
		if err := r.Scan(&t.Name, &kind); err != nil {
			return err
		}
		t.Bytes = tableBytes[t.Name]
		if kind == "reference" {
			info.ReferenceTables = append(info.ReferenceTables, t)
		} else {
			info.DistributedTables = append(info.DistributedTables, t)
		}
		return nil
	})
	return info, translate("cluster", err)
}

// workerSizes fills in each worker's bytes, resources and reachability,
// and returns the bytes per table over the reachable workers (a reference
// table counted once per node that holds it).
func (s *Store) workerSizes(ctx context.Context, workers []Node) (map[string]int64, error) {
	rows, err := s.q().Query(ctx, workerSizes)
	if err != nil {
		return nil, err
	}
	tables := map[string]int64{}
	err = forEach(rows, func(r pgx.Rows) error {
		var host, result string
		var port int
		var ok bool
		if err := r.Scan(&host, &port, &ok, &result); err != nil {
			return err
		}
		for i := range workers {
			w := &workers[i]
			if w.Host != host || w.Port != port {
				continue
			}
			if !ok {
				w.Error = result
				return nil
			}
			var sizes map[string]int64
			if err := json.Unmarshal([]byte(result), &sizes); err != nil {
				w.Error = "unreadable size report: " + result
				return nil
			}
			w.Reachable = true
			w.Resources = sizes[""]
			delete(sizes, "")
			for t, b := range sizes {
				w.Bytes += b
				tables[t] += b
			}
		}
		return nil
	})
	return tables, err
}

// Readiness is what GET /readyz reports.
type Readiness struct {
	// Status is "ok", or "degraded" when some Citus workers do not answer:
	// patients on the others are served.
	Status      string   `json:"status"`
	Unreachable []string `json:"unreachable,omitempty"`
}

// Ready checks that the database answers, that its schema is at this
// server's migration version and, on Citus, which workers answer.
func (s *Store) Ready(ctx context.Context) (any, error) {
	if err := s.Ping(ctx); err != nil {
		return nil, err
	}
	if err := s.CheckSchema(ctx); err != nil {
		return nil, err
	}
	r := Readiness{Status: "ok"}
	if s.CheckCitus(ctx) != nil {
		return r, nil
	}
	rows, err := s.q().Query(ctx, `SELECT nodename || ':' || nodeport FROM run_command_on_workers('SELECT 1') WHERE NOT success`)
	if err != nil {
		return nil, translate("ready", err)
	}
	if r.Unreachable, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, translate("ready", err)
	}
	if len(r.Unreachable) > 0 {
		r.Status = "degraded"
	}
	return r, nil
}

func forEach(rows pgx.Rows, fn func(pgx.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ErrNotCitus means a cluster operation was asked of a database without the
// citus extension.
var ErrNotCitus = errors.New("the database has no citus extension: cluster operations need a Citus coordinator")

const (
	workerExists = `SELECT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2)`
	addWorker    = `SELECT citus_add_node($1, $2)`
	activateNode = `SELECT citus_activate_node($1, $2)`
	nodeActive   = `SELECT isactive FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2`

	// The rebalancer moves shard groups until every node holds about the
	// same bytes, not the same number of shards: patients differ in size.
	rebalanceStart  = `SELECT citus_rebalance_start(rebalance_strategy := 'by_disk_size', shard_transfer_mode := 'auto')`
	rebalanceStatus = `SELECT state::text, coalesce(details::text, '') FROM citus_rebalance_status()`
)

// CheckCitus returns ErrNotCitus on plain PostgreSQL.
func (s *Store) CheckCitus(ctx context.Context) error {
	var v string
	err := s.q().QueryRow(ctx, citusVersion).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotCitus
	}
	return translate("cluster", err)
}

// RegisterWorker adds host:port to the cluster as a worker; it is a no-op
// when the worker is already registered and active, and re-activates it when
// it is registered but inactive (a worker pod that came back). It reports
// whether anything changed.
func (s *Store) RegisterWorker(ctx context.Context, host string, port int) (bool, error) {
	if err := s.CheckCitus(ctx); err != nil {
		return false, err
	}
	var exists bool
	if err := s.q().QueryRow(ctx, workerExists, host, port).Scan(&exists); err != nil {
		return false, translate("register worker", err)
	}
	if !exists {
		_, err := s.pool.Exec(ctx, addWorker, host, port)
		return err == nil, translate("register worker", err)
	}
	var active bool
	if err := s.q().QueryRow(ctx, nodeActive, host, port).Scan(&active); err != nil {
		return false, translate("register worker", err)
	}
	if active {
		return false, nil
	}
	_, err := s.pool.Exec(ctx, activateNode, host, port)
	return err == nil, translate("activate worker", err)
}

// RebalanceStatus is one reading of Citus's background rebalance job.
type RebalanceStatus struct {
	// State is the job state: scheduled, running, finished, failed, cancelled
	// … or "none" when there was nothing to move.
	State   string
	Details string
}

// StartRebalance starts Citus's background shard rebalance. It returns false
// when the shards are already balanced.
func (s *Store) StartRebalance(ctx context.Context) (bool, error) {
	if err := s.CheckCitus(ctx); err != nil {
		return false, err
	}
	// Citus counts every shard as 100 MB more than its size by default,
	// which balances shard counts while patients are small; the plan is
	// made in this session, so it weighs bytes alone.
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, translate("rebalance", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET citus.rebalancer_by_disk_size_base_cost = 0`); err != nil {
		return false, translate("rebalance", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `RESET citus.rebalancer_by_disk_size_base_cost`)
	var job *int64
	if err := conn.QueryRow(ctx, rebalanceStart).Scan(&job); err != nil {
		return false, translate("rebalance", err)
	}
	return job != nil, nil
}

// Rebalance reports the state of the latest background rebalance.
func (s *Store) Rebalance(ctx context.Context) (RebalanceStatus, error) {
	var st RebalanceStatus
	err := s.q().QueryRow(ctx, rebalanceStatus).Scan(&st.State, &st.Details)
	if errors.Is(err, pgx.ErrNoRows) {
		return RebalanceStatus{State: "none"}, nil
	}
	return st, translate("rebalance status", err)
}

// Analyze refreshes the planner statistics of table (on Citus, of all its
// shards).
func (s *Store) Analyze(ctx context.Context, table string) error {
	_, err := s.q().Exec(ctx, `ANALYZE `+pgx.Identifier{table}.Sanitize())
	return translate("analyze "+table, err)
}
