package validate

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzCheck feeds arbitrary bodies to the validator: it must never panic,
// and a body it accepts must be one resource that fhir.Parse accepts too.
func FuzzCheck(f *testing.F) {
	for _, tc := range ruleCases {
		f.Add([]byte(tc.body))
	}
	files, _ := filepath.Glob("../fhir/testdata/examples/Patient/*.json")
	for _, file := range files[:min(len(files), 5)] {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	v := New(Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := v.Parse(body)
		if err == nil && (r == nil || r.Type == "") {
			t.Fatalf("accepted without a resource: %q", body)
		}
	})
}

// FuzzNarrative feeds arbitrary XHTML to the narrative checker: it must
// never panic, and what it accepts has no script element or event handler.
func FuzzNarrative(f *testing.F) {
	for _, s := range []string{
		`<div xmlns="http://www.w3.org/1999/xhtml"><p>a</p></div>`,
		`<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>`,
		`<div xmlns="http://www.w3.org/1999/xhtml"><a href="javascript:x">a</a></div>`,
		`<div xmlns="http://www.w3.org/1999/xhtml"><img src="#a" onerror="x"/></div>`,
		`<div`, `</div>`, `<div xmlns="http://www.w3.org/1999/xhtml"><!-- c --><table><tr><td>a</td></tr></table></div>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, div string) {
		if Narrative(div) != "" {
			return
		}
		if containsFold(div, "<script") || containsFold(div, " onerror") || containsFold(div, "<iframe") {
			t.Fatalf("accepted %q", div)
		}
	})
}
