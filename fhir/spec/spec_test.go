package spec

import (
	"slices"
	"testing"

	"github.com/hce-fhir/hce/fhir"
)

func TestParam(t *testing.T) {
	tests := []struct {
		typ, code, wantType, wantExpr string
	}{
		{"Patient", "name", "string", "Patient.name"},
		{"Patient", "_id", "token", "Resource.id"},
		{"Observation", "_lastUpdated", "date", "Resource.meta.lastUpdated"},
		{"Observation", "code-value-quantity", "composite", "Observation"},
		{"Bundle", "_text", "", ""}, // DomainResource only
	}
	for _, tt := range tests {
		t.Run(tt.typ+"."+tt.code, func(t *testing.T) {
			p, ok := Param(tt.typ, tt.code)
			if tt.wantType == "" {
				if ok {
					t.Fatalf("found %+v, want none", p)
				}
				return
			}
			if !ok {
				t.Fatal("not found")
			}
			if p.Type != tt.wantType || p.Expression != tt.wantExpr {
				t.Errorf("got %s %q, want %s %q", p.Type, p.Expression, tt.wantType, tt.wantExpr)
			}
		})
	}
}

func TestComposite(t *testing.T) {
	p, _ := Param("Observation", "code-value-quantity")
	if len(p.Component) != 2 {
		t.Fatalf("components %+v", p.Component)
	}
	for _, c := range p.Component {
		if _, ok := ByURL(c.Definition); !ok {
			t.Errorf("component %s not found", c.Definition)
		}
	}
}

func TestCounts(t *testing.T) {
	total := 0
	seen := map[*SearchParam]bool{}
	for _, typ := range fhir.ResourceTypes {
		for _, p := range Params(typ) {
			if !seen[p] {
				seen[p] = true
				total++
			}
		}
	}
	if total != 1378 {
		t.Errorf("%d distinct search parameters, want 1378", total)
	}
	if n := len(Params("Observation")); n < 40 {
		t.Errorf("Observation has %d parameters", n)
	}
}

func TestPatientCompartment(t *testing.T) {
	tests := []struct {
		typ  string
		want []string
	}{
		{"Observation", []string{"subject", "performer"}},
		{"Encounter", []string{"subject"}},
		{"Patient", []string{"link"}},
		{"Practitioner", nil},
		{"Organization", nil},
	}
	for _, tt := range tests {
		if got := PatientCompartment(tt.typ); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.typ, got, tt.want)
		}
	}
}
