package fhir

import "strings"

// SplitReference splits a literal reference into its type and id. It accepts
// relative references (Patient/123, Patient/123/_history/2) and absolute ones
// whose last segments are Type/id; ok is false for anything else (urn:uuid:,
// #contained, logical-only references).
func SplitReference(ref string) (typ, id string, ok bool) {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 {
		return "", "", false
	}
	typ, id = parts[len(parts)-2], parts[len(parts)-1]
	if !IsResourceType(typ) || !ValidID(id) {
		return "", "", false
	}
	return typ, id, true
}

// ValidID reports whether id matches the R4 id pattern [A-Za-z0-9\-\.]{1,64}.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
