package store

import (
	"context"
	"net/url"
	"testing"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/search"
)

// TestCountFromIndexRows checks that a count by one filter, which starts
// from the filter's index rows, counts what the search returns: each
// resource once however many rows match, deleted and replaced versions not,
// through a chain too.
func TestCountFromIndexRows(t *testing.T) {
	st := New(testdb.Pool(t, MigrateUp))
	ctx := context.Background()
	run := fhir.RandomID()[:8]
	p, err := st.Create(ctx, mustParse(t, `{"resourceType":"Patient","gender":"other","name":[{"family":"Count`+run+`"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 5 {
		// Two codings with the code: two index rows, one resource.
		v, err := st.Create(ctx, mustParse(t, `{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/`+p.ID+`"},
			"code":{"coding":[{"system":"urn:a","code":"c`+run+`"},{"system":"urn:b","code":"c`+run+`"}]}}`))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	if _, err := st.Delete(ctx, "Observation", ids[0], 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Update(ctx, mustParse(t, `{"resourceType":"Observation","id":"`+ids[1]+`","status":"final","subject":{"reference":"Patient/`+p.ID+`"},
		"code":{"text":"changed"}}`), 0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		query string
		want  int
	}{
		{"code=c" + run, 3},
		{"code=urn:a|c" + run, 3},
		{"subject:Patient.family=Count" + run, 4},
		{"code=c" + run + "&status=final", 3}, // two filters: the plain count
	} {
		v, _ := url.ParseQuery(tt.query + "&_summary=count")
		q, err := search.Parse("Observation", v, search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Search(ctx, q, Scope{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total == nil || *res.Total != tt.want {
			t.Errorf("Observation?%s: total %v, want %d", tt.query, res.Total, tt.want)
		}
	}
}
