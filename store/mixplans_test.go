package store

import (
	"context"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/search"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// mixPatterns are the search shapes of the volume benchmark's mix (bench
// patterns.go), with the index the plan must use where one is the point
// (alternatives separated by |); elsewhere any index will do, as the
// planner's choice between good ones varies with the seed's statistics,
// and the check is that no table is scanned.
var mixPatterns = []struct{ name, typ, query, index string }{
	{"patient-identifier", "Patient", "identifier=https://github.com/synthetichealth/synthea|1194d5dd", "idx_token_code"},
	{"patient-family", "Patient", "family=Ruiz", ""},
	{"patient-name-given", "Patient", "name=gab", ""},
	{"patient-family-exact", "Patient", "family:exact=Ruiz507", ""},
	{"patient-name-contains", "Patient", "name:contains=uiz", ""},
	{"patient-birthdate", "Patient", "birthdate=1996-04-15", ""},
	{"patient-gender-birthdate", "Patient", "gender=female&birthdate=ge1980&_count=20", ""},
	{"patient-given-gender", "Patient", "given=Gabriela463&gender=female", ""},
	{"patient-has-observation", "Patient", "_has:Observation:patient:code=85354-9", ""},
	{"patient-revinclude-encounter", "Patient", "_id=p1&_revinclude=Encounter:patient", ""},
	{"obs-patient-code", "Observation", "patient=seed-p1&code=85354-9", ""},
	{"obs-patient-code-system", "Observation", "subject=Patient/seed-p1&code=http://loinc.org|85354-9", ""},
	{"obs-patient-5-codes", "Observation", "patient=seed-p1&code=85354-9,29463-7,8867-4,9279-1,8302-2", ""},
	{"obs-patient-category", "Observation", "patient=seed-p1&category=vital-signs", ""},
	{"obs-patient-category-not", "Observation", "patient=seed-p1&category:not=vital-signs", ""},
	{"obs-patient-date", "Observation", "patient=seed-p1&date=ge2018", ""},
	{"obs-patient-quantity-missing", "Observation", "patient=seed-p1&value-quantity:missing=true", ""},
	{"obs-patient-sort-date", "Observation", "patient=seed-p1&_sort=-date&_count=10", ""},
	{"obs-patient-include", "Observation", "patient=seed-p1&code=85354-9&_include=Observation:patient", ""},
	{"obs-code-common", "Observation", "code=c1", "idx_token_code"},
	{"obs-code-date", "Observation", "code=c1&date=ge2011", "idx_token_code|idx_date_"},
	{"obs-code-sort-lastupdated", "Observation", "code=c1&_sort=-_lastUpdated&_count=10", ""},
	{"obs-category-total", "Observation", "category=laboratory", ""},
	{"obs-chain-name", "Observation", "subject:Patient.name=Ruiz507", ""},
	{"obs-code-value-gt100", "Observation", "code=c1&value-quantity=gt100", ""},
	{"obs-value-unit-system", "Observation", "value-quantity=le14|http://unitsofmeasure.org|kg", ""},
	{"obs-value-unit-no-system", "Observation", "value-quantity=le14||kg", ""},
	{"encounter-date-range", "Encounter", "date=ge2011-08-01&date=lt2011-08-31", "idx_date_span"},
	{"encounter-patient-sort-date", "Encounter", "patient=seed-p1&_sort=-date", ""},
	{"encounter-revinclude-obs", "Encounter", "patient=seed-p1&_revinclude=Observation:encounter&_count=10", ""},
	{"encounter-include-provider", "Encounter", "patient=seed-p1&_include=Encounter:service-provider&_count=10", ""},
	{"condition-patient", "Condition", "patient=seed-p1", ""},
	{"medicationrequest-patient-sort", "MedicationRequest", "patient=seed-p1&_sort=-authoredon&_count=10", ""},
	{"immunization-patient-date", "Immunization", "patient=seed-p1&date=ge2000", ""},
}

// TestMixPlans checks with EXPLAIN, over the planSeed volume, that every
// search shape of the benchmark's mix is answered from an index: the plan
// scans no table, and uses the index the pattern names. Counts, $everything
// and compartment searches are checked by TestCountFromIndexRows,
// TestSearchUsesIndexes and the everything tests; reads are one primary-key
// lookup (TestReadPlans).
func TestMixPlans(t *testing.T) {
	pool := testdb.Pool(t, MigrateUp)
	citus := New(pool).CheckCitus(context.Background()) == nil
	var sqls []string
	var args [][]any
	for _, p := range mixPatterns {
		sql, a, err := searchSQL(parseQuery(t, p.typ, p.query), Scope{})
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		sqls, args = append(sqls, sql), append(args, a)
	}
	plans := plansOf(t, pool, sqls, args)
	for i, p := range mixPatterns {
		checkPlan(t, p.name, sqls[i], plans[i], p.index, citus)
	}
	if citus {
		return // the _has walk is for one PostgreSQL (haswalk.go)
	}
	// The walk a common _has inner filter gets.
	q := parseQuery(t, "Patient", "_has:Observation:patient:code=c1")
	b := &sqlBuilder{walk: map[*search.Hop]bool{&q.Filters[0].Chain[0]: true}}
	where, err := b.searchWhere(q, Scope{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := sortKeys(b, q)
	walk, err := b.page(q, where, keys)
	if err != nil {
		t.Fatal(err)
	}
	plan := plansOf(t, pool, []string{walk}, [][]any{b.args})[0]
	checkPlan(t, "patient-has-observation (walk)", walk, plan, "", citus)
	if !strings.Contains(plan, "hashed SubPlan") {
		t.Errorf("the walk does not hash the inner rows:\n%s", plan)
	}
}

func checkPlan(t *testing.T, name, sql, plan, index string, citus bool) {
	t.Helper()
	if seqScan.MatchString(plan) {
		t.Errorf("%s: sequential scan:\n%s\n%s", name, sql, plan)
	}
	if citus || index == "" {
		return
	}
	for _, alt := range strings.Split(index, "|") {
		if strings.Contains(plan, alt) {
			return
		}
	}
	t.Errorf("%s: the plan does not use %s:\n%s\n%s", name, index, sql, plan)
}

// plansOf returns the EXPLAIN of each statement with its arguments, over
// the planSeed volume and with sequential scans disabled.
func plansOf(t *testing.T, pool *pgxpool.Pool, sqls []string, args [][]any) []string {
	t.Helper()
	setup := append([]string{}, planSeed...)
	if New(pool).CheckCitus(context.Background()) == nil {
		setup = append(setup, `SET LOCAL citus.propagate_set_commands = 'local'`)
	}
	return explainEach(t, pool, append(setup, `SET LOCAL enable_seqscan = off`), sqls, args)
}

// TestSearchesAreNotPrepared checks that a search repeated many times is
// never a prepared statement, which PostgreSQL would switch to a generic
// plan after five runs (planned once for every value: 7.6 s instead of
// 48 ms for category:not at 48,000 Observations). On a pool of one
// connection, the session's prepared statements are those pgx cached.
func TestSearchesAreNotPrepared(t *testing.T) {
	shared := testdb.Pool(t, MigrateUp)
	cfg := shared.Config().Copy()
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := New(pool)
	ctx := context.Background()
	for _, p := range mixPatterns[:12] {
		for range 8 {
			if _, err := st.Search(ctx, parseQuery(t, p.typ, p.query), Scope{}); err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
		}
	}
	var prepared []string
	rows, err := pool.Query(ctx, `SELECT statement FROM pg_prepared_statements`, pgx.QueryExecModeExec)
	if err != nil {
		t.Fatal(err)
	}
	if prepared, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	for _, sql := range prepared {
		if strings.Contains(sql, "FROM resources r WHERE") {
			t.Errorf("a search is a prepared statement: %s", sql)
		}
	}
	if _, err := st.Read(ctx, "Patient", "not-there"); err == nil {
		t.Fatal("read of a missing Patient found it")
	}
	// The control: a read by id is prepared once and reused, so the check
	// would see a prepared search.
	rows, err = pool.Query(ctx, `SELECT count(*) FROM pg_prepared_statements`, pgx.QueryExecModeExec)
	if err != nil {
		t.Fatal(err)
	}
	n, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[int])
	if err != nil || n == 0 {
		t.Errorf("no prepared statement after a read by id (%d, %v): the check sees nothing", n, err)
	}
}
