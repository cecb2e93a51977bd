package extract

import (
	"encoding/json"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
	"github.com/hce-fhir/hce/search"
	"github.com/hce-fhir/hce/search/fhirpath"
)

// Unindexed lists parameters that the store answers from the resource row
// itself (_id, _lastUpdated) or that have no expression to index.
var Unindexed = map[string]bool{"_id": true, "_lastUpdated": true}

var (
	compiled  sync.Map // expression -> *fhirpath.Expr, or error
	negInf    = time.Date(-4713, 1, 1, 0, 0, 0, 0, time.UTC)
	posInf    = time.Date(294276, 1, 1, 0, 0, 0, 0, time.UTC)
	maxValues = 10000 // index rows per resource, so that a hostile resource cannot explode the index
)

// MinTime and MaxTime stand for the open ends of a Period; the store writes
// them as -infinity and infinity.
var MinTime, MaxTime = negInf, posInf

// Compile returns the compiled expression, cached.
func Compile(expr string) (*fhirpath.Expr, error) {
	if v, ok := compiled.Load(expr); ok {
		if e, ok := v.(*fhirpath.Expr); ok {
			return e, nil
		}
		return nil, v.(error)
	}
	e, err := fhirpath.Compile(expr)
	if err != nil {
		compiled.Store(expr, err)
		return nil, err
	}
	compiled.Store(expr, e)
	return e, nil
}

// Extract evaluates every search parameter of r's type on r. A parameter
// whose expression is outside the FHIRPath subset, or that fails on this
// resource, contributes nothing rather than failing the write: the resource
// was valid, and search on that parameter simply finds nothing.
func Extract(r *fhir.Resource) *Index {
	x := &Index{}
	for _, p := range spec.Params(r.Type) {
		if p.Expression == "" || Unindexed[p.Code] || p.Type == "special" {
			continue
		}
		e, err := Compile(p.Expression)
		if err != nil {
			continue
		}
		nodes, err := e.Eval(r.Content)
		if err != nil {
			continue
		}
		for _, node := range nodes {
			// Rows, not nodes, count: one HumanName of 50,000 given names
			// is one node and 50,000 rows of name.
			if x.add(r, p, node, maxValues-x.rows()) {
				return x
			}
		}
	}
	return x
}

// rows is the number of index rows x holds.
func (x *Index) rows() int {
	return len(x.Strings) + len(x.Tokens) + len(x.Dates) + len(x.Numbers) + len(x.Quantities) + len(x.References) +
		len(x.URIs) + len(x.Composites)
}

// add adds the rows of node, at most room, and reports whether room ran
// out.
func (x *Index) add(r *fhir.Resource, p *spec.SearchParam, n fhirpath.Node, room int) bool {
	before := x.rows()
	switch p.Type {
	case "string":
		for _, s := range strings_(n) {
			if x.rows()-before == room {
				break
			}
			x.Strings = append(x.Strings, String{Param: p.Code, Value: search.NormalizeString(s), Exact: s})
		}
	case "token":
		for _, t := range tokens(n) {
			if x.rows()-before == room {
				break
			}
			t.Param = p.Code
			x.Tokens = append(x.Tokens, t)
		}
	case "date":
		for _, d := range dates(n) {
			d.Param = p.Code
			x.Dates = append(x.Dates, d)
		}
	case "number":
		if v, ok := number(n.Value); ok {
			x.Numbers = append(x.Numbers, Number{Param: p.Code, Value: v})
		}
	case "quantity":
		if q, ok := quantity(n); ok {
			q.Param = p.Code
			x.Quantities = append(x.Quantities, q)
		}
	case "reference":
		ref, ident := reference(n)
		if ref != nil {
			ref.Param = p.Code
			x.References = append(x.References, *ref)
		}
		if ident != nil && x.rows()-before < room {
			// :identifier searches the reference's logical identifier as a token.
			ident.Param = p.Code + ":identifier"
			x.Tokens = append(x.Tokens, *ident)
		}
	case "uri":
		if s, ok := n.Value.(string); ok {
			x.URIs = append(x.URIs, URI{Param: p.Code, Value: s})
		}
	case "composite":
		for _, c := range composites(r, p, n) {
			if x.rows()-before == room {
				break
			}
			x.Composites = append(x.Composites, c)
		}
	}
	return x.rows()-before >= room
}

// strings_ returns the texts a string parameter matches in a node: the
// string itself, or the parts of a HumanName or Address.
func strings_(n fhirpath.Node) []string {
	switch v := n.Value.(type) {
	case string:
		return []string{v}
	case map[string]any:
		var out []string
		for _, k := range []string{"text", "family", "given", "prefix", "suffix", "line", "city", "district", "state", "postalCode", "country"} {
			switch f := v[k].(type) {
			case string:
				out = append(out, f)
			case []any:
				for _, item := range f {
					if s, ok := item.(string); ok {
						out = append(out, s)
					}
				}
			}
		}
		return out
	}
	return nil
}

// contactSystems are the ContactPoint.system codes, which tell a
// ContactPoint from an Identifier when the node's type is unknown.
var contactSystems = map[string]bool{"phone": true, "fax": true, "email": true, "pager": true, "url": true, "sms": true, "other": true}

// tokens converts a code, Coding, CodeableConcept, Identifier, ContactPoint
// or boolean into token values.
func tokens(n fhirpath.Node) []Token {
	switch v := n.Value.(type) {
	case string:
		return []Token{{Code: &v}}
	case bool:
		s := "false"
		if v {
			s = "true"
		}
		return []Token{{Code: &s}}
	case map[string]any:
		switch {
		case n.Type == "CodeableConcept" || v["coding"] != nil || (n.Type == "" && v["text"] != nil && v["value"] == nil):
			text := normPtr(str(v, "text"))
			var out []Token
			codings, _ := v["coding"].([]any)
			for _, c := range codings {
				if m, ok := c.(map[string]any); ok {
					t := coding(m)
					if text != nil {
						t.Text = text
					}
					out = append(out, t)
				}
			}
			if len(out) == 0 && text != nil {
				out = append(out, Token{Text: text})
			}
			return out
		case n.Type == "Coding" || v["code"] != nil:
			return []Token{coding(v)}
		case n.Type == "ContactPoint" || contactSystems[deref(str(v, "system"))] && n.Type != "Identifier":
			if val := str(v, "value"); val != nil {
				return []Token{{System: str(v, "system"), Code: val}}
			}
		default: // Identifier
			if val := str(v, "value"); val != nil || str(v, "system") != nil {
				t := Token{System: str(v, "system"), Code: val}
				if typ, ok := v["type"].(map[string]any); ok {
					if cs, ok := typ["coding"].([]any); ok && len(cs) > 0 {
						if c, ok := cs[0].(map[string]any); ok {
							t.TypeSystem, t.TypeCode = str(c, "system"), str(c, "code")
						}
					}
					t.Text = normPtr(str(typ, "text"))
				}
				return []Token{t}
			}
		}
	}
	return nil
}

func coding(m map[string]any) Token {
	return Token{System: str(m, "system"), Code: str(m, "code"), Text: normPtr(str(m, "display"))}
}

// dates converts a date, dateTime, instant, Period or Timing into ranges.
func dates(n fhirpath.Node) []Date {
	switch v := n.Value.(type) {
	case string:
		if lo, hi, err := search.DateRange(v); err == nil {
			return []Date{{Lo: lo, Hi: hi}}
		}
	case map[string]any:
		if n.Type == "Timing" || v["event"] != nil || v["repeat"] != nil {
			return timing(v)
		}
		if v["start"] != nil || v["end"] != nil {
			return period(v)
		}
	}
	return nil
}

// timing is the one range of a Timing: R4 ignores its schedule and
// searches "only the outer limits", from its first event or bounds start to
// its last event or bounds end. One value stays one index row.
func timing(v map[string]any) []Date {
	var parts []Date
	events, _ := v["event"].([]any)
	for _, e := range events {
		parts = append(parts, dates(fhirpath.Node{Value: e})...)
	}
	if rep, ok := v["repeat"].(map[string]any); ok {
		if bp, ok := rep["boundsPeriod"].(map[string]any); ok {
			parts = append(parts, period(bp)...)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	out := parts[0]
	for _, d := range parts[1:] {
		if d.Lo.Before(out.Lo) {
			out.Lo = d.Lo
		}
		if d.Hi.After(out.Hi) {
			out.Hi = d.Hi
		}
	}
	return []Date{out}
}

func period(v map[string]any) []Date {
	d := Date{Lo: negInf, Hi: posInf}
	ok := false
	if s := str(v, "start"); s != nil {
		if lo, _, err := search.DateRange(*s); err == nil {
			d.Lo, ok = lo, true
		}
	}
	if s := str(v, "end"); s != nil {
		if _, hi, err := search.DateRange(*s); err == nil {
			d.Hi, ok = hi, true
		}
	}
	if !ok {
		return nil
	}
	return []Date{d}
}

// number returns the decimal text of a JSON number.
func number(v any) (string, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return "", false
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", false
	}
	return string(n), true
}

// quantity converts a Quantity, Age, Duration, Distance, Count or Money.
func quantity(n fhirpath.Node) (Quantity, bool) {
	v, ok := n.Value.(map[string]any)
	if !ok {
		return Quantity{}, false
	}
	val, ok := number(v["value"])
	if !ok {
		return Quantity{}, false
	}
	q := Quantity{Value: val, System: str(v, "system"), Code: str(v, "code"), Unit: str(v, "unit")}
	if cur := str(v, "currency"); cur != nil { // Money
		q.Code = cur
		sys := "urn:iso:std:iso:4217"
		q.System = &sys
	}
	if q.Code == nil {
		q.Code = q.Unit
	}
	return q, true
}

// reference converts a Reference (or a canonical/uri string) into a
// reference value, and its identifier into a token value.
func reference(n fhirpath.Node) (*Reference, *Token) {
	var ref string
	var ident *Token
	switch v := n.Value.(type) {
	case string:
		ref = v
	case map[string]any:
		if s := str(v, "reference"); s != nil {
			ref = *s
		}
		if id, ok := v["identifier"].(map[string]any); ok {
			if ts := tokens(fhirpath.Node{Value: id, Type: "Identifier"}); len(ts) > 0 {
				ident = &ts[0]
			}
		}
	}
	if ref == "" || strings.HasPrefix(ref, "#") {
		return nil, ident
	}
	r := &Reference{}
	if typ, id, ok := fhir.SplitReference(ref); ok {
		r.TargetType, r.TargetID = &typ, &id
	}
	if strings.Contains(ref, ":") { // absolute URL, urn or canonical
		r.URL = &ref
	}
	if r.TargetType == nil && r.URL == nil {
		return nil, ident
	}
	return r, ident
}

// part is one component value of a composite.
type part struct {
	system, code, number, str *string
	lo, hi                    *time.Time
}

// composites evaluates a composite's components on the element n selected
// and returns every combination of their values.
func composites(r *fhir.Resource, p *spec.SearchParam, n fhirpath.Node) []Composite {
	if len(p.Component) < 2 || len(p.Component) > 3 {
		return nil
	}
	parts := make([][]part, len(p.Component))
	for i, c := range p.Component {
		def, ok := spec.ByURL(c.Definition)
		if !ok {
			return nil
		}
		e, err := Compile(c.Expression)
		if err != nil {
			return nil
		}
		nodes, err := e.EvalAt(r.Content, n)
		if err != nil {
			return nil
		}
		for _, node := range nodes {
			parts[i] = append(parts[i], componentParts(def.Type, node)...)
		}
		if len(parts[i]) == 0 {
			return nil
		}
	}
	var out []Composite
	for _, a := range parts[0] {
		for _, b := range parts[1] {
			c := Composite{Param: p.Code, C1System: a.system, C1Code: a.code,
				C2System: b.system, C2Code: b.code, C2Number: b.number, C2Lo: b.lo, C2Hi: b.hi, C2String: b.str}
			if len(parts) == 2 {
				out = append(out, c)
				continue
			}
			for _, third := range parts[2] {
				c.C3Number = third.number
				out = append(out, c)
			}
		}
	}
	return out
}

func componentParts(typ string, n fhirpath.Node) []part {
	var out []part
	switch typ {
	case "token":
		for _, t := range tokens(n) {
			out = append(out, part{system: t.System, code: t.Code})
		}
	case "reference":
		if ref, _ := reference(n); ref != nil && ref.TargetType != nil {
			s := *ref.TargetType + "/" + *ref.TargetID
			out = append(out, part{code: &s})
		}
	case "quantity":
		if q, ok := quantity(n); ok {
			out = append(out, part{system: q.System, code: q.Code, number: &q.Value})
		}
	case "number":
		if v, ok := number(n.Value); ok {
			out = append(out, part{number: &v})
		}
	case "date":
		for _, d := range dates(n) {
			out = append(out, part{lo: &d.Lo, hi: &d.Hi})
		}
	case "string":
		for _, s := range strings_(n) {
			ns := search.NormalizeString(s)
			out = append(out, part{str: &ns})
		}
	}
	return out
}

func str(m map[string]any, k string) *string {
	if s, ok := m[k].(string); ok {
		return &s
	}
	return nil
}

func normPtr(s *string) *string {
	if s == nil {
		return nil
	}
	n := search.NormalizeString(*s)
	return &n
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
