package fhirpath

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// equal is FHIRPath equality of two decoded JSON values: numbers compare by
// value (1.0 = 1), complex elements member by member, and values of
// different kinds are unequal.
func equal(a, b any) bool {
	switch a := a.(type) {
	case string:
		b, ok := b.(string)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case json.Number, float64:
		x, okx := number(a)
		y, oky := number(b)
		return okx && oky && x.Cmp(y) == 0
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !equal(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case nil:
		return b == nil
	}
	return false
}

// number converts a JSON number to an exact rational.
func number(v any) (*big.Rat, bool) {
	switch v := v.(type) {
	case json.Number:
		return new(big.Rat).SetString(string(v))
	case float64:
		return new(big.Rat).SetString(strconv.FormatFloat(v, 'g', -1, 64))
	}
	return nil, false
}

// union merges two collections without duplicates, keeping first-seen order.
func union(a, b []Node) []Node {
	out := make([]Node, 0, len(a)+len(b))
	if len(a)+len(b) <= smallUnion {
		for _, c := range [2][]Node{a, b} {
		next:
			for _, n := range c {
				for _, o := range out {
					if equal(o.Value, n.Value) {
						continue next
					}
				}
				out = append(out, n)
			}
		}
		return out
	}
	// Large collections are deduplicated through the canonical form of each
	// item rather than pairwise, so a resource with thousands of identifiers
	// stays linear.
	seen := make(map[string]bool, len(a)+len(b))
	var buf strings.Builder
	for _, c := range [2][]Node{a, b} {
		for _, n := range c {
			buf.Reset()
			canonical(&buf, n.Value)
			if k := buf.String(); !seen[k] {
				seen[k] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// smallUnion is the size up to which union compares items pairwise, which
// is cheaper than building canonical forms.
const smallUnion = 16

// canonical writes a form of v that is the same for exactly the values equal
// considers equal: object keys sorted, numbers reduced to lowest terms.
func canonical(b *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		writeString(b, v)
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case json.Number, float64:
		if r, ok := number(v); ok {
			b.WriteString(r.RatString())
		} else {
			fmt.Fprint(b, "?", v) // not a number: equal to nothing else
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for _, k := range keys {
			writeString(b, k)
			canonical(b, v[k])
			b.WriteByte(',')
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for _, x := range v {
			canonical(b, x)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case nil:
		b.WriteString("null")
	default:
		fmt.Fprintf(b, "?%T:%v", v, v) // not a decoded JSON value
	}
}

// writeString writes s length-prefixed, which is unambiguous without the
// cost of escaping.
func writeString(b *strings.Builder, s string) {
	b.WriteByte('s')
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
}
