package fhir

import "sort"

//go:generate go run gen_models.go

// ResourceTypes lists every concrete R4 resource type, sorted.
var ResourceTypes = func() []string {
	ts := make([]string, 0, len(modelTypes))
	for t := range modelTypes {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}()

// IsResourceType reports whether t is a concrete R4 resource type name.
func IsResourceType(t string) bool {
	_, ok := modelTypes[t]
	return ok
}
