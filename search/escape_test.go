package search

import (
	"reflect"
	"testing"
)

func TestSplitEscaped(t *testing.T) {
	for _, tt := range []struct {
		in   string
		sep  byte
		want []string
	}{
		{"a", ',', []string{"a"}},
		{"a,b", ',', []string{"a", "b"}},
		{`a\,b,c`, ',', []string{`a\,b`, "c"}},
		{`a\\,b`, ',', []string{`a\\`, "b"}},
		{",", ',', []string{"", ""}},
		{`a\`, ',', []string{`a\`}},
		{`x|y\|z`, '|', []string{"x", `y\|z`}},
		{`a$b\$c$`, '$', []string{"a", `b\$c`, ""}},
	} {
		if got := splitEscaped(tt.in, tt.sep); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitEscaped(%q, %q) = %q, want %q", tt.in, tt.sep, got, tt.want)
		}
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{`a\,b`, "a,b"},
		{`a\$b\|c\\d`, `a$b|c\d`},
		{`C:\temp`, `C:\temp`}, // not a search escape: kept
		{`end\`, `end\`},
	} {
		got := unescape(tt.raw)
		if got != tt.want {
			t.Errorf("unescape(%q) = %q, want %q", tt.raw, got, tt.want)
		}
		if back := unescape(escape(got)); back != got {
			t.Errorf("unescape(escape(%q)) = %q", got, back)
		}
		if parts := splitEscaped(escape(got), ','); len(parts) != 1 {
			t.Errorf("escape(%q) still splits: %q", got, parts)
		}
	}
}
