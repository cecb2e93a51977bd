// Package search turns a FHIR R4 search request into a typed syntax tree,
// following the R4 search page (http://hl7.org/fhir/R4/search.html).
//
// Parse takes the resource type and the query parameters and returns a
// Query: an AND of Filters, each an OR of typed Values (String, Token, Date,
// Number, Quantity, Reference, URI, Composite), plus the result parameters
// (_sort, _count, _include, _revinclude, _total, _summary, _elements) and
// an opaque paging cursor. Every parameter is resolved against the R4
// definitions in fhir/spec, so a Filter carries the SearchParameter it
// names, its chain (subject:Patient.name) and reverse chain (_has) hops,
// and its modifier.
//
// Values are shaped for building SQL directly: dates and numbers become
// half-open ranges [Lo, Hi) by the precision they were written with (dates
// as time.Time, numbers as decimal text that PostgreSQL's numeric accepts),
// and strings carry their NormalizeString form. The index side uses the same
// DateRange and NormalizeString, so stored values and query values cannot
// drift apart.
//
// Paging is by an opaque _cursor parameter: the store writes it into the
// next link and reads it back; Parse only carries it in Query.Cursor.
// Query.Encode writes a query back in canonical form for those links.
//
// Options.Limits bound the cost of a search (parameters, OR values, _sort
// keys, chain and _has depth, includes); DefaultLimits are the server's
// defaults, and a request over a limit is an issue of code too-costly.
//
// Errors are *fhir.Error of kind fhir.ErrInvalid whose issues name the
// offending parameter. Unknown or unsupported parameters are ignored with a
// warning in Query.Warnings, or rejected when Options.Strict is set (the
// Prefer: handling=strict header).
package search
