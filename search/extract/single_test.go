package extract

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hce-fhir/hce/fhir"
)

func TestSingleValued(t *testing.T) {
	tests := []struct {
		typ, code string
		want      bool
	}{
		{"Encounter", "date", true},           // Encounter.period
		{"Observation", "date", true},         // Observation.effective[x]
		{"Condition", "onset-date", true},     // onset.ofType(dateTime) | onset.ofType(Period)
		{"Patient", "birthdate", true},        // one of three bases
		{"Patient", "death-date", true},       // (Patient.deceased.ofType(dateTime))
		{"DocumentReference", "period", true}, // context (0..1) . period
		{"MedicationRequest", "date", false},  // dosageInstruction repeats
		{"Composition", "period", false},      // event repeats
		{"NamingSystem", "period", false},     // uniqueId repeats
		{"Observation", "code", false},        // not a date
		{"Observation", "no-such-parameter", false},
	}
	for _, tt := range tests {
		if got := SingleValued(tt.typ, tt.code); got != tt.want {
			t.Errorf("SingleValued(%s, %s) = %v, want %v", tt.typ, tt.code, got, tt.want)
		}
	}
}

// TestSingleValuedRows checks the claim against the extractor: over the
// official examples, no parameter SingleValued calls single gives a
// resource two rows.
func TestSingleValuedRows(t *testing.T) {
	files, err := filepath.Glob("../../fhir/testdata/examples/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no R4 examples (%v)", err)
	}
	n := 0
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := fhir.Parse(body)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rows := map[string]int{}
		for _, d := range Extract(r).Dates {
			rows[d.Param]++
		}
		for code, count := range rows {
			if count > 1 && SingleValued(r.Type, code) {
				t.Errorf("%s/%s: %d rows for %s, said single-valued", r.Type, r.ID, count, code)
			}
			if SingleValued(r.Type, code) {
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no single-valued date parameter in the examples")
	}
}
