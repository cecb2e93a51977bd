package auth

import (
	"encoding/json"
	"sync"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
	"github.com/hce-fhir/hce/search/fhirpath"
)

// InPatientCompartment reports whether typ belongs to the Patient
// compartment at all. Types outside it (Practitioner, Organization,
// Medication …) are shared by every patient.
func InPatientCompartment(typ string) bool {
	return spec.PatientCompartment(typ) != nil
}

// InCompartment reports whether the resource (typ, its content) is in the
// compartment of Patient/patient: the Patient itself, or a resource whose
// compartment parameters (subject, patient, performer …) refer to it. It
// evaluates the same definitions the store places resources by.
func InCompartment(typ string, content map[string]any, patient string) bool {
	if patient == "" || content == nil {
		return false
	}
	if typ == "Patient" {
		id, _ := content["id"].(string)
		if id == patient {
			return true
		}
		// A Patient is also in the compartment of the patients it links to.
	}
	for _, e := range compartmentExpressions(typ) {
		nodes, err := e.Eval(content)
		if err != nil {
			continue
		}
		for _, n := range nodes {
			m, _ := n.Value.(map[string]any)
			ref, _ := m["reference"].(string)
			if t, id, ok := fhir.SplitReference(ref); ok && t == "Patient" && id == patient {
				return true
			}
		}
	}
	return false
}

// InCompartmentJSON is InCompartment on raw JSON content.
func InCompartmentJSON(typ string, content []byte, patient string) bool {
	var m map[string]any
	if json.Unmarshal(content, &m) != nil {
		return false
	}
	return InCompartment(typ, m, patient)
}

var compartmentExprs sync.Map // type -> []*fhirpath.Expr

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
		if e, err := fhirpath.Compile(p.Expression); err == nil {
			exprs = append(exprs, e)
		}
	}
	compartmentExprs.Store(typ, exprs)
	return exprs
}
