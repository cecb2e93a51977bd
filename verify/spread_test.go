package verify

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/store"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// TestLocateCitus compares where locate says the test patients live with
// where their rows are: each shard is asked directly, through
// run_command_on_shards, which of the keys it holds. It needs
// HCE_TEST_DATABASE_URL to be a Citus coordinator with workers.
func TestLocateCitus(t *testing.T) {
	if os.Getenv("HCE_TEST_DATABASE_URL") == "" {
		t.Skip("Citus-only test: HCE_TEST_DATABASE_URL is not set")
	}
	pool := testdb.Pool(t, store.MigrateUp)
	ctx := context.Background()
	if err := store.New(pool).CheckCitus(ctx); err != nil {
		t.Skip("Citus-only test: " + err.Error())
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var keys []string
	for i := range 24 {
		keys = append(keys, fmt.Sprintf("locate-%s-%d", run, i))
	}
	t.Cleanup(func() {
		pool.Exec(context.Background(), `DELETE FROM resources WHERE id LIKE $1`, "locate-"+run+"-%")
		pool.Exec(context.Background(), `DELETE FROM idx_reference WHERE id LIKE $1`, "locate-"+run+"-%")
	})
	// Each patient with i%3 observations, the last one deleted.
	wantRows := map[string]int{}
	for i, k := range keys {
		route := fhir.RouteOf(k)
		rows := [][]any{{route, "Patient", k, false}}
		for j := range i % 3 {
			rows = append(rows, []any{route, "Observation", fmt.Sprintf("%s-o%d", k, j), j == 1})
		}
		for _, r := range rows {
			if _, err := pool.Exec(ctx, `INSERT INTO resources (route, type, id, version_id, last_updated, deleted, content)
VALUES ($1, $2, $3, 1, now(), $4, '{}')`, r...); err != nil {
				t.Fatal(err)
			}
			if r[1] == "Observation" {
				if _, err := pool.Exec(ctx, `INSERT INTO idx_reference (route, type, id, param, target_type, target_id)
VALUES ($1, 'Observation', $2, 'subject', 'Patient', $3)`, route, r[2], k); err != nil {
					t.Fatal(err)
				}
			}
			if r[3] == false {
				wantRows[k]++
			}
		}
	}

	pl, err := locate(ctx, pool, keys)
	if err != nil {
		t.Fatal(err)
	}

	// The truth, shard by shard.
	rows, err := pool.Query(ctx, `SELECT s.nodename, s.nodeport, c.result
FROM run_command_on_shards('resources', format('SELECT coalesce(string_agg(DISTINCT id, %L), %L) FROM %%s WHERE type = %L AND id = ANY(%L::text[])', ',', '', 'Patient', $1::text[])) c
JOIN citus_shards s ON s.shardid = c.shardid AND s.table_name = 'resources'::regclass`, keys)
	if err != nil {
		t.Fatal(err)
	}
	truth := map[string][]string{}
	for rows.Next() {
		var host, result string
		var port int
		if err := rows.Scan(&host, &port, &result); err != nil {
			t.Fatal(err)
		}
		for _, k := range strings.Split(result, ",") {
			if k != "" {
				truth[k] = append(truth[k], net.JoinHostPort(host, strconv.Itoa(port)))
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(truth) != len(keys) {
		t.Fatalf("the shards hold %d of the %d keys", len(truth), len(keys))
	}
	nodes := map[string]bool{}
	for _, k := range keys {
		slices.Sort(truth[k])
		if !slices.Equal(pl.nodes[k], truth[k]) {
			t.Errorf("%s: locate says %v, the shards say %v", k, pl.nodes[k], truth[k])
		}
		if pl.rows[k] != wantRows[k] {
			t.Errorf("%s: %d live rows, want %d", k, pl.rows[k], wantRows[k])
		}
		for _, n := range truth[k] {
			nodes[n] = true
		}
	}
	total := 0
	for _, c := range pl.byNode() {
		total += c.patients
		if !nodes[c.node] {
			t.Errorf("byNode lists %s, which holds none of the keys", c.node)
		}
	}
	if total != len(keys) {
		t.Errorf("byNode counts %d patients, want %d", total, len(keys))
	}
	t.Logf("%d keys over %d nodes: %+v", len(keys), len(nodes), pl.byNode())
}
