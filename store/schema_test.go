package store

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/internal/testdb"
)

// TestRouteInSQL checks that hce_route, which the migrations use, routes
// every id as fhir.RouteOf does.
func TestRouteInSQL(t *testing.T) {
	pool := testdb.Pool(t, MigrateUp)
	ids := []string{"example", "a", "Patient-1", "FFFF1C2E-0000-4000-8000-000000000000", fhir.RandomID(), fhir.NewID(0), fhir.NewID(fhir.Routes - 1), "ñandú.1"}
	for i := range 50 {
		ids = append(ids, fmt.Sprintf("id-%d", i), fhir.RandomID())
	}
	for _, id := range ids {
		var got int32
		if err := pool.QueryRow(context.Background(), `SELECT hce_route($1)`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := fhir.RouteOf(id); got != want {
			t.Errorf("hce_route(%q) = %d, fhir.RouteOf = %d", id, got, want)
		}
	}
}

// TestCompartmentPairsInSQL checks that the migration's list of Patient
// compartment parameters is the one the server embeds.
func TestCompartmentPairsInSQL(t *testing.T) {
	pool := testdb.Pool(t, MigrateUp)
	var got []string
	if err := pool.QueryRow(context.Background(), `SELECT hce_compartment_pairs()`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(compartmentPairs)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("hce_compartment_pairs() has %d pairs, the server %d:\n%v\n%v", len(got), len(want), got, want)
	}
}

// TestAnalyticsQueries runs the analytics queries of docs/storage.md on
// resources written by the store.
func TestAnalyticsQueries(t *testing.T) {
	pool := testdb.Pool(t, MigrateUp)
	st := New(pool)
	ctx := context.Background()
	p, err := st.Create(ctx, mustParse(t, `{"resourceType":"Patient"}`))
	if err != nil {
		t.Fatal(err)
	}
	code := "an-" + fhir.RandomID()[:8]
	for i, v := range []string{"24.0", "26.50"} {
		o := mustParse(t, fmt.Sprintf(`{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/%s"},
			"code":{"coding":[{"system":"http://loinc.org","code":"%s","display":"Analytics"}]},
			"effectiveDateTime":"201%d-06-01T10:00:00Z","valueQuantity":{"value":%s,"unit":"kg/m2"}}`, p.ID, code, i, v))
		if _, err := st.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	err = pool.QueryRow(ctx, `SELECT count(*) FROM (
SELECT c->>'code' AS code, c->>'display' AS display, count(*)
FROM resources, jsonb_array_elements(content->'code'->'coding') c
WHERE type = 'Observation' AND NOT deleted
GROUP BY 1, 2) x WHERE code = $1 AND display = 'Analytics' AND count = 2`, code).Scan(&n)
	if err != nil || n != 1 {
		t.Errorf("codes query: %d rows (%v), want the code with count 2", n, err)
	}
	rows, err := pool.Query(ctx, `SELECT extract(year FROM (content->>'effectiveDateTime')::timestamptz)::int AS year,
       round(avg((content->'valueQuantity'->>'value')::numeric), 1)::text AS mean, count(*)
FROM resources
WHERE type = 'Observation' AND NOT deleted
  AND content @> jsonb_build_object('code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', $1::text))))
GROUP BY 1 ORDER BY 1`, code)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var year, count int
		var mean string
		if err := rows.Scan(&year, &mean, &count); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s:%d", year, mean, count))
	}
	if want := []string{"2010:24.0:1", "2011:26.5:1"}; !slices.Equal(got, want) || rows.Err() != nil {
		t.Errorf("mean per year: %v (%v), want %v", got, rows.Err(), want)
	}
	// The decimal's digits are kept in the content.
	var raw string
	if err := pool.QueryRow(ctx, `SELECT content->'valueQuantity'->>'value' FROM resources WHERE type = 'Observation' AND content->>'effectiveDateTime' LIKE '2011%' AND content @> jsonb_build_object('code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('code', $1::text))))`, code).Scan(&raw); err != nil || raw != "26.50" {
		t.Errorf("stored decimal %q (%v), want 26.50", raw, err)
	}
}
