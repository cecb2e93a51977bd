package extract

import (
	"slices"
	"sync"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
	"github.com/hce-fhir/hce/search/fhirpath"
)

// compartmentExprs caches, per resource type, the compiled expressions of the
// search parameters that place the type in the Patient compartment.
var compartmentExprs sync.Map // string -> []*fhirpath.Expr

// CompartmentPatients returns the distinct ids of the Patients whose
// compartments hold a resource of typ with content through a reference, in
// the order of the compartment's parameters (subject before performer). A
// Patient itself is in its own compartment too, which this does not list.
// The store places resources by it and authorization checks patient
// context by it, so the two agree.
func CompartmentPatients(typ string, content map[string]any) []string {
	var out []string
	for _, e := range compartmentExpressions(typ) {
		nodes, err := e.Eval(content)
		if err != nil {
			continue
		}
		for _, n := range nodes {
			m, _ := n.Value.(map[string]any)
			ref, _ := m["reference"].(string)
			if t, id, ok := fhir.SplitReference(ref); ok && t == "Patient" && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

func compartmentExpressions(typ string) []*fhirpath.Expr {
	if v, ok := compartmentExprs.Load(typ); ok {
		return v.([]*fhirpath.Expr)
	}
	var exprs []*fhirpath.Expr
	for _, code := range spec.PatientCompartment(typ) {
		p, ok := spec.Param(typ, code)
		if !ok || p.Expression == "" {
			continue
		}
		// Every compartment expression is within the evaluator's subset; one
		// that is not simply cannot place a resource.
		if e, err := fhirpath.Compile(p.Expression); err == nil {
			exprs = append(exprs, e)
		}
	}
	compartmentExprs.Store(typ, exprs)
	return exprs
}
