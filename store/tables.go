package store

import (
	"sort"

	"github.com/hce-fhir/hce/fhir/spec"
)

// tableSet names the tables of one storage class. Resources in the Patient
// compartment live in tables distributed by route; the others (Practitioner,
// Organization, Medication …) in tables that Citus replicates to every node.
// Both classes have the same columns, so one SQL shape serves both.
type tableSet struct {
	resources, history string
	// ids is the claim table, "" for the shared class, whose ids are always
	// at the route they name.
	ids string
	// idx maps a search parameter type to its index table.
	idx map[string]string
}

var (
	patientTables = tableSet{resources: "resources", history: "resource_history", ids: "resource_ids", idx: indexNames("idx_")}
	sharedTables  = tableSet{resources: "shared_resources", history: "shared_history", idx: indexNames("shared_idx_")}
	tableSets     = []*tableSet{&patientTables, &sharedTables}
)

func indexNames(prefix string) map[string]string {
	m := map[string]string{}
	for _, t := range []string{"string", "token", "date", "number", "quantity", "reference", "uri", "composite"} {
		m[t] = prefix + t
	}
	return m
}

// tablesFor returns the tables that hold resources of typ.
func tablesFor(typ string) *tableSet {
	if Shared(typ) {
		return &sharedTables
	}
	return &patientTables
}

// Shared reports whether typ is outside every Patient compartment, derived
// from the R4 CompartmentDefinition: its resources are shared by all
// patients and stored in reference tables.
func Shared(typ string) bool {
	return typ != "Patient" && len(spec.PatientCompartment(typ)) == 0
}

// claims reports whether ids of typ are claimed in the ids table: those of
// compartment types whose rows may live on another route than their id
// names. A Patient and a shared resource always live where their id routes.
func claims(typ string) bool { return typ != "Patient" && !Shared(typ) }

// indexTables lists the set's index tables, sorted, for deleting a
// resource's rows.
func (t *tableSet) indexTables() []string {
	ts := make([]string, 0, len(t.idx))
	for _, n := range t.idx {
		ts = append(ts, n)
	}
	sort.Strings(ts)
	return ts
}

// splitTypes groups types by the table set that holds them, patient tables
// first.
func splitTypes(types []string) map[*tableSet][]string {
	m := map[*tableSet][]string{}
	for _, typ := range types {
		t := tablesFor(typ)
		m[t] = append(m[t], typ)
	}
	return m
}
