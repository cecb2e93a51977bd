package search

import (
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
)

// Defaults used when Options leaves the page sizes at zero.
const (
	// DefaultCount is the page size when the request has no _count.
	DefaultCount = 20
	// MaxCount is the largest page size; a larger _count is reduced to it.
	MaxCount = 1000
)

// Options tunes Parse.
type Options struct {
	// DefaultCount is the page size without _count; zero means DefaultCount.
	DefaultCount int
	// MaxCount caps _count; zero means MaxCount. A larger _count is
	// lowered to it with an informational issue, or, with Strict, rejected.
	MaxCount int
	// Limits bound the cost of the search; the zero Limits imposes none.
	Limits Limits
	// Strict rejects unknown and unsupported parameters instead of ignoring
	// them with a warning, as Prefer: handling=strict asks.
	Strict bool
	// Now is the reference time for the ap prefix on dates; zero means
	// time.Now(). Tests set it to get reproducible ranges.
	Now time.Time
}

// Query is a parsed search: Filters are ANDed, each Filter's Values ORed.
type Query struct {
	// Type is the resource type searched.
	Type string `json:"type"`
	// Filters are the search criteria, all of which must hold.
	Filters []Filter `json:"filters,omitempty"`
	// Includes are the _include parameters.
	Includes []Include `json:"include,omitempty"`
	// RevIncludes are the _revinclude parameters.
	RevIncludes []Include `json:"revinclude,omitempty"`
	// Sort is the _sort order, most significant first.
	Sort []Sort `json:"sort,omitempty"`
	// Count is the page size: _count clamped to Options.MaxCount, or
	// Options.DefaultCount. Zero asks for no entries, only the total.
	Count int `json:"count"`
	// Cursor is the opaque _cursor value of a next-page link. The store
	// creates and reads it (a keyset position); the parser only carries it.
	Cursor string `json:"cursor,omitempty"`
	// Total is the _total mode; empty when the request did not say.
	Total Total `json:"total,omitempty"`
	// Summary is the _summary mode; empty when the request did not say.
	Summary Summary `json:"summary,omitempty"`
	// Elements lists the _elements the client asked for.
	Elements []string `json:"elements,omitempty"`
	// Warnings report parameters that were ignored (unknown, unsupported)
	// or adjusted (_count above the maximum). The REST layer returns them
	// in an OperationOutcome entry of the searchset Bundle.
	Warnings []fhir.Issue `json:"warnings,omitempty"`
}

// Filter is one occurrence of a search parameter: a resource matches when
// any of Values matches (OR). A repeated parameter gives several Filters
// (AND).
type Filter struct {
	// Name is the parameter name as the client wrote it, for messages.
	Name string
	// Chain holds the hops from the searched type to the resource that
	// Param applies to: a chain (subject:Patient.name) is a forward hop, a
	// reverse chain (_has:Observation:patient:code) a reverse one. Hops
	// apply in order; empty for a plain parameter.
	Chain []Hop
	// Param is the search parameter the values are matched against, defined
	// on the type reached by the last hop (or on the searched type). When the
	// last hop reaches several types, Param is the definition on the first
	// one; the candidates share Code and Type.
	Param *spec.SearchParam
	// Modifier is the modifier of Param, if any. A resource type modifier on
	// a reference (subject:Patient=1) is not kept here: it is folded into
	// each Reference value's Type.
	Modifier Modifier
	// Missing is the value of :missing (true: the resource has no value for
	// Param); used only when Modifier is ModMissing, and Values is then empty.
	Missing bool
	// Values are the alternatives (OR). Their concrete type follows
	// Param.Type, except that token:text gives String values, and
	// reference:identifier gives Token values.
	Values []Value
}

// Hop is one step of a chain.
type Hop struct {
	// Reverse is false for a chained reference (subject.name: follow Param
	// from the current resource to a resource of one of Types) and true for
	// _has (resources of Types whose Param refers to the current resource).
	Reverse bool
	// Param is the reference search parameter followed. For a forward hop it
	// is defined on the current type; for a reverse hop on Types[0].
	Param *spec.SearchParam
	// Types are the resource types reached: one for a reverse hop or a
	// typed chain (subject:Patient.name), possibly several for an untyped
	// chain (subject.identifier: every target of subject that has identifier).
	Types []string
}

// Include is one _include or _revinclude.
type Include struct {
	// Source is the type holding the reference (Observation in
	// _include=Observation:subject); empty for the bare wildcard *.
	Source string
	// Param is the reference parameter of Source followed; nil for a
	// wildcard (* or Source:*), meaning every reference parameter.
	Param *spec.SearchParam
	// Target restricts the referenced type (_include=Observation:subject:Patient);
	// empty for any.
	Target string
	// Iterate is set by :iterate (or R3's :recurse): apply the include to
	// included resources too, not only to matches.
	Iterate bool
}

// Sort is one _sort key.
type Sort struct {
	// Param is the search parameter sorted by.
	Param *spec.SearchParam
	// Desc is set by a leading '-'.
	Desc bool
}

// Total is the _total mode.
type Total string

// The _total modes.
const (
	TotalNone     Total = "none"
	TotalEstimate Total = "estimate"
	TotalAccurate Total = "accurate"
)

// Summary is the _summary mode.
type Summary string

// The _summary modes.
const (
	SummaryTrue  Summary = "true"
	SummaryText  Summary = "text"
	SummaryData  Summary = "data"
	SummaryCount Summary = "count"
	SummaryFalse Summary = "false"
)

// Modifier is a search parameter modifier (the part after ':').
type Modifier string

// The modifiers R4 defines, except the resource type modifier on
// references, which Parse folds into Reference.Type.
const (
	ModNone       Modifier = ""
	ModMissing    Modifier = "missing"
	ModExact      Modifier = "exact"
	ModContains   Modifier = "contains"
	ModText       Modifier = "text"
	ModNot        Modifier = "not"
	ModAbove      Modifier = "above"
	ModBelow      Modifier = "below"
	ModIn         Modifier = "in"
	ModNotIn      Modifier = "not-in"
	ModOfType     Modifier = "of-type"
	ModIdentifier Modifier = "identifier"
)
