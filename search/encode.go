package search

import (
	"slices"
	"strconv"
	"strings"
)

// Encode writes the query in canonical form, as a query string without
// the leading '?': parameters sorted by name, chains typed where needed,
// reference types made explicit, implied eq prefixes left out. Parsing the
// result gives an equivalent Query, so the REST layer can use it for the
// self and next links of a searchset Bundle (after setting Cursor).
func (q *Query) Encode() string {
	type pair struct{ k, v string }
	var ps []pair
	for i := range q.Filters {
		f := &q.Filters[i]
		v := ""
		if f.Modifier == ModMissing {
			v = strconv.FormatBool(f.Missing)
		} else {
			parts := make([]string, len(f.Values))
			for j, x := range f.Values {
				parts[j] = x.String()
			}
			v = strings.Join(parts, ",")
		}
		ps = append(ps, pair{f.Key(), v})
	}
	// Parse reads names in sorted order; sorting here (stably, keeping the
	// AND order of one name) makes Encode a fixed point of Parse.
	slices.SortStableFunc(ps, func(a, b pair) int { return strings.Compare(a.k, b.k) })
	for _, inc := range q.Includes {
		ps = append(ps, pair{includeKey("_include", inc), inc.value()})
	}
	for _, inc := range q.RevIncludes {
		ps = append(ps, pair{includeKey("_revinclude", inc), inc.value()})
	}
	if len(q.Sort) > 0 {
		parts := make([]string, len(q.Sort))
		for i, s := range q.Sort {
			parts[i] = s.Param.Code
			if s.Desc {
				parts[i] = "-" + parts[i]
			}
		}
		ps = append(ps, pair{"_sort", strings.Join(parts, ",")})
	}
	ps = append(ps, pair{"_count", strconv.Itoa(q.Count)})
	if q.Total != "" {
		ps = append(ps, pair{"_total", string(q.Total)})
	}
	if q.Summary != "" {
		ps = append(ps, pair{"_summary", string(q.Summary)})
	}
	if len(q.Elements) > 0 {
		ps = append(ps, pair{"_elements", strings.Join(q.Elements, ",")})
	}
	if q.Cursor != "" {
		ps = append(ps, pair{"_cursor", q.Cursor})
	}
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(queryEscape(p.k))
		b.WriteByte('=')
		b.WriteString(queryEscape(p.v))
	}
	return b.String()
}

// String returns the search as Type?query, in the canonical form of Encode.
func (q *Query) String() string { return q.Type + "?" + q.Encode() }

func includeKey(name string, inc Include) string {
	if inc.Iterate {
		return name + ":iterate"
	}
	return name
}

// value writes an include back as Type:param[:target], Type:* or *.
func (inc Include) value() string {
	switch {
	case inc.Source == "":
		return "*"
	case inc.Param == nil:
		return inc.Source + ":*"
	case inc.Target != "":
		return inc.Source + ":" + inc.Param.Code + ":" + inc.Target
	}
	return inc.Source + ":" + inc.Param.Code
}

// queryEscape percent-encodes what a query component cannot hold ('&',
// '=', '+', '#', '%', '|', spaces, non-ASCII) and leaves the characters
// that FHIR search syntax uses (':', '/', ',', '$', '.', '-') readable.
func queryEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~!$'()*,:@/?", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
