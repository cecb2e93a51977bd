package search

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
)

// result reads the result parameters _sort, _count, _total, _summary,
// _elements and _cursor. All but _sort may appear only once: two different
// page sizes have no meaning, and silently picking one hides a client bug.
func (p *parser) result(key string, vals []string) {
	if key == "_sort" {
		for _, v := range vals {
			if err := p.sort(v); err != nil {
				p.report(key, err)
			}
			if over(len(p.q.Sort), p.opt.Limits.SortKeys) {
				return // reported once
			}
		}
		return
	}
	if len(vals) > 1 {
		p.report(key, invalidf("%s is given %d times; give it once", key, len(vals)))
		return
	}
	v := ""
	if len(vals) == 1 {
		v = vals[0]
	}
	if v == "" {
		return
	}
	var err error
	switch key {
	case "_count":
		err = p.count(v)
	case "_total":
		switch t := Total(v); t {
		case TotalNone, TotalEstimate, TotalAccurate:
			p.q.Total = t
		default:
			err = invalidf("_total must be none, estimate or accurate, not %q", v)
		}
	case "_summary":
		switch s := Summary(v); s {
		case SummaryTrue, SummaryText, SummaryData, SummaryCount, SummaryFalse:
			p.q.Summary = s
		default:
			err = invalidf("_summary must be true, text, data, count or false, not %q", v)
		}
	case "_elements":
		err = p.elements(v)
	case "_cursor":
		p.q.Cursor = v
	}
	if err != nil {
		p.report(key, err)
	}
}

// count reads _count. A value above the maximum is lowered to it, with an
// informational issue, rather than rejected: R4 lets a server return fewer
// entries than asked. Strict handling, which asks the server to refuse
// what it would otherwise adjust, rejects it.
func (p *parser) count(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil && strings.Trim(v, "0123456789") == "" {
		n, err = math.MaxInt, nil // too many digits: lowered below like any large count
	}
	if err != nil || n < 0 {
		return invalidf("_count must be a whole number of 0 or more, not %q", v)
	}
	if max := p.maxCount(); n > max && p.opt.Strict {
		return tooCostlyf("_count=%s is above the maximum page size %d", v, max)
	}
	if max := p.maxCount(); n > max {
		p.q.Warnings = append(p.q.Warnings, fhir.Issue{
			Severity:    "information",
			Code:        "informational",
			Diagnostics: fmt.Sprintf("_count=%s is above the maximum page size; %d used", v, max),
			Expression:  []string{"_count"},
		})
		n = max
	}
	p.q.Count = n
	return nil
}

func (p *parser) maxCount() int {
	if p.opt.MaxCount > 0 {
		return p.opt.MaxCount
	}
	return MaxCount
}

// defaults fills in what the request left out.
func (p *parser) defaults() {
	if p.q.Count < 0 {
		n := p.opt.DefaultCount
		if n <= 0 {
			n = DefaultCount
		}
		p.q.Count = min(n, p.maxCount())
	}
}

// sort reads one _sort value: comma-separated parameter codes of the
// searched type, each descending with a leading '-'.
func (p *parser) sort(v string) error {
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		code, desc := strings.CutPrefix(item, "-")
		sp, ok := spec.Param(p.q.Type, code)
		if !ok {
			return invalidf("cannot sort by %q: %s has no such search parameter", code, p.q.Type)
		}
		switch {
		case sp.Type == "composite" || sp.Type == "special" || sp.Expression == "":
			return invalidf("cannot sort by %s, a %s parameter", code, sp.Type)
		}
		p.q.Sort = append(p.q.Sort, Sort{Param: sp, Desc: desc})
		if max := p.opt.Limits.SortKeys; over(len(p.q.Sort), max) {
			return tooCostlyf("_sort has more than %d keys; at most %d are allowed", max, max)
		}
	}
	return nil
}

// elements reads _elements: comma-separated element names.
func (p *parser) elements(v string) error {
	for _, e := range strings.Split(v, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if !validElement(e) {
			return invalidf("_elements: %q is not an element name", e)
		}
		if !containsString(p.q.Elements, e) {
			p.q.Elements = append(p.q.Elements, e)
		}
	}
	return nil
}

// validElement accepts element names and dotted paths (name, Patient.name).
func validElement(e string) bool {
	for i := 0; i < len(e); i++ {
		c := e[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !(letter || c == '_' || i > 0 && (isDigit(c) || c == '.' || c == '-')) {
			return false
		}
	}
	return !strings.HasSuffix(e, ".")
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
