package search

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
)

// Parse parses the query parameters of a search on resource type typ
// (GET [base]/typ?q, or the form body of POST [base]/typ/_search).
//
// Parameters are read in sorted order, so the Filters and Warnings of a
// Query do not depend on map iteration. A malformed parameter makes Parse
// fail with a *fhir.Error of kind fhir.ErrInvalid carrying one issue per
// problem, each naming the parameter as given in its Expression. Unknown
// and unsupported parameters are dropped with a warning in Query.Warnings,
// or, with opt.Strict, reported as errors too. Parameters with an empty
// value (name=) are ignored, as servers commonly do. A request over
// opt.Limits fails with an issue of code too-costly; one with more
// parameters than opt.Limits.Params fails before any is parsed.
func Parse(typ string, q url.Values, opt Options) (*Query, error) {
	if !fhir.IsResourceType(typ) {
		return nil, fhir.Invalid(fmt.Sprintf("%q is not an R4 resource type", typ))
	}
	p := parser{opt: opt, now: opt.Now, q: &Query{Type: typ, Count: -1}}
	if p.now.IsZero() {
		p.now = time.Now()
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if err := checkText(q, keys); err != nil {
		return nil, err
	}
	if key, err := checkParams(q, keys, opt.Limits.Params); err != nil {
		p.report(key, err)
		return nil, &fhir.Error{Kind: fhir.ErrInvalid, Issues: p.errs}
	}
	for _, key := range keys {
		p.param(key, q[key])
	}
	p.defaults()
	if len(p.errs) > 0 {
		return nil, &fhir.Error{Kind: fhir.ErrInvalid, Issues: p.errs}
	}
	return p.q, nil
}

// parser holds the state of one Parse call.
type parser struct {
	opt  Options
	now  time.Time
	q    *Query
	errs []fhir.Issue
	seen map[string]bool // single-valued result parameters already read
	// includesOver is set once the includes went over their limit, so that
	// the excess is reported once.
	includesOver bool
}

// param dispatches one parameter name with all its values.
func (p *parser) param(key string, vals []string) {
	base, mod, hasMod := strings.Cut(key, ":")
	switch base {
	case "_format", "_pretty":
		// Handled by content negotiation, not by search.
	case "_include", "_revinclude":
		p.include(key, mod, hasMod, vals, base == "_revinclude")
	case "_sort", "_count", "_total", "_summary", "_elements", "_cursor":
		if hasMod {
			p.report(key, invalidf("%s takes no modifier", base))
			return
		}
		p.result(key, vals)
	case "_contained", "_containedType", "_type", "_list", "_filter":
		p.report(key, ignorablef("the search parameter %s is not supported", base))
	default:
		p.filter(key, vals)
	}
}

// report turns a problem with parameter key into an error issue, or a
// warning when it is ignorable and handling is lenient.
func (p *parser) report(key string, err error) {
	var pr *problem
	if !errors.As(err, &pr) {
		pr = &problem{code: "invalid", msg: err.Error()}
	}
	issue := fhir.Issue{Severity: "error", Code: pr.code, Diagnostics: pr.msg, Expression: []string{key}}
	if pr.ignorable && !p.opt.Strict {
		issue.Severity = "warning"
		issue.Diagnostics += "; ignored"
		p.q.Warnings = append(p.q.Warnings, issue)
		return
	}
	p.errs = append(p.errs, issue)
}

// filter reads every occurrence of a search parameter into Filters.
func (p *parser) filter(key string, vals []string) {
	r, err := resolveName(p.q.Type, key, p.opt.Limits)
	if err != nil {
		p.report(key, err)
		return
	}
	if r.param.Type == "special" || r.param.Expression == "" {
		// _text, _content, _query and Location's near have no expression
		// to index.
		p.report(key, ignorablef("the search parameter %s is not supported", r.param.Code))
		return
	}
	mod, refType, err := resolveModifier(r.param.Type, r.targets, r.modifier)
	if err != nil {
		p.report(key, err)
		return
	}
	for _, raw := range vals {
		f := Filter{Name: key, Chain: slices.Clone(r.hops), Param: r.param, Modifier: mod}
		if mod == ModMissing {
			switch raw {
			case "":
				continue
			case "true", "false":
				f.Missing = raw == "true"
			default:
				p.report(key, invalidf(":missing takes true or false, not %q", raw))
				continue
			}
			p.q.Filters = append(p.q.Filters, f)
			continue
		}
		if err := p.values(&f, r.targets, refType, raw); err != nil {
			p.report(key, err)
			continue
		}
		if len(f.Values) > 0 {
			p.q.Filters = append(p.q.Filters, f)
		}
	}
}

// values parses the comma-separated alternatives of one occurrence. Empty
// alternatives (a,,b) are skipped.
func (p *parser) values(f *Filter, targets []string, refType, raw string) error {
	pieces := splitEscaped(raw, ',')
	n := 0
	for _, piece := range pieces {
		if piece != "" {
			n++
		}
	}
	if max := p.opt.Limits.Values; over(n, max) {
		return tooCostlyf("%d values are ORed in one %s parameter; at most %d are allowed", n, f.Name, max)
	}
	for _, piece := range pieces {
		if piece == "" {
			continue
		}
		v, err := p.value(f.Param, f.Modifier, targets, refType, piece)
		if err != nil {
			return err
		}
		f.Values = append(f.Values, v)
	}
	return nil
}

// value parses one alternative by the type of parameter sp.
func (p *parser) value(sp *spec.SearchParam, mod Modifier, targets []string, refType, raw string) (Value, error) {
	switch sp.Type {
	case "string":
		return parseString(raw), nil
	case "token":
		switch mod {
		case ModText:
			return parseString(raw), nil
		case ModOfType:
			return parseOfType(raw)
		}
		return parseToken(raw)
	case "reference":
		if mod == ModIdentifier {
			return parseToken(raw)
		}
		return parseReference(raw, targets, refType)
	case "date":
		return parseDate(raw, p.now)
	case "number":
		return parseNumber(raw)
	case "quantity":
		return parseQuantity(raw)
	case "uri":
		return parseURI(raw), nil
	case "composite":
		return p.composite(sp, raw)
	}
	return nil, unsupportedf("search parameters of type %s are not supported", sp.Type)
}

// composite splits a composite value on '$' and parses each component by
// its own definition.
func (p *parser) composite(sp *spec.SearchParam, raw string) (Value, error) {
	parts := splitEscaped(raw, '$')
	if len(parts) != len(sp.Component) {
		return nil, invalidf("%s needs %d components separated by '$', got %d in %q", sp.Code, len(sp.Component), len(parts), raw)
	}
	c := Composite{Components: make([]Value, len(parts))}
	for i, part := range parts {
		cp, ok := spec.ByURL(sp.Component[i].Definition)
		if !ok || cp.Type == "composite" {
			return nil, unsupportedf("component %d of %s has no usable definition", i+1, sp.Code)
		}
		if part == "" {
			return nil, invalidf("component %d (%s) of %q is empty", i+1, cp.Code, raw)
		}
		v, err := p.value(cp, ModNone, cp.Target, "", part)
		if err != nil {
			return nil, invalidf("component %d (%s): %v", i+1, cp.Code, err)
		}
		c.Components[i] = v
	}
	return c, nil
}
