package validate

import (
	"strings"
	"testing"
)

func TestNarrative(t *testing.T) {
	const open = `<div xmlns="http://www.w3.org/1999/xhtml">`
	tests := []struct {
		name, div string
		ok        bool
	}{
		{"text", open + `Peter</div>`, true},
		{"formatting and tables", open + `<p>a <b>b</b> <i>c</i></p><table border="1"><tbody><tr><td colspan="2">x</td></tr></tbody></table><ul><li>1</li></ul></div>`, true},
		{"link and image", open + `<a href="http://hl7.org">x</a><img src="#pic" alt="p"/><br/></div>`, true},
		{"style attribute", open + `<span style="color: red">x</span></div>`, true},
		{"comment", open + `<!-- note -->x</div>`, true},
		{"script", open + `<script>alert(1)</script>x</div>`, false},
		{"event attribute", open + `<img src="x" onerror="alert(1)"/></div>`, false},
		{"onclick on p", open + `<p onclick="x()">a</p></div>`, false},
		{"javascript URL", open + `<a href="javascript:alert(1)">x</a></div>`, false},
		{"javascript URL with spaces and case", open + `<a href=" JaVa	Script:alert(1)">x</a></div>`, false},
		{"data html URL", open + `<a href="data:text/html,&lt;script&gt;">x</a></div>`, false},
		{"style expression", open + `<p style="width: expression(alert(1))">x</p></div>`, false},
		{"iframe", open + `<iframe src="http://x"></iframe>x</div>`, false},
		{"form", open + `<form><input/></form>x</div>`, false},
		{"style element", open + `<style>p{}</style>x</div>`, false},
		{"object", open + `<object data="x"></object>x</div>`, false},
		{"no namespace", `<div>x</div>`, false},
		{"not a div", `<p xmlns="http://www.w3.org/1999/xhtml">x</p>`, false},
		{"two roots", open + `x</div>` + open + `y</div>`, false},
		{"text outside", `x` + open + `y</div>`, false},
		{"unclosed", open + `<p>x</div>`, false},
		{"empty", open + `   </div>`, false},
		{"doctype", `<!DOCTYPE html>` + open + `x</div>`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			problem := Narrative(tc.div)
			if tc.ok != (problem == "") {
				t.Fatalf("Narrative = %q, want ok=%v", problem, tc.ok)
			}
		})
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), sub)
}
