// Package validate checks FHIR R4 resources before they are stored, and
// backs the $validate operation, so that every write path (create, update,
// the result of a patch, the entries of batch and transaction Bundles, the
// lines of an NDJSON load) and $validate run the same code.
//
// Validation has three layers. The bytes come first: valid UTF-8, no NUL
// characters or lone surrogates, no duplicate object keys, and a bounded
// nesting depth and array length ([Options]); decoding into Go values would
// hide all of these. Then fhir.Parse checks the resource against the R4
// models (known elements, JSON types, required elements, codes of required
// value sets). Last, the R4 StructureDefinitions embedded in fhir/spec drive
// a walk that checks every primitive's lexical form and value (date,
// dateTime, instant, time, integer, positiveInt, unsignedInt, decimal, id,
// uri, url, canonical, oid, uuid, code, base64Binary, string, markdown), the
// structural rules of R4 JSON (ele-1, one type per choice element, extension
// url and ext-1, _element twins of primitives, contained resources and
// dom-2 to dom-5, #id references that resolve, reference syntax, narrative
// XHTML under txt-1 and txt-2), and the invariants of [Invariants], which are
// evaluated with search/fhirpath.
//
// The package sits beside search rather than inside fhir: it imports
// fhir/spec (which imports fhir) and search/fhirpath, so inside fhir it would
// make an import cycle. rest imports it; nothing below rest does, so imports
// still run one way (rest -> validate -> search/fhirpath, fhir/spec -> fhir).
//
// Issues name the element at fault in their expression, with array indexes
// and, for a choice element, the type: Patient.birthDate,
// Patient.name[0].given[1], Observation.value.ofType(dateTime).
package validate
