package store

import (
	"fmt"
	"sort"

	"github.com/hce-fhir/hce/fhir/spec"
)

// tableSet names the tables of one storage class. Resources in the Patient
// compartment live in tables distributed by route; the others (Practitioner,
// Organization, Medication …) in tables that Citus replicates to every node.
// Both classes have the same columns, so one SQL shape serves both.
type tableSet struct {
	resources, history string
	// idx maps a search parameter type to its index table.
	idx map[string]string
	// index lists the index tables, sorted, for deleting a resource's rows.
	index []string
	// readCurrent and readVersion are the statements by id on these
	// tables (read.go), built once instead of on every read.
	readCurrent, readVersion string
}

var (
	patientTables = newTableSet("resources", "resource_history", "idx_")
	sharedTables  = newTableSet("shared_resources", "shared_history", "shared_idx_")
	tableSets     = []*tableSet{&patientTables, &sharedTables}
)

func newTableSet(resources, history, indexPrefix string) tableSet {
	t := tableSet{resources: resources, history: history, idx: map[string]string{},
		readCurrent: fmt.Sprintf(readCurrent, resources), readVersion: fmt.Sprintf(readHistoryVersion, history)}
	for _, typ := range []string{"string", "token", "date", "number", "quantity", "reference", "uri", "composite"} {
		t.idx[typ] = indexPrefix + typ
		t.index = append(t.index, indexPrefix+typ)
	}
	sort.Strings(t.index)
	return t
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

// claims reports whether ids of typ are claimed in resource_ids: those of
// compartment types whose rows may live on another route than their id
// names. A Patient and a shared resource always live where their id routes.
func claims(typ string) bool { return typ != "Patient" && !Shared(typ) }

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
