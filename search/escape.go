package search

import "strings"

// splitEscaped splits s on every sep that is not escaped with a backslash.
// The pieces keep their escapes: a value is split on ',' (OR), then a piece
// on '$' (composite) and '|' (token, quantity), and only the last step
// unescapes, so "a\|b\,c" survives both splits intact.
func splitEscaped(s string, sep byte) []string {
	if strings.IndexByte(s, sep) < 0 {
		return []string{s}
	}
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // the next byte is escaped, whatever it is
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescape removes the search escapes \, \$ \| and \\. A backslash before any
// other character is kept as written: R4 defines only these four escapes,
// and a Windows path or a regular expression in a value must survive.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case ',', '$', '|', '\\':
				b.WriteByte(s[i+1])
				i++
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// escape is the inverse of unescape, used to write a value back into a
// query string.
func escape(s string) string {
	if !strings.ContainsAny(s, `\,$|`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\', ',', '$', '|':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
