// Package rest implements the FHIR R4 RESTful API (https://hl7.org/fhir/R4/http.html)
// on Echo. Each interaction has its own file whose doc comment links its
// section of the specification; routes.go registers every route in one
// function; errors.go maps every error to an HTTP status and an
// OperationOutcome in one place. Handlers bind the request, call the
// Repository and render: FHIR semantics live here, storage does not.
package rest
