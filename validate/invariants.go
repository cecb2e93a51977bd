package validate

import (
	"slices"
	"sort"
	"sync"

	"github.com/hce-fhir/hce/fhir/spec"
	"github.com/hce-fhir/hce/search/fhirpath"
)

// checkedInvariants are the keys of the R4 invariants the validator
// evaluates, with the FHIRPath of the definitions, and the type that
// defines each (keys such as inv-1 recur in other types). Each one compiles with
// search/fhirpath, has a test of a resource that holds it and one that
// breaks it, and holds on every official R4 example. The structural rules
// ele-1, ext-1 and dom-2 to dom-5 are checked in Go instead (walk.go,
// contained.go), and so is per-1 (goInvariants).
var checkedInvariants = map[string]string{
	"ait-1": "AllergyIntolerance",  // AllergyIntolerance: clinicalStatus unless entered-in-error
	"ait-2": "AllergyIntolerance",  // AllergyIntolerance: no clinicalStatus when entered-in-error
	"app-1": "Appointment",         // Appointment.participant: a type or an actor
	"app-2": "Appointment",         // Appointment: start and end together
	"bdl-1": "Bundle",              // Bundle: total only in a searchset or history
	"bdl-2": "Bundle",              // Bundle: entry.search only in a searchset
	"bdl-5": "Bundle",              // Bundle.entry: a resource, request or response
	"con-5": "Condition",           // Condition: no clinicalStatus when entered-in-error
	"fhs-1": "FamilyMemberHistory", // FamilyMemberHistory: age or born, not both
	"inv-1": "Parameters",          // Parameters.parameter: parts, or one value or resource
	"lst-1": "List",                // List: emptyReason only without entries
	"obs-3": "Observation",         // Observation.referenceRange: low, high or text
	"obs-6": "Observation",         // Observation: dataAbsentReason only without a value
	"obs-7": "Observation",         // Observation: no component with the Observation's own code and a value
	"pat-1": "Patient",             // Patient.contact: a name, telecom, address or organization
	"qty-3": "Quantity",            // Quantity: a code needs a system
}

// goInvariants are the invariants checked in Go because their FHIRPath
// needs what search/fhirpath lacks: per-1 compares dates (period.go).
var goInvariants = []string{"per-1"}

// Invariants returns the keys of the invariants that are evaluated, sorted.
func Invariants() []string {
	keys := slices.Clone(goInvariants)
	for k := range checkedInvariants {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// invariant is a compiled constraint.
type invariant struct {
	spec.Constraint
	expr *fhirpath.Expr
}

var (
	invariantsOnce sync.Once
	// invariantsAt maps a type name and an element path to the compiled
	// invariants that apply there.
	invariantsAt map[invariantSite][]invariant
)

// invariantSite is where invariants apply: a type and one of its element
// paths.
type invariantSite struct{ typ, path string }

func compileInvariants() {
	invariantsAt = map[invariantSite][]invariant{}
	for name, t := range spec.Types() {
		for _, c := range t.Constraints {
			if checkedInvariants[c.Key] != name {
				continue
			}
			expr, err := fhirpath.Compile(c.Expression)
			if err != nil {
				panic("validate: invariant " + c.Key + ": " + err.Error())
			}
			site := invariantSite{name, c.Path}
			invariantsAt[site] = append(invariantsAt[site], invariant{Constraint: c, expr: expr})
		}
	}
}

// invariants evaluates the invariants of the element at defPath of t on the
// object m, with %resource the resource being walked.
func (w *walker) invariants(m map[string]any, t *spec.TypeDef, defPath, path string) {
	invariantsOnce.Do(compileInvariants)
	list := invariantsAt[invariantSite{t.Name, defPath}]
	if len(list) == 0 {
		return
	}
	root := m
	if w.res != nil {
		root = w.res.root
	}
	for _, inv := range list {
		out, err := inv.expr.EvalAt(root, fhirpath.Node{Value: m})
		if err != nil {
			continue // an evaluation error is no verdict
		}
		if len(out) == 1 {
			if b, ok := out[0].Value.(bool); ok && !b {
				if inv.Severity == "warning" {
					continue // warnings do not reject a write
				}
				w.add(path, "invariant", "%s: %s", inv.Key, inv.Human)
			}
		}
	}
}
