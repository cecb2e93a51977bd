package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hce-fhir/hce/audit"
	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// TestCitusDistribution checks what the migrations did on Citus: the
// compartment's tables distributed by route and co-located with resources,
// the shared class's tables reference tables.
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
	if !ok || res.kind != "distributed" || res.column != "route" {
		t.Fatalf("resources is %+v", res)
	}
	for _, name := range append([]string{"resource_history", "resource_ids", "compartment_members"}, patientTables.index...) {
		tb, ok := got[name]
		if !ok || tb.kind != "distributed" || tb.column != "route" || tb.coloc != res.coloc {
			t.Errorf("%s is %+v, want distributed by route, co-located with resources (%d)", name, tb, res.coloc)
		}
	}
	for _, name := range append([]string{"shared_resources", "shared_history"}, sharedTables.index...) {
		if tb := got[name]; tb.kind != "reference" {
			t.Errorf("%s is %+v, want a reference table", name, tb)
		}
	}
}

// remoteLog is a Store whose sessions log the commands the coordinator
// sends to other nodes (citus.log_remote_commands), for counting the nodes
// an interaction touches.
type remoteLog struct {
	*Store
	mu       sync.Mutex
	commands []remoteCommand
}

type remoteCommand struct{ node, sql string }

var onServer = regexp.MustCompile(`on server \S+@(\S+) connectionId`)

func newRemoteLog(t *testing.T) *remoteLog {
	t.Helper()
	citusPool(t)
	cfg, err := pgxpool.ParseConfig(testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	l := &remoteLog{}
	cfg.ConnConfig.RuntimeParams["citus.log_remote_commands"] = "on"
	cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if m := onServer.FindStringSubmatch(n.Detail); m != nil {
			l.mu.Lock()
			l.commands = append(l.commands, remoteCommand{node: m[1], sql: n.Message})
			l.mu.Unlock()
		}
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	l.Store = New(pool)
	return l
}

// take returns the nodes contacted since the last call and whether any
// command prepared a two-phase commit.
func (l *remoteLog) take() (nodes []string, twoPhase bool, commands []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	for _, c := range l.commands {
		if !seen[c.node] {
			seen[c.node] = true
			nodes = append(nodes, c.node)
		}
		twoPhase = twoPhase || strings.Contains(c.sql, "PREPARE TRANSACTION")
		if len(commands) < 4 {
			commands = append(commands, c.node+": "+trim(c.sql, 240))
		}
	}
	l.commands = nil
	return nodes, twoPhase, commands
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func mustParse(t *testing.T, doc string) *fhir.Resource {
	t.Helper()
	r, err := fhir.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCitusOneNode checks from the coordinator's remote-command log that
// each interaction on one patient's resources reaches one worker, and that
// writes commit there without two-phase commit.
func TestCitusOneNode(t *testing.T) {
	l := newRemoteLog(t)
	ctx := context.Background()
	var patient, obs string
	run := fhir.RandomID()
	org := mustParse(t, `{"resourceType":"Organization","identifier":[{"system":"urn:one-node","value":"`+run+`"}],"name":"One Node"}`)
	if _, err := l.Create(ctx, org); err != nil {
		t.Fatal(err)
	}
	l.take()
	steps := []struct {
		name string
		run  func() error
		// write: the step commits a write, which must not be two-phase.
		write bool
		// nodes is how many nodes the step reaches: 1 for a patient's
		// resources, 0 for shared ones (the coordinator's replica), -1 for
		// every worker: a search across patients (which shows the log works).
		nodes int
	}{
		{"create Patient", func() error {
			v, err := l.Create(ctx, mustParse(t, `{"resourceType":"Patient","active":true}`))
			if err == nil {
				patient = v.ID
			}
			return err
		}, true, 1},
		{"create Observation", func() error {
			v, err := l.Create(ctx, mustParse(t, `{"resourceType":"Observation","status":"final","code":{"text":"x"},
				"subject":{"reference":"Patient/`+patient+`"},"performer":[{"reference":"Organization/`+org.ID+`"}]}`))
			if err == nil {
				obs = v.ID
			}
			return err
		}, true, 1},
		{"read", func() error { _, err := l.Read(ctx, "Observation", obs); return err }, false, 1},
		{"vread", func() error { _, err := l.VRead(ctx, "Observation", obs, 1); return err }, false, 1},
		{"instance history", func() error {
			_, _, err := l.History(ctx, fhir.HistoryQuery{Type: "Observation", ID: obs, Count: 10})
			return err
		}, false, 1},
		{"update", func() error {
			_, _, err := l.Update(ctx, mustParse(t, `{"resourceType":"Observation","id":"`+obs+`","status":"amended","code":{"text":"x"},
				"subject":{"reference":"Patient/`+patient+`"}}`), 0)
			return err
		}, true, 1},
		{"transaction of one patient", func() error {
			return l.Transaction(ctx, func(tx *Store) error {
				enc := mustParse(t, `{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/`+patient+`"}}`)
				if _, err := tx.Create(ctx, enc); err != nil {
					return err
				}
				o := mustParse(t, `{"resourceType":"Observation","status":"final","code":{"text":"y"},"subject":{"reference":"Patient/`+patient+`"},
					"encounter":{"reference":"Encounter/`+enc.ID+`"}}`)
				if _, err := tx.Create(ctx, o); err != nil {
					return err
				}
				_, _, err := tx.Update(ctx, mustParse(t, `{"resourceType":"Patient","id":"`+patient+`","active":false}`), 0)
				return err
			})
		}, true, 1},
		{"compartment search", func() error {
			_, err := l.Search(ctx, parseQuery(t, "Observation", "code=x"), Scope{Patient: patient})
			return err
		}, false, 1},
		{"search across patients", func() error {
			_, err := l.Search(ctx, parseQuery(t, "Observation", "code=x"), Scope{})
			return err
		}, false, -1},
		{"patient search with _include", func() error {
			_, err := l.Search(ctx, parseQuery(t, "Observation", "patient="+patient+"&_include=Observation:patient&_include=Observation:performer"), Scope{})
			return err
		}, false, 1},
		{"$everything", func() error { _, _, err := l.Everything(ctx, patient, time.Time{}, nil, 50, ""); return err }, false, 1},
		{"conditional create on Organization (match)", func() error {
			ids, err := l.Match(ctx, "Organization", url.Values{"identifier": {"urn:one-node|" + run}}, 2)
			if err == nil && len(ids) != 1 {
				err = fmt.Errorf("matched %v", ids)
			}
			return err
		}, false, 0},
		{"delete", func() error { _, err := l.Delete(ctx, "Observation", obs, 0); return err }, true, 1},
		{"a batch of AuditEvents", func() error {
			rows := make([]AuditRecord, 50)
			for i := range rows {
				rows[i] = AuditRecord((&audit.Event{Time: time.Now(), Interaction: "read", Type: "Observation", ID: obs, Patient: patient, Status: 200}).Record())
			}
			return l.RecordAudit(ctx, rows)
		}, true, 0},
	}
	var workers int
	if err := l.pool.QueryRow(ctx, `SELECT count(*) FROM pg_dist_node WHERE groupid <> 0 AND isactive AND noderole = 'primary'`).Scan(&workers); err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		if st.nodes == -1 {
			st.nodes = workers
		}
		t.Run(st.name, func(t *testing.T) {
			if err := st.run(); err != nil {
				t.Fatal(err)
			}
			nodes, twoPhase, commands := l.take()
			if len(nodes) != st.nodes {
				t.Errorf("reached %d nodes %v, want %d:\n%s", len(nodes), nodes, st.nodes, strings.Join(commands, "\n"))
			}
			if st.write && twoPhase {
				t.Errorf("two-phase commit:\n%s", strings.Join(commands, "\n"))
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
	return explainEach(t, pool, setup, []string{sql}, [][]any{args})[0]
}

// explainEach runs the setup statements, then EXPLAIN of each statement
// with its arguments, in one transaction that is rolled back.
func explainEach(t *testing.T, pool *pgxpool.Pool, setup, sqls []string, args [][]any) []string {
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
	plans := make([]string, len(sqls))
	for i, sql := range sqls {
		rows, err := tx.Query(ctx, "EXPLAIN "+sql, args[i]...)
		if err != nil {
			t.Fatalf("explain: %v\n%s", err, sql)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plans[i] = strings.Join(lines, "\n")
	}
	return plans
}
