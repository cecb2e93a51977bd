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
)

// TestReadyzSchema checks that /readyz answers 503, saying why, until the
// schema is at the server's migration version, and 200 once it is.
func TestReadyzSchema(t *testing.T) {
	pool := testdb.EmptyPool(t)
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
