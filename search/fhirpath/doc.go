// Package fhirpath evaluates the subset of FHIRPath that FHIR R4
// search-parameter expressions use, on resources decoded by encoding/json
// (with UseNumber) into map[string]any.
//
// An expression is compiled once with [Compile] and evaluated many times with
// [Expr.Eval]; the result is a flat collection of [Node] values that the search
// indexer turns into index rows. The package works without the FHIR
// structure definitions, so it relies on what the JSON itself says:
//
//   - A path that starts with a type name (Patient.name) yields nothing unless
//     the resource is of that type, so one expression such as
//     "Patient.name | Practitioner.name" serves several resource types.
//     Resource and DomainResource match every resource they cover.
//   - Arrays are flattened. A choice element (Observation.value) is found
//     through its suffixed key (valueQuantity) and the suffix becomes the
//     node's Type ("Quantity"; "dateTime" for valueDateTime).
//   - as, is and ofType compare against that Type; when the Type is unknown a
//     primitive's type is judged from its JSON value, and an unknown complex
//     element matches no type.
//   - resolve() does not fetch anything: it decides a reference's target type
//     from the reference string (Patient/1, http://x/fhir/Patient/1,
//     Patient/1/_history/2) and looks #id references up in the resource's
//     contained list. The node it returns for an external reference is a stub
//     {"resourceType": T, "id": id}; urn: and conditional references do not
//     resolve.
//
// Supported: paths, indexers, the literals string, number, true, false and
// {}, $this, %resource (and %context, %rootResource, %ucum, %sct, %loinc),
// the operators | = != and or xor implies is as, and the functions where,
// exists, empty, first, last, count, not, hasValue, ofType, as, is, resolve,
// extension and intersect. Anything else
// is rejected by Compile with an error wrapping [ErrUnsupported], so callers
// can tell an unsupported but valid expression from a syntax error.
//
// Where the FHIRPath specification asks for an error on a collection of more
// than one item given to as (Observation.component.value as Quantity), this
// package keeps the items of that type instead, as the R4 search expressions
// expect. is, where() criteria and the boolean operators do report an error
// from Eval for several items.
//
// Composite search parameters evaluate their component expressions on each
// item their own expression selects; [Expr.EvalAt] does that, with
// %resource still the resource.
//
// See https://hl7.org/fhirpath/N1/ and
// https://hl7.org/fhir/R4/fhirpath.html for the language.
package fhirpath
