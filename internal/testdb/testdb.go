// Package testdb gives integration tests a real PostgreSQL: the database
// named by HCE_TEST_DATABASE_URL when it is set (for example a Citus
// coordinator), otherwise a throwaway embedded server started once per test
// binary and removed when it exits.
package testdb

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hce-fhir/hce/embedpg"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	once    sync.Once
	url     string
	dir     string
	srv     *embedpg.Server
	initErr error
)

// Main runs the tests of a package and then stops the throwaway server. Use
// it from TestMain: os.Exit(testdb.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if srv != nil {
		if err := srv.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		os.RemoveAll(dir)
	}
	return code
}

// URL returns the test database URL, starting the throwaway server on first
// use.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if url = os.Getenv("HCE_TEST_DATABASE_URL"); url != "" {
			return
		}
		if dir, initErr = os.MkdirTemp("", "hce-test-"); initErr != nil {
			return
		}
		// The server may run as the postgres user, which must reach the dir.
		if initErr = os.Chmod(dir, 0o755); initErr != nil {
			return
		}
		srv, initErr = embedpg.Start(context.Background(), dir, nil)
		if initErr == nil {
			url = srv.URL()
		}
	})
	if initErr != nil {
		t.Fatalf("test database: %v", initErr)
	}
	return url
}

// Pool returns a pool on the test database, closed when the test ends, with
// the schema brought up by migrate (the store's migrator: this package cannot
// import the store, whose own tests use it).
func Pool(t testing.TB, migrate func(context.Context, *pgxpool.Pool) error) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, URL(t))
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	t.Cleanup(pool.Close)
	if err := migrate(ctx, pool); err != nil {
		t.Fatalf("migrations: %v", err)
	}
	return pool
}

// EmptyPool creates a database of its own, without any schema, on the test
// server and returns a pool on it; both go when the test ends. For tests of
// what a new database looks like (migrations, readiness, a fresh server).
func EmptyPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, URL(t))
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	name := pgx.Identifier{fmt.Sprintf("hce_empty_%d", time.Now().UnixNano())}.Sanitize()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		t.Fatalf("create database: %v", err)
	}
	cfg, err := pgxpool.ParseConfig(URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Database = strings.Trim(name, `"`)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Close()
		if _, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
		admin.Close(ctx)
	})
	return pool
}
