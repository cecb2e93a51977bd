package search

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
)

// repeat returns n copies of s (or of s with its index, when s has a %d).
func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
		if strings.Contains(s, "%d") {
			out[i] = fmt.Sprintf(s, i)
		}
	}
	return out
}

// referenceIncludes returns n distinct _include values of typ.
func referenceIncludes(t *testing.T, typ string, n int) []string {
	t.Helper()
	var out []string
	for _, p := range spec.Params(typ) {
		if p.Type == "reference" && len(out) < n {
			out = append(out, typ+":"+p.Code)
		}
	}
	if len(out) < n {
		t.Fatalf("%s has only %d reference parameters", typ, len(out))
	}
	return out
}

// TestLimits checks every limit just under (or at) and just over it, with
// the default limits: over, the search fails with one too-costly issue that
// names the parameter and states the limit.
func TestLimits(t *testing.T) {
	d := DefaultLimits
	names := func(n int) url.Values { return url.Values{"name": repeat("n%d", n)} }
	params := func(n int) url.Values { // distinct parameters
		v := url.Values{}
		for i := range n {
			v.Set(fmt.Sprintf("_has:Observation:patient:code-%d", i), "x") // unknown: ignored, yet counted
		}
		return v
	}
	or := func(n int) url.Values { return url.Values{"code": {strings.Join(repeat("c%d", n), ",")}} }
	sortKeys := func(n int) url.Values { return url.Values{"_sort": {strings.Join(repeat("-date", n), ",")}} }
	sortSplit := func(n int) url.Values { return url.Values{"_sort": repeat("status", n)} }
	chain := func(hops int) url.Values { // Patient?organization.partof…name
		return url.Values{"organization" + strings.Repeat(".partof", hops-1) + ".name": {"Acme"}}
	}
	has := func(depth int) url.Values {
		key := []string{"_has:Observation:patient", "_has:AuditEvent:entity", "_has:Provenance:target", "_has:AuditEvent:entity"}[:depth]
		return url.Values{strings.Join(key, ":") + ":agent": {"u"}}
	}
	includes := func(n int) url.Values {
		return url.Values{"_include": referenceIncludes(t, "Observation", n-1), "_revinclude": {"Provenance:target"}}
	}
	iterate := func(n int) url.Values {
		all := []string{"Patient:organization", "Patient:general-practitioner", "Organization:partof", "Organization:endpoint", "Practitioner:*", "Encounter:*"}
		return url.Values{"_include:iterate": all[:n]}
	}
	for _, tt := range []struct {
		name  string
		typ   string
		limit int
		make  func(int) url.Values
		expr  string // the parameter the issue names
		words string // the diagnostics contain these
	}{
		{"parameters (one repeated)", "Patient", d.Params, names, "name", "at most 100 are allowed (name is given 101 times)"},
		{"parameters (distinct)", "Patient", d.Params, params, "_has:Observation:patient:code-0", "the search has 101 parameters; at most 100"},
		{"OR values", "Observation", d.Values, or, "code", "101 values are ORed in one code parameter; at most 100"},
		{"sort keys in one value", "Observation", d.SortKeys, sortKeys, "_sort", "more than 8 keys; at most 8"},
		{"sort keys over several values", "Observation", d.SortKeys, sortSplit, "_sort", "more than 8 keys; at most 8"},
		{"chain depth", "Patient", d.ChainDepth, chain, "organization.partof.partof.partof.partof.name", "chains more than 4 references; at most 4"},
		{"_has depth", "Patient", d.HasDepth, has, "_has:Observation:patient:_has:AuditEvent:entity:_has:Provenance:target:agent", "nests more than 2 _has; at most 2"},
		{"includes", "Observation", d.Includes, includes, "_revinclude", "more than 10 _include and _revinclude values; at most 10"},
		{"iterate", "Patient", d.Iterate, iterate, "_include:iterate", "more than 4 _include:iterate and _revinclude:iterate values; at most 4"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opt := Options{Now: testNow, Limits: DefaultLimits}
			if _, err := Parse(tt.typ, tt.make(tt.limit), opt); err != nil {
				t.Fatalf("at the limit %d: %v", tt.limit, err)
			}
			q, err := Parse(tt.typ, tt.make(tt.limit+1), opt)
			var fe *fhir.Error
			if !errors.As(err, &fe) || !errors.Is(err, fhir.ErrInvalid) || q != nil {
				t.Fatalf("over the limit: %v, %v; want an ErrInvalid *fhir.Error", q, err)
			}
			if len(fe.Issues) != 1 {
				t.Fatalf("over the limit: %d issues, want 1: %v", len(fe.Issues), fe.Issues)
			}
			is := fe.Issues[0]
			if is.Severity != "error" || is.Code != "too-costly" || !reflect.DeepEqual(is.Expression, []string{tt.expr}) || !strings.Contains(is.Diagnostics, tt.words) {
				t.Errorf("issue %+v\nwant too-costly on %s saying %q", is, tt.expr, tt.words)
			}
			// Without limits the same search parses, or fails for another reason.
			if _, err := Parse(tt.typ, tt.make(tt.limit+1), Options{Now: testNow}); err != nil && strings.Contains(err.Error(), "at most") {
				t.Errorf("without limits: %v", err)
			}
		})
	}
}

// TestCountStrict checks that strict handling rejects a _count above the
// maximum page size that lenient handling lowers.
func TestCountStrict(t *testing.T) {
	for _, tt := range []struct {
		count  string
		strict bool
		want   int // page size; -1: the search fails
	}{
		{"1000", true, 1000},
		{"1001", true, -1},
		{"99999999999999999999999", true, -1},
		{"1001", false, 1000},
	} {
		t.Run(fmt.Sprintf("%s strict=%v", tt.count, tt.strict), func(t *testing.T) {
			q, err := Parse("Patient", url.Values{"_count": {tt.count}}, Options{MaxCount: 1000, Strict: tt.strict})
			if tt.want < 0 {
				var fe *fhir.Error
				if !errors.As(err, &fe) || fe.Issues[0].Code != "too-costly" || fe.Issues[0].Expression[0] != "_count" ||
					!strings.Contains(fe.Issues[0].Diagnostics, "maximum page size 1000") {
					t.Fatalf("got %v, %v; want a too-costly _count issue", q, err)
				}
				return
			}
			if err != nil || q.Count != tt.want {
				t.Fatalf("got %v, %v; want count %d", q, err, tt.want)
			}
		})
	}
}

func TestLimitsOr(t *testing.T) {
	got := Limits{Params: 5, Iterate: -1}.Or(DefaultLimits)
	want := DefaultLimits
	want.Params, want.Iterate = 5, -1
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if (Limits{}).Or(DefaultLimits) != DefaultLimits {
		t.Error("the zero Limits do not take the defaults")
	}
}
