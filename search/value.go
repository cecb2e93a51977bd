package search

import "fmt"

// Value is one typed search value. Its concrete type is one of String,
// Token, Date, Number, Quantity, Reference, URI or Composite.
type Value interface {
	// Kind names the concrete type: string, token, date, number, quantity,
	// reference, uri or composite.
	Kind() string
	// String writes the value back in query syntax, escaped, so that
	// parsing it again gives the same value.
	String() string
	isValue()
}

// Prefix is the comparator in front of a number, date or quantity value.
type Prefix string

// The R4 prefixes. Eq is implied when a value has none.
const (
	Eq Prefix = "eq" // the value's range contains the resource's
	Ne Prefix = "ne" // not eq
	Gt Prefix = "gt" // greater than
	Lt Prefix = "lt" // less than
	Ge Prefix = "ge" // greater or equal
	Le Prefix = "le" // less or equal
	Sa Prefix = "sa" // starts after the value's range
	Eb Prefix = "eb" // ends before the value's range
	Ap Prefix = "ap" // approximately: Lo and Hi are already widened
)

// splitPrefix takes a prefix off an ordered value. Numbers and dates start
// with a digit or '-', so two leading letters can only be a prefix.
func splitPrefix(s string) (Prefix, string, error) {
	if len(s) < 2 || !isLower(s[0]) || !isLower(s[1]) {
		return Eq, s, nil
	}
	switch p := Prefix(s[:2]); p {
	case Eq, Ne, Gt, Lt, Ge, Le, Sa, Eb, Ap:
		return p, s[2:], nil
	default:
		return "", "", fmt.Errorf("unknown prefix %q in %q: want one of eq, ne, gt, lt, ge, le, sa, eb, ap", s[:2], s)
	}
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// prefixString writes p in front of a value, leaving out the implied eq.
func prefixString(p Prefix) string {
	if p == Eq {
		return ""
	}
	return string(p)
}
