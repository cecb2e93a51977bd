package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/hce-fhir/hce/embedpg"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// database is an open pool, and the embedded server behind it if any.
type database struct {
	pool     *pgxpool.Pool
	embedded *embedpg.Server
}

// openDatabase connects to d.databaseURL, or starts the embedded PostgreSQL
// in d.dataDir when no URL is given.
func openDatabase(ctx context.Context, d dbFlags, log *slog.Logger) (*database, error) {
	db := &database{}
	url := d.databaseURL
	if url == "" {
		srv, err := embedpg.Start(ctx, d.dataDir, func(msg string) { log.Info(msg) })
		if err != nil {
			return nil, err
		}
		db.embedded = srv
		url = srv.URL()
	}
	cfg, err := poolConfig(url, d)
	if err != nil {
		db.close()
		return nil, err
	}
	if db.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		db.close()
		return nil, fmt.Errorf("database: %w", err)
	}
	return db, nil
}

// cancelGrace is how long a cancelled query may take to stop after
// PostgreSQL was asked to cancel it before its connection is closed.
const cancelGrace = 2 * time.Second

// poolConfig is the pool configuration of url under the flags d.
func poolConfig(url string, d dbFlags) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	if d.poolSize > 0 {
		cfg.MaxConns = int32(d.poolSize)
	}
	// When a request's context ends (a search out of its time budget, a
	// client gone), ask PostgreSQL to cancel the running statement. pgx's
	// default only closes the socket, and PostgreSQL does not notice a
	// closed socket until it writes: the statement would run on, holding a
	// backend and its locks, until the statement timeout.
	cfg.ConnConfig.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: cancelGrace}
	}
	if tracing() {
		cfg.ConnConfig.Tracer = otelpgx.NewTracer()
	}
	if d.shardCount > 0 {
		// Read by the migration that distributes the tables on Citus.
		cfg.ConnConfig.RuntimeParams["hce.shard_count"] = strconv.Itoa(d.shardCount)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 && d.nodeTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = d.nodeTimeout
	}
	if d.statementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(d.statementTimeout.Milliseconds(), 10)
	}
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		// A search's cost estimate can pass jit_above_cost while it runs in
		// milliseconds (a walk that stops after a page); compiling it with
		// LLVM then adds 13 ms. HCE's statements are short: no JIT unless
		// the database URL asks for it (?jit=on).
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	if d.nodeTimeout > 0 {
		// Citus's own timeout for coordinator-to-worker connections; a plain
		// PostgreSQL keeps it as an unused placeholder setting.
		cfg.ConnConfig.RuntimeParams["citus.node_connection_timeout"] = strconv.FormatInt(d.nodeTimeout.Milliseconds(), 10)
	}
	return cfg, nil
}

// close closes the pool and stops the embedded server.
func (db *database) close() {
	if db.pool != nil {
		db.pool.Close()
	}
	if db.embedded != nil {
		if err := db.embedded.Stop(context.Background()); err != nil {
			slog.Error("stopping PostgreSQL", "error", err.Error())
		}
	}
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, nil))
}
