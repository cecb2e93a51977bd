package search

import (
	"fmt"
	"slices"
)

// Limits bound what one search may ask for, so that its cost is bounded
// before it reaches the database: every ANDed parameter, ORed value, sort
// key, chain hop and include is a join, a predicate or a query of its own.
// A request over a limit fails with an ErrInvalid whose issue has the code
// too-costly, names the parameter in its Expression and states the limit.
//
// A zero field imposes no limit. Callers that face clients start from
// DefaultLimits (Limits.Or fills in the zero fields); a caller that parses
// criteria already checked against the configured limits, as the store does
// for conditional interactions, passes none.
//
// The page size is bounded separately, by Options.MaxCount.
type Limits struct {
	// Params bounds the parameters of one request: every name=value pair
	// counts, a repeated name (name=a&name=b) once per occurrence, result
	// parameters such as _sort and _include included.
	Params int
	// Values bounds the comma-separated values ORed in one occurrence of a
	// parameter (code=a,b,c has three).
	Values int
	// SortKeys bounds the keys of _sort, over all its occurrences.
	SortKeys int
	// ChainDepth bounds the chained references in one parameter name:
	// subject:Patient.organization.name has two.
	ChainDepth int
	// HasDepth bounds the _has in one parameter name:
	// _has:Observation:patient:_has:AuditEvent:entity:agent has two.
	HasDepth int
	// Includes bounds the _include and _revinclude values together.
	Includes int
	// Iterate bounds those of them with :iterate, each of which is applied
	// again to the resources it included.
	Iterate int
}

// DefaultLimits are limits a real client does not reach: the searches of
// clinical applications have a handful of parameters, a few OR values
// (a value set expanded by hand may have dozens), two or three sort keys,
// one or two chain hops and a couple of includes.
var DefaultLimits = Limits{
	Params:     100,
	Values:     100,
	SortKeys:   8,
	ChainDepth: 4,
	HasDepth:   2,
	Includes:   10,
	Iterate:    4,
}

// Or returns l with every zero field replaced by the one of d.
func (l Limits) Or(d Limits) Limits {
	or := func(a, b int) int {
		if a == 0 {
			return b
		}
		return a
	}
	return Limits{
		Params:     or(l.Params, d.Params),
		Values:     or(l.Values, d.Values),
		SortKeys:   or(l.SortKeys, d.SortKeys),
		ChainDepth: or(l.ChainDepth, d.ChainDepth),
		HasDepth:   or(l.HasDepth, d.HasDepth),
		Includes:   or(l.Includes, d.Includes),
		Iterate:    or(l.Iterate, d.Iterate),
	}
}

// over reports whether n is above the limit max; a zero max is no limit.
func over(n, max int) bool { return max > 0 && n > max }

// checkParams enforces Limits.Params on the whole request before anything
// is parsed. The issue names the most repeated parameter, the usual culprit
// (200 ANDed name parameters), or the first in sorted order.
func checkParams(q map[string][]string, keys []string, max int) (key string, err error) {
	n, worst := 0, ""
	for _, k := range keys {
		n += len(q[k])
		if worst == "" || len(q[k]) > len(q[worst]) {
			worst = k
		}
	}
	if !over(n, max) {
		return "", nil
	}
	msg := fmt.Sprintf("the search has %d parameters; at most %d are allowed", n, max)
	if r := len(q[worst]); r > 1 {
		msg += fmt.Sprintf(" (%s is given %d times)", worst, r)
	}
	return worst, tooCostlyf("%s", msg)
}

// countIncludes enforces Limits.Includes and Limits.Iterate after an
// include was added; it reports the first excess only.
func (p *parser) countIncludes(key string) {
	if p.includesOver {
		return
	}
	all := slices.Concat(p.q.Includes, p.q.RevIncludes)
	iterate := 0
	for _, inc := range all {
		if inc.Iterate {
			iterate++
		}
	}
	lim := p.opt.Limits
	switch {
	case over(len(all), lim.Includes):
		p.report(key, tooCostlyf("the search has more than %d _include and _revinclude values; at most %d are allowed", lim.Includes, lim.Includes))
	case over(iterate, lim.Iterate):
		p.report(key, tooCostlyf("the search has more than %d _include:iterate and _revinclude:iterate values; at most %d are allowed", lim.Iterate, lim.Iterate))
	default:
		return
	}
	p.includesOver = true
}
