package search

import (
	"strings"
	"unicode/utf8"

	"github.com/hce-fhir/hce/fhir"
)

// checkText rejects parameter names and values that are not valid UTF-8 or
// contain the NUL character: no resource can hold them, and PostgreSQL
// refuses them in text.
func checkText(q map[string][]string, keys []string) error {
	for _, key := range keys {
		bad := !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0
		for _, v := range q[key] {
			if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
				bad = true
			}
		}
		if bad {
			name := strings.ToValidUTF8(strings.ReplaceAll(key, "\x00", ""), "")
			return fhir.Invalid("the parameter "+name+" is not valid UTF-8 text or contains the NUL character", name)
		}
	}
	return nil
}
