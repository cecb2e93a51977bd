package fhirpath

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

var (
	update      = flag.Bool("update", false, "rewrite testdata/expressions.json from -definitions")
	definitions = flag.String("definitions", "", "path of the R4 search-parameters.json Bundle, read with -update")
)

// minCompiled is how many of the non-empty expressions in
// testdata/expressions.json must compile: all of them (1,375 parameter
// expressions and 96 component expressions of composite parameters) at the
// time of writing. Lower it only with a reason.
const minCompiled = 1375 + 96

// paramExpr is one search parameter as kept in testdata/expressions.json.
type paramExpr struct {
	Code       string   `json:"code"`
	Base       []string `json:"base"`
	Expression string   `json:"expression"`
	// Components holds the component expressions of a composite parameter,
	// evaluated relative to each item the expression selects.
	Components []string `json:"components,omitempty"`
}

const expressionsFile = "testdata/expressions.json"

// TestCoverage compiles every expression of the R4 search parameters and
// evaluates each on every fixture, which must not fail.
//
// Regenerate the list with
//
//	go test ./search/fhirpath -run TestCoverage -update -definitions PATH/search-parameters.json
func TestCoverage(t *testing.T) {
	if *update {
		writeExpressions(t)
	}
	params := readExpressions(t)
	fixtures := allFixtures(t)

	type tally struct{ total, compiled int }
	var exprs, comps tally
	var noExpr int
	failures := map[string][]string{} // error message -> expressions
	compile := func(src string, tl *tally) *Expr {
		tl.total++
		e, err := Compile(src)
		if err != nil {
			msg := err.Error()
			var se *SyntaxError
			if errors.As(err, &se) {
				msg = se.Msg
			}
			failures[msg] = append(failures[msg], src)
			return nil
		}
		tl.compiled++
		return e
	}
	for _, p := range params {
		if p.Expression == "" {
			noExpr++
			continue
		}
		e := compile(p.Expression, &exprs)
		var components []*Expr
		for _, c := range p.Components {
			if ce := compile(c, &comps); ce != nil {
				components = append(components, ce)
			}
		}
		if e == nil {
			continue
		}
		// Evaluate as the indexer will: the expression on the resource, the
		// components on each item it selects.
		for _, f := range fixtures {
			nodes, err := e.Eval(f)
			if err != nil {
				t.Errorf("Eval(%q) on %s: %v", e, f["id"], err)
			}
			for _, n := range nodes {
				for _, ce := range components {
					if _, err := ce.EvalAt(f, n); err != nil {
						t.Errorf("EvalAt(%q) on %s: %v", ce, f["id"], err)
					}
				}
			}
		}
	}
	t.Logf("%d search parameters: %d without expression; compiled %d of %d expressions and %d of %d component expressions",
		len(params), noExpr, exprs.compiled, exprs.total, comps.compiled, comps.total)
	msgs := make([]string, 0, len(failures))
	for m := range failures {
		msgs = append(msgs, m)
	}
	sort.Strings(msgs)
	for _, m := range msgs {
		t.Logf("not compiled (%d): %s, e.g. %q", len(failures[m]), m, failures[m][0])
	}
	if got := exprs.compiled + comps.compiled; got < minCompiled {
		t.Errorf("compiled %d expressions, want at least %d", got, minCompiled)
	}
}

func readExpressions(t testing.TB) []paramExpr {
	t.Helper()
	raw, err := os.ReadFile(expressionsFile)
	if err != nil {
		t.Fatal(err)
	}
	var params []paramExpr
	if err := json.Unmarshal(raw, &params); err != nil {
		t.Fatalf("%s: %v", expressionsFile, err)
	}
	return params
}

// writeExpressions extracts code, base, expression and component
// expressions from a SearchParameter Bundle.
func writeExpressions(t *testing.T) {
	t.Helper()
	if *definitions == "" {
		t.Fatal("-update needs -definitions PATH/search-parameters.json")
	}
	raw, err := os.ReadFile(*definitions)
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Entry []struct {
			Resource struct {
				Code       string   `json:"code"`
				Base       []string `json:"base"`
				Expression string   `json:"expression"`
				Component  []struct {
					Expression string `json:"expression"`
				} `json:"component"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &bundle); err != nil {
		t.Fatalf("%s: %v", *definitions, err)
	}
	params := make([]paramExpr, 0, len(bundle.Entry))
	for _, e := range bundle.Entry {
		r := e.Resource
		p := paramExpr{Code: r.Code, Base: r.Base, Expression: r.Expression}
		for _, c := range r.Component {
			p.Components = append(p.Components, c.Expression)
		}
		params = append(params, p)
	}
	// One parameter per line keeps diffs of the file readable.
	var out []byte
	out = append(out, "[\n"...)
	for i, p := range params {
		line, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, line...)
		if i < len(params)-1 {
			out = append(out, ',')
		}
		out = append(out, '\n')
	}
	out = append(out, "]\n"...)
	if err := os.WriteFile(expressionsFile, out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d parameters to %s", len(params), expressionsFile)
}

// allFixtures loads every resource fixture in testdata.
func allFixtures(t testing.TB) []map[string]any {
	t.Helper()
	names, err := filepath.Glob("testdata/*-*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var out []map[string]any
	for _, n := range names {
		out = append(out, loadFixture(t, filepath.Base(n)))
	}
	return out
}
