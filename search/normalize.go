package search

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// NormalizeString folds case and removes accents, the way R4 string search
// compares by default ("Muñoz" matches "munoz"). Compatibility forms are
// folded too (the ligature "ﬁ" becomes "fi", full-width letters plain
// ones). The index stores string values through it and queries go through
// it as well, so both sides always agree.
func NormalizeString(s string) string {
	ascii, upper := true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			ascii = false
			break
		}
		upper = upper || c >= 'A' && c <= 'Z'
	}
	if ascii {
		if !upper {
			return s
		}
		return strings.ToLower(s)
	}
	// A transform chain keeps state, so each call builds its own.
	t := transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}
