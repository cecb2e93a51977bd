package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// ClusterInfo describes the database behind HCE for GET /admin/cluster and
// `hce cluster status`.
type ClusterInfo struct {
	// Mode is "plain" for PostgreSQL and "citus" when the citus extension is installed.
	Mode              string  `json:"mode"`
	PostgresVersion   string  `json:"postgresVersion"`
	CitusVersion      string  `json:"citusVersion,omitempty"`
	Coordinator       string  `json:"coordinator,omitempty"`
	Workers           []Node  `json:"workers"`
	DistributedTables []Table `json:"distributedTables"`
	ReferenceTables   []Table `json:"referenceTables"`
	LocalTables       []Table `json:"localTables"`
}

// Node is a Citus worker.
type Node struct {
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Active bool   `json:"active"`
	Shards int    `json:"shards"`
	Bytes  int64  `json:"bytes"`
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

	citusTables = `SELECT table_name::text, citus_table_type, citus_total_relation_size(table_name) FROM citus_tables ORDER BY 1`

	citusWorkers = `SELECT n.nodename, n.nodeport, n.isactive,
  count(s.shardid)::int, coalesce(sum(s.shard_size), 0)::bigint
FROM pg_dist_node n LEFT JOIN citus_shards s ON s.nodename = n.nodename AND s.nodeport = n.nodeport
WHERE n.noderole = 'primary' AND n.groupid <> 0
GROUP BY n.nodename, n.nodeport, n.isactive ORDER BY n.nodename, n.nodeport`
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
		return n, r.Scan(&n.Host, &n.Port, &n.Active, &n.Shards, &n.Bytes)
	}); err != nil {
		return nil, translate("cluster", err)
	}
	rows, err = s.q().Query(ctx, citusTables)
	if err != nil {
		return nil, translate("cluster", err)
	}
	err = forEach(rows, func(r pgx.Rows) error {
		var t Table
		var kind string
		if err := r.Scan(&t.Name, &kind, &t.Bytes); err != nil {
			return err
		}
		if kind == "reference" {
			info.ReferenceTables = append(info.ReferenceTables, t)
		} else {
			info.DistributedTables = append(info.DistributedTables, t)
		}
		return nil
	})
	return info, translate("cluster", err)
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

	rebalanceStart  = `SELECT citus_rebalance_start()`
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
	var job *int64
	if err := s.q().QueryRow(ctx, rebalanceStart).Scan(&job); err != nil {
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
