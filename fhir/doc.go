// Package fhir holds what every layer of HCE shares about FHIR R4 resources:
// the resource envelope (type, id, meta and the raw JSON a client wrote),
// references, OperationOutcome issues, Bundle helpers, validation against the
// R4 models of github.com/samply/golang-fhir-models, and the sentinel errors
// that the REST layer maps to HTTP statuses.
package fhir
