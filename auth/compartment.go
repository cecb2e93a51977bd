package auth

import (
	"encoding/json"

	"github.com/hce-fhir/hce/fhir/spec"
	"github.com/hce-fhir/hce/search/extract"
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
	for _, id := range extract.CompartmentPatients(typ, content) {
		if id == patient {
			return true
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
