package store

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestSearchSQLGolden pins the SQL that searches compile to, one golden file
// per query, so that a change to the builder shows up as a reviewable diff.
// Every value must travel as a bound parameter: the golden files hold the
// statements with $n placeholders and their arguments apart.
func TestSearchSQLGolden(t *testing.T) {
	tests := []struct {
		name, typ, query string
		scope            Scope
	}{
		{"string", "Patient", "name=ana", Scope{}},
		{"string-exact-contains", "Patient", "family:exact=Muñoz&given:contains=an", Scope{}},
		{"token-or", "Observation", "code=http://loinc.org|8867-4,|29463-7", Scope{}},
		{"token-not", "Patient", "gender:not=female", Scope{}},
		{"date-prefixes", "Observation", "date=ge2015&date=lt2016-02", Scope{}},
		{"quantity", "Observation", "value-quantity=gt70|http://unitsofmeasure.org|/min", Scope{}},
		{"reference-routed", "Observation", "patient=p1&code=8867-4", Scope{}},
		{"composite", "Observation", "code-value-quantity=http://loinc.org|29463-7$gt60", Scope{}},
		{"missing", "Observation", "encounter:missing=true", Scope{}},
		{"chain", "Observation", "subject:Patient.name=smith", Scope{}},
		{"has", "Patient", "_has:Observation:subject:code=29463-7", Scope{}},
		{"sort-two-keys", "Observation", "_sort=code,-date&_count=5", Scope{}},
		{"compartment", "Observation", "code=8867-4", Scope{Patient: "p1"}},
		{"injection-is-a-value", "Patient", "name=x')%3BDROP TABLE resources%3B--", Scope{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sql, args, err := searchSQL(parseQuery(t, tt.typ, tt.query), tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(sql, "DROP") || strings.Contains(sql, "ana") || strings.Contains(sql, "8867") {
				t.Fatalf("a value reached the SQL text:\n%s", sql)
			}
			argText, _ := json.Marshal(args)
			got := fmt.Sprintf("-- %s?%s\n%s\n-- args: %s\n", tt.typ, tt.query, sql, argText)
			path := filepath.Join("testdata", "sql", tt.name+".sql")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(want) != got {
				t.Errorf("SQL differs from %s (run with -update if intended)\n got:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}
