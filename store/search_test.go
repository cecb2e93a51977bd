package store

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/search"
	"github.com/jackc/pgx/v5/pgxpool"
)

func parseQuery(t *testing.T, typ, raw string) *search.Query {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	q, err := search.Parse(typ, v, search.Options{})
	if err != nil {
		t.Fatalf("%s?%s: %v", typ, raw, err)
	}
	return q
}

// planOf returns the EXPLAIN of a search's first page with sequential scans
// disabled: a Seq Scan that remains means no index serves the pattern.
// Plans depend on table sizes, so the tables get a realistic volume first,
// inside the transaction that is rolled back.
func planOf(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) string {
	t.Helper()
	return plansOf(t, pool, []string{sql}, [][]any{args})[0]
}

// planSeed fills the tables with 20,000 Observations of 500 patients, 2,000
// Patients, 5,000 Encounters and their index rows, then refreshes the
// planner statistics.
var planSeed = []string{
	`INSERT INTO resources (route, type, id, version_id, last_updated, deleted, content)
	 SELECT g % 500, 'Observation', 'seed-o' || g, 1, now() - g * interval '1 minute', false, '{}'
	 FROM generate_series(1, 20000) g`,
	`INSERT INTO resources (route, type, id, version_id, last_updated, deleted, content)
	 SELECT g, 'Patient', 'seed-p' || g, 1, now(), false, '{}' FROM generate_series(1, 2000) g`,
	`INSERT INTO idx_token (route, type, id, param, system, code)
	 SELECT g % 500, 'Observation', 'seed-o' || g, 'code', 'http://loinc.org', 'c' || (g % 300)
	 FROM generate_series(1, 20000) g`,
	`INSERT INTO idx_token (route, type, id, param, system, code)
	 SELECT g, 'Patient', 'seed-p' || g, 'identifier', 'http://example.org/mrn', 'm' || g
	 FROM generate_series(1, 2000) g`,
	`INSERT INTO idx_date (route, type, id, param, lo, hi)
	 SELECT g % 500, 'Observation', 'seed-o' || g, 'date', now() - g * interval '1 day', now() - g * interval '1 day' + interval '1 second'
	 FROM generate_series(1, 20000) g`,
	`INSERT INTO idx_reference (route, type, id, param, target_type, target_id)
	 SELECT g % 500, 'Observation', 'seed-o' || g, p, t, v
	 FROM generate_series(1, 20000) g,
	      LATERAL (VALUES ('subject', 'Patient', 'seed-p' || (g % 500)), ('patient', 'Patient', 'seed-p' || (g % 500)),
	                      ('encounter', 'Encounter', 'seed-e' || g)) x(p, t, v)`,
	`INSERT INTO idx_string (route, type, id, param, value, exact)
	 SELECT g, 'Patient', 'seed-p' || g, p, 'name' || g, 'Name' || g
	 FROM generate_series(1, 2000) g, unnest(ARRAY['name', 'family']) p`,
	`INSERT INTO idx_quantity (route, type, id, param, value, system, code, unit)
	 SELECT g % 500, 'Observation', 'seed-o' || g, 'value-quantity', g % 200, 'http://unitsofmeasure.org', u, u
	 FROM generate_series(1, 20000) g, LATERAL (VALUES (CASE WHEN g % 3 = 0 THEN 'kg' ELSE 'mm[Hg]' END)) x(u)`,
	`INSERT INTO resources (route, type, id, version_id, last_updated, deleted, content)
	 SELECT g % 500, 'Encounter', 'seed-e' || g, 1, now(), false, '{}' FROM generate_series(1, 5000) g`,
	`INSERT INTO idx_date (route, type, id, param, lo, hi)
	 SELECT g % 500, 'Encounter', 'seed-e' || g, 'date', now() - g * interval '1 day', now() - g * interval '1 day' + interval '1 hour'
	 FROM generate_series(1, 5000) g`,
	`ANALYZE resources, idx_token, idx_date, idx_reference, idx_string, idx_quantity`,
}

// seqScan finds sequential scans of the resource and index tables (shard
// tables on Citus carry a _NNN suffix).
var seqScan = regexp.MustCompile(`Seq Scan on (resources|idx_\w+|resource_ids)(_\d+)?\b`)

// TestSearchUsesIndexes checks with EXPLAIN that the common search patterns
// are answered from indexes, not by scanning the resource or index tables.
func TestSearchUsesIndexes(t *testing.T) {
	pool := testdb.Pool(t, MigrateUp)
	// On Citus each shard plans for itself, routed queries through the
	// primary key; there the check is that no table is scanned.
	citus := New(pool).CheckCitus(context.Background()) == nil
	tests := []struct{ typ, query, index string }{
		{"Observation", "code=http://loinc.org|8867-4", "idx_token_code"},
		{"Observation", "subject=Patient/plan-p1", "idx_reference_target"},
		{"Observation", "patient=plan-p1&code=8867-4", "idx_reference_target"},
		{"Observation", "date=ge2015-01-01", "idx_date_"},
		{"Observation", "code=8867-4&date=ge2015-01-01", "idx_token_code"},
		{"Observation", "date=ge2015-01-01&date=lt2015-02-01", "idx_date_span"},
		{"Patient", "name=ana", "idx_string_value"},
		{"Patient", "family:exact=Muñoz", "idx_string_"},
		{"Patient", "identifier=http://example.org/mrn|m1", "idx_token_code"},
		{"Observation", "encounter=Encounter/e1", "idx_reference_target"},
		{"Observation", "_sort=_lastUpdated", "resources_type_last_updated"},
		{"Observation", "_sort=-_lastUpdated&_count=10", "resources_type_last_updated"},
		{"Encounter", "_id=e1", "resources_type_id"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"?"+tt.query, func(t *testing.T) {
			sql, args, err := searchSQL(parseQuery(t, tt.typ, tt.query), Scope{})
			if err != nil {
				t.Fatal(err)
			}
			plan := planOf(t, pool, sql, args...)
			if seqScan.MatchString(plan) {
				t.Errorf("sequential scan:\n%s", plan)
			}
			if !citus && !strings.Contains(plan, tt.index) {
				t.Errorf("the plan does not use %s:\n%s", tt.index, plan)
			}
		})
	}
}

// TestCitusSearchRouting checks that searches restricted to one patient run
// on that patient's shard alone (Task Count: 1).
func TestCitusSearchRouting(t *testing.T) {
	pool := citusPool(t)
	tests := []struct {
		name, typ, query string
		scope            Scope
	}{
		{"patient parameter", "Observation", "patient=route-p1&code=8867-4", Scope{}},
		{"subject reference", "Observation", "subject=Patient/route-p1", Scope{}},
		{"compartment search", "Observation", "code=8867-4", Scope{Patient: "route-p1"}},
		{"compartment of Encounter", "Encounter", "", Scope{Patient: "route-p1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sql, args, err := searchSQL(parseQuery(t, tt.typ, tt.query), tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			if plan := explain(t, pool, sql, args...); !strings.Contains(plan, "Task Count: 1") {
				t.Errorf("not a router query:\n%s", plan)
			}
		})
	}
}

// TestRoutedPatient checks which searches may be pinned to one patient's
// routes: those through a compartment parameter.
func TestRoutedPatient(t *testing.T) {
	tests := []struct {
		typ, query, want string
	}{
		{"Observation", "patient=p1", "p1"},
		{"Observation", "subject=Patient/p1&code=x", "p1"},
		{"Observation", "performer=Patient/p1", "p1"}, // a member of p1's compartment
		{"Observation", "performer=p1", ""},           // an id alone could name a Practitioner
		{"Observation", "patient=p1,p2", ""},
		{"Observation", "subject:missing=true", ""},
		{"Encounter", "patient=p1", "p1"},
		{"Coverage", "patient=p1", "p1"},        // beneficiary, a compartment parameter
		{"Observation", "focus=Patient/p1", ""}, // not a compartment parameter
		{"Patient", "_id=p1", ""},
		{"Practitioner", "name=x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"?"+tt.query, func(t *testing.T) {
			if got := routedPatient(tt.typ, parseQuery(t, tt.typ, tt.query).Filters); got != tt.want {
				t.Errorf("routed to %q, want %q", got, tt.want)
			}
		})
	}
}
