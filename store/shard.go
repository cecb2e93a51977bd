package store

import (
	"sync"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
	"github.com/hce-fhir/hce/search/fhirpath"
)

// compartmentExprs caches, per resource type, the compiled expressions of the
// search parameters that place the type in the Patient compartment.
var compartmentExprs sync.Map // string -> []*fhirpath.Expr

// ShardKey returns the shard key of r: its own id for a Patient; for a
// resource in the Patient compartment, the id of the first Patient that the
// compartment's parameters (in definition order: subject before performer)
// reference; otherwise its own id.
func ShardKey(r *fhir.Resource) string {
	if r.Type == "Patient" {
		return r.ID
	}
	for _, e := range compartmentExpressions(r.Type) {
		nodes, err := e.Eval(r.Content)
		if err != nil {
			continue
		}
		for _, n := range nodes {
			m, _ := n.Value.(map[string]any)
			ref, _ := m["reference"].(string)
			if typ, id, ok := fhir.SplitReference(ref); ok && typ == "Patient" {
				return id
			}
		}
	}
	return r.ID
}

func compartmentExpressions(typ string) []*fhirpath.Expr {
	if v, ok := compartmentExprs.Load(typ); ok {
		return v.([]*fhirpath.Expr)
	}
	var exprs []*fhirpath.Expr
	for _, code := range spec.PatientCompartment(typ) {
		p, ok := spec.Param(typ, code)
		if !ok {
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
