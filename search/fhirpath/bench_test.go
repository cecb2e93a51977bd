package fhirpath

import "testing"

// BenchmarkEval measures the expressions the indexer evaluates for every
// stored Observation, on the blood pressure example.
func BenchmarkEval(b *testing.B) {
	res := loadFixture(b, "Observation-blood-pressure.json")
	params := map[string]string{}
	for _, p := range readExpressions(b) {
		for _, base := range p.Base {
			if base == "Observation" {
				params[p.Code] = p.Expression
			}
		}
	}
	for _, code := range []string{"code", "patient", "combo-value-quantity", "component-value-quantity", "date"} {
		expr := params[code]
		e, err := Compile(expr)
		if err != nil {
			b.Fatalf("%s: %v", code, err)
		}
		b.Run(code, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Eval(res); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("all Observation parameters", func(b *testing.B) {
		var exprs []*Expr
		for _, expr := range params {
			if e, err := Compile(expr); err == nil {
				exprs = append(exprs, e)
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			for _, e := range exprs {
				if _, err := e.Eval(res); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkCompile measures compiling every R4 search-parameter expression,
// which the server does once at start-up.
func BenchmarkCompile(b *testing.B) {
	var exprs []string
	for _, p := range readExpressions(b) {
		if p.Expression != "" {
			exprs = append(exprs, p.Expression)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range exprs {
			if _, err := Compile(s); err != nil {
				b.Fatal(err)
			}
		}
	}
}
