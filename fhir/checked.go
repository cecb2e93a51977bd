package fhir

// Checked stands, in a decoded document, for a resource that was decoded
// and validated on its own, so that a large Bundle need not be decoded
// whole: each entry's resource is checked in turn and dropped. Validate
// reports Issues, found with ValidateAt at the resource's path, where the
// resource is, so the issues come in the order the whole document would
// have given them.
type Checked struct {
	Issues []Issue
}
