package store

import (
	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/search/extract"
)

// placement is where a resource's rows live.
type placement struct {
	// home is the route of every row of the resource: its patient's.
	home int32
	// others are the further patients whose compartments hold the resource
	// on routes other than home, as (route, patient) pairs.
	others []member
}

type member struct {
	route   int32
	patient string
}

// place finds r's placement: a Patient is at its own id's route; a resource
// in the Patient compartment at the route of the first Patient that the
// compartment's parameters reference (in definition order: subject before
// performer); any other resource at its own id's route.
func place(r *fhir.Resource) placement {
	patients := compartmentPatients(r)
	home := r.ID
	if r.Type != "Patient" && len(patients) > 0 {
		home = patients[0]
	}
	route := fhir.RouteOf(home)
	return placement{home: route, others: elsewhere(patients, route)}
}

// elsewhere returns the memberships of patients whose route is not home.
func elsewhere(patients []string, home int32) []member {
	var out []member
	for _, id := range patients {
		if rt := fhir.RouteOf(id); rt != home {
			out = append(out, member{route: rt, patient: id})
		}
	}
	return out
}

// NewID returns a new id for r whose route is r's home route, so that r's
// claim and rows share one shard group. r's references to its patient must
// be resolved; without one the id is random.
func NewID(r *fhir.Resource) string {
	if r.Type == "Patient" || Shared(r.Type) {
		return fhir.RandomID()
	}
	if ps := compartmentPatients(r); len(ps) > 0 {
		return fhir.NewID(fhir.RouteOf(ps[0]))
	}
	return fhir.RandomID()
}

// compartmentPatients returns the ids of the Patients whose compartments
// hold r through a reference, in the order of the compartment's parameters.
func compartmentPatients(r *fhir.Resource) []string {
	return extract.CompartmentPatients(r.Type, r.Content)
}
