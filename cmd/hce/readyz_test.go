package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/migrations"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// emptyDatabase creates a database without any schema on the test server
// and returns a pool on it; both go when the test ends.
func emptyDatabase(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	name := "hce_empty_" + uniq + "_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		admin.Close(ctx)
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Database = name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Close()
		if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
		admin.Close(ctx)
	})
	return pool
}

// TestReadyzSchema checks that /readyz answers 503, saying why, until the
// schema is at the server's migration version, and 200 once it is.
func TestReadyzSchema(t *testing.T) {
	pool := emptyDatabase(t)
	c := testServerOn(t, pool, rest.Options{})
	c.do("GET", "/healthz", nil).must(t, 200)
	r := c.do("GET", "/readyz", nil).must(t, 503)
	want := fmt.Sprintf("schema at version 0, this server needs %d", migrations.Latest())
	if !strings.Contains(string(r.raw), want) || r.str("status") != "unavailable" {
		t.Errorf("/readyz body %s, want status unavailable and %q", r.raw, want)
	}
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if err := store.MigrateUp(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	if r := c.do("GET", "/readyz", nil).must(t, 200); r.str("status") != "ok" {
		t.Errorf("/readyz after the migrations: %s", r.raw)
	}

	// One migration rolled back: the schema is behind again.
	m, err := store.NewMigrator(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Down(context.Background()); err != nil {
		t.Fatal(err)
	}
	want = fmt.Sprintf("schema at version %d, this server needs %d", migrations.Latest()-1, migrations.Latest())
	if r := c.do("GET", "/readyz", nil).must(t, 503); !strings.Contains(string(r.raw), want) {
		t.Errorf("/readyz after migrate down: %s, want %q", r.raw, want)
	}
}
