package store

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// citusPool returns the migrated test database when it is a Citus
// coordinator, and skips the test otherwise.
func citusPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := testdb.Pool(t, MigrateUp)
	if err := New(pool).CheckCitus(context.Background()); err != nil {
		t.Skip("Citus-only test: HCE_TEST_DATABASE_URL is not a Citus coordinator (" + err.Error() + ")")
	}
	return pool
}

// TestCitusDistribution checks what the migrations did on Citus: every table
// distributed by its shard key, all co-located with resources, and
// resource_ids distributed by id.
func TestCitusDistribution(t *testing.T) {
	pool := citusPool(t)
	rows, err := pool.Query(context.Background(), `SELECT table_name::text, citus_table_type, distribution_column, colocation_id FROM citus_tables`)
	if err != nil {
		t.Fatal(err)
	}
	type table struct {
		kind, column string
		coloc        int
	}
	got := map[string]table{}
	for rows.Next() {
		var name string
		var tb table
		if err := rows.Scan(&name, &tb.kind, &tb.column, &tb.coloc); err != nil {
			t.Fatal(err)
		}
		got[name] = tb
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	res, ok := got["resources"]
	if !ok || res.kind != "distributed" || res.column != "shard_key" {
		t.Fatalf("resources is %+v", res)
	}
	for _, name := range append([]string{"resource_history"}, indexTables...) {
		tb, ok := got[name]
		if !ok || tb.kind != "distributed" || tb.column != "shard_key" || tb.coloc != res.coloc {
			t.Errorf("%s is %+v, want distributed by shard_key, co-located with resources (%d)", name, tb, res.coloc)
		}
	}
	if ids := got["resource_ids"]; ids.kind != "distributed" || ids.column != "id" {
		t.Errorf("resource_ids is %+v, want distributed by id", ids)
	}
}

// TestCitusRouting checks with EXPLAIN that every interaction on one
// resource runs as a router query on one shard (Task Count: 1), including
// the lookup that finds an Observation's shard from its id.
func TestCitusRouting(t *testing.T) {
	pool := citusPool(t)
	ctx := context.Background()
	st := New(pool)
	p, err := fhir.Parse([]byte(`{"resourceType":"Patient","id":"route-p1","active":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Update(ctx, p, 0); err != nil {
		t.Fatal(err)
	}
	o, err := fhir.Parse([]byte(`{"resourceType":"Observation","id":"route-o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/route-p1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Update(ctx, o, 0); err != nil {
		t.Fatal(err)
	}
	if shard, err := st.shardOf(ctx, "Observation", "route-o1"); err != nil || shard != "route-p1" {
		t.Fatalf("Observation shard %q (%v), want the patient's", shard, err)
	}
	tests := []struct {
		name string
		sql  string
		args []any
	}{
		{"lookup by id", lookupShard, []any{"route-o1", "Observation"}},
		{"read", readCurrent, []any{"route-p1", "Observation", "route-o1"}},
		{"vread", readHistoryVersion, []any{"route-p1", "Observation", "route-o1", 1}},
		{"instance history", historyInstance, []any{"route-p1", "Observation", "route-o1", "-infinity", 1 << 62, 10}},
		{"lock for update", lockID, []any{"route-o1", "Observation"}},
		{"update", updateCurrent, []any{"route-p1", "Observation", "route-o1", 2, "now", false, `{}`}},
		{"history append", insertHistory, []any{"route-p1", "Observation", "route-o1", 2, "now", false, `{}`}},
	}
	// The index rows of a resource, as queueIndex writes them.
	b := &pgx.Batch{}
	queueRows(b, "idx_token", tokenCols, [3]any{"route-p1", "Observation", "route-o1"}, [][]any{{"code", nil, "x", nil, nil, nil}, {"status", nil, "final", nil, nil, nil}})
	tests = append(tests, struct {
		name string
		sql  string
		args []any
	}{"index rows", b.QueuedQueries[0].SQL, b.QueuedQueries[0].Arguments})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := explain(t, pool, tt.sql, tt.args...)
			if !strings.Contains(plan, "Task Count: 1") || strings.Contains(plan, "Task Count: 32") {
				t.Errorf("not a router query:\n%s", plan)
			}
		})
	}
}

// explain returns the EXPLAIN output of sql: it runs in a transaction that
// is rolled back, so that EXPLAIN of writes changes nothing.
func explain(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) string {
	t.Helper()
	return explainAfter(t, pool, nil, sql, args...)
}

// explainAfter runs the setup statements, then EXPLAIN of sql, in one
// transaction that is rolled back, and returns the plan as text.
func explainAfter(t *testing.T, pool *pgxpool.Pool, setup []string, sql string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, stmt := range setup {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			t.Fatalf("%v\n%s", err, stmt)
		}
	}
	rows, err := tx.Query(ctx, "EXPLAIN "+sql, args...)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, sql)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
