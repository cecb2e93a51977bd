package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/fhir/rest"
)

// TestEverythingPost checks that POST Patient/{id}/$everything, with a
// Parameters body or none, answers as GET does with the same parameters,
// and that its next links page through the record once.
func TestEverythingPost(t *testing.T) {
	c := testServer(t, rest.Options{})
	prefix := "ev" + uniq + "-"
	newSearchFixture(t, c, prefix)
	path := "/fhir/Patient/" + prefix + "p1/$everything"
	ids := func(r *response) []string {
		var out []string
		for _, e := range r.entries(t) {
			out = append(out, strings.TrimPrefix(e["resource"].(map[string]any)["id"].(string), prefix))
		}
		slices.Sort(out)
		return out
	}
	params := func(ps ...string) map[string]any { // name, value[x] key, value …
		doc := map[string]any{"resourceType": "Parameters"}
		var list []any
		for i := 0; i+2 < len(ps); i += 3 {
			var v any = ps[i+2]
			if ps[i+1] == "valueInteger" {
				v = json.Number(ps[i+2])
			}
			list = append(list, map[string]any{"name": ps[i], ps[i+1]: v})
		}
		if len(list) > 0 {
			doc["parameter"] = list
		}
		return doc
	}
	all := []string{"e1", "o1", "o2", "p1"}
	for _, tt := range []struct {
		name  string
		query string         // for GET
		body  map[string]any // for POST
		want  []string
	}{
		{"no parameters", "", params(), all},
		{"_type", "?_type=Observation", params("_type", "valueCode", "Observation"), []string{"o1", "o2"}},
		{"_type twice", "?_type=Observation,Encounter", params("_type", "valueCode", "Observation", "_type", "valueString", "Encounter"), []string{"e1", "o1", "o2"}},
		{"_since", "?_since=2999-01-01T00:00:00Z", params("_since", "valueInstant", "2999-01-01T00:00:00Z"), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(c.do("GET", path+tt.query, nil).must(t, 200))
			if !slices.Equal(got, tt.want) {
				t.Errorf("GET gave %v, want %v", got, tt.want)
			}
			if got := ids(c.do("POST", path, tt.body).must(t, 200)); !slices.Equal(got, tt.want) {
				t.Errorf("POST gave %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("no body", func(t *testing.T) {
		if got := ids(c.do("POST", path, nil).must(t, 200)); !slices.Equal(got, all) {
			t.Errorf("POST without a body gave %v", got)
		}
		if got := ids(c.do("POST", path, "", "Content-Type", "application/fhir+json").must(t, 200)); !slices.Equal(got, all) {
			t.Errorf("POST with an empty body gave %v", got)
		}
		if got := ids(c.do("POST", path+"?_type=Encounter", nil).must(t, 200)); !slices.Equal(got, []string{"e1"}) {
			t.Errorf("POST with the parameters in the query string gave %v", got)
		}
	})
	t.Run("pages by next links", func(t *testing.T) {
		r := c.do("POST", path, params("_count", "valueInteger", "1")).must(t, 200)
		var got []string
		for pages := 0; ; pages++ {
			if pages > len(all) {
				t.Fatalf("more pages than resources: %v", got)
			}
			if n := len(r.entries(t)); n > 1 {
				t.Fatalf("page of %d entries, want 1", n)
			}
			got = append(got, ids(r)...)
			next := ""
			for _, l := range r.body["link"].([]any) {
				if l := l.(map[string]any); l["relation"] == "next" {
					next = l["url"].(string)
				}
			}
			if next == "" {
				break
			}
			r = c.do("GET", strings.TrimPrefix(next, c.base), nil).must(t, 200)
		}
		slices.Sort(got)
		if !slices.Equal(got, all) {
			t.Errorf("the pages gave %v, want each of %v once", got, all)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		c.do("POST", path, patient("X")).must(t, 400).outcome(t, "Parameters")
		c.do("POST", path, params("_count", "valueString", "many")).must(t, 400).outcome(t, "_count")
		c.do("POST", path, params("_since", "valueString", "yesterday")).must(t, 400).outcome(t, "_since")
		c.do("POST", path, params("_type", "valueCode", "Nonsense")).must(t, 400).outcome(t, "Nonsense")
		c.do("POST", path, `{"resourceType":"Parameters"}`, "Content-Type", "text/plain").must(t, 415)
		c.do("POST", "/fhir/Observation/x/$everything", nil).must(t, 404)
	})
	t.Run("CapabilityStatement", func(t *testing.T) {
		r := c.do("GET", "/fhir/metadata", nil).must(t, 200)
		if !strings.Contains(string(r.raw), "POST with them in a Parameters body") {
			t.Error("the CapabilityStatement does not say $everything takes POST")
		}
	})
}
