package search

import (
	"strings"
	"unicode"

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
	// Decompose (é is e + U+0301), drop the combining marks, lower-case,
	// and compose what remains (Hangul syllables, for one) back.
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return norm.NFC.String(b.String())
}
