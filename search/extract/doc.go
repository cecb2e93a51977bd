// Package extract turns a resource into search index values: for every R4
// search parameter of the resource's type it evaluates the parameter's
// FHIRPath expression and converts what it selects into typed values by the
// parameter's type (string, token, date, number, quantity, reference, uri,
// composite), as the R4 search page maps data types to parameter types.
//
// The store writes these values as index rows in the same transaction as the
// resource, and builds its search predicates over the same columns, with the
// same normalisation (search.NormalizeString, search.DateRange).
package extract
