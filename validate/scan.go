package validate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/hce-fhir/hce/fhir"
)

// scan checks what decoding into Go values would hide: invalid UTF-8
// (replaced by U+FFFD), NUL characters and lone surrogates (which PostgreSQL
// refuses in jsonb), duplicate keys in an object (the last one would win),
// and the nesting depth, array lengths and values per resource the options
// allow. It reads body once without building values. Malformed JSON is left
// for the decoder to report: scan stops at the first byte it does not
// expect.
func (v *Validator) scan(body []byte) error {
	return v.scanSplit(body, nil)
}

// scanSplit is scan that also finds, when split is not nil, where the
// resources of a Bundle's entries are in body.
func (v *Validator) scanSplit(body []byte, split *bundleSplit) error {
	if !utf8.Valid(body) {
		return invalidUTF8(body)
	}
	s := scanner{body: body, maxDepth: v.opt.MaxDepth, maxArray: v.opt.MaxArrayLength, maxValues: v.opt.MaxValues, split: split}
	if n := s.value(0); s.err == nil && n > s.maxValues {
		s.tooManyValues()
	}
	if split != nil && s.stopped {
		split.bundle = false // malformed: the decoder reports where
	}
	return s.err
}

// bundleSplit is where a Bundle's entries' resources are in its body.
type bundleSplit struct {
	// bundle says whether the body is a Bundle the scan read to its end.
	bundle bool
	// spans are the entries' resources that are JSON objects, in order.
	spans []span
}

// span is the resource of entry: body[start:end].
type span struct{ entry, start, end int }

func invalidUTF8(body []byte) error {
	for i := 0; i < len(body); {
		r, n := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && n <= 1 {
			return fhir.Errorf(fhir.ErrInvalid, "invalid", fmt.Sprintf("the body is not valid UTF-8 (byte %d)", i))
		}
		i += n
	}
	return fhir.Errorf(fhir.ErrInvalid, "invalid", "the body is not valid UTF-8")
}

type scanner struct {
	body               []byte
	i                  int
	maxDepth, maxArray int
	maxValues          int
	err                error
	// path is the element path of the value being scanned, for messages.
	path []segment
	// split, when set, records the entries' resources of a Bundle body;
	// stopped says whether the scan met malformed JSON.
	split   *bundleSplit
	stopped bool
}

// segment is one step of a path: an object key, or an array index when key
// is empty.
type segment struct {
	key   string
	raw   []byte // the key as it is in the body, when key is not set
	index int
}

func (s *scanner) fail(code, format string, args ...any) {
	if s.err == nil {
		var expr []string
		if w := s.where(); w != "" {
			expr = []string{w}
		}
		s.err = fhir.Errorf(fhir.ErrInvalid, code, fmt.Sprintf(format, args...), expr...)
	}
	s.i = len(s.body)
}

func (s *scanner) where() string {
	out := ""
	for _, p := range s.path {
		if p.key == "" && p.raw != nil {
			p.key = string(p.raw)
		}
		switch {
		case p.key == "":
			out += "[" + strconv.Itoa(p.index) + "]"
		case out == "":
			out = p.key
		default:
			out += "." + p.key
		}
	}
	return out
}

// stop ends the scan silently: the decoder reports malformed JSON.
func (s *scanner) stop() { s.i, s.stopped = len(s.body), true }

func (s *scanner) ws() {
	for s.i < len(s.body) {
		switch s.body[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// tooManyValues fails the resource at s.path: the root, or an entry of a
// Bundle.
func (s *scanner) tooManyValues() {
	s.fail("too-costly", "the resource holds more than %d JSON values", s.maxValues)
}

// value scans one value and returns how many JSON values it holds, itself
// included, less the entries of any Bundle in it (those are counted, and
// bounded, on their own).
func (s *scanner) value(depth int) int {
	s.ws()
	if s.i >= len(s.body) {
		return 0
	}
	switch c := s.body[s.i]; {
	case c == '{':
		if depth >= s.maxDepth {
			s.fail("too-costly", "the JSON nests deeper than %d levels", s.maxDepth)
			return 0
		}
		return s.object(depth + 1)
	case c == '[':
		if depth >= s.maxDepth {
			s.fail("too-costly", "the JSON nests deeper than %d levels", s.maxDepth)
			return 0
		}
		n, _, _ := s.array(depth + 1)
		return n
	case c == '"':
		s.str()
	default:
		// A number or literal: skip to the next delimiter.
		for s.i < len(s.body) {
			switch s.body[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return 1
			}
			s.i++
		}
	}
	return 1
}

// object scans an object and returns its count of values (see value). A
// Bundle's entries are not in it: each must hold at most maxValues itself.
func (s *scanner) object(depth int) int {
	s.i++ // {
	// Keys are compared as written; one with escapes is unescaped first.
	// A short object is searched linearly, a long one through a map.
	var seen [][]byte
	var seenMap map[string]struct{}
	count := 1
	// The entry member, counted apart until resourceType tells whether
	// this is a Bundle: its items' values and the largest item's.
	entries, largest, largestAt := 0, 0, 0
	bundle := false
	for n := 0; ; n++ {
		s.ws()
		if s.i >= len(s.body) {
			return count
		}
		if s.body[s.i] == '}' {
			s.i++
			if s.split != nil && depth == 1 {
				s.split.bundle = bundle
			}
			if !bundle {
				return count + entries
			}
			if largest > s.maxValues {
				s.path = append(s.path, segment{key: "entry"}, segment{index: largestAt})
				s.tooManyValues()
			}
			return count
		}
		if n > 0 {
			if s.body[s.i] != ',' {
				s.stop()
				return count
			}
			s.i++
			s.ws()
		}
		if s.i >= len(s.body) || s.body[s.i] != '"' {
			s.stop()
			return count
		}
		key, ok := s.str()
		if !ok {
			return count
		}
		dup := false
		if seenMap == nil {
			for _, k := range seen {
				if string(k) == string(key) {
					dup = true
					break
				}
			}
			seen = append(seen, key)
			if len(seen) > 32 {
				seenMap = make(map[string]struct{}, 64)
				for _, k := range seen {
					seenMap[string(k)] = struct{}{}
				}
			}
		} else {
			_, dup = seenMap[string(key)]
			seenMap[string(key)] = struct{}{}
		}
		if dup {
			s.path = append(s.path, segment{key: string(key)})
			s.fail("structure", "duplicate JSON key %q", key)
			return count
		}
		s.ws()
		if s.i >= len(s.body) || s.body[s.i] != ':' {
			s.stop()
			return count
		}
		s.i++
		s.ws()
		s.path = append(s.path, segment{raw: key})
		switch {
		case string(key) == "resourceType" && s.i < len(s.body) && s.body[s.i] == '"':
			typ, ok := s.str()
			if !ok {
				return count
			}
			bundle = string(typ) == "Bundle"
			count++
		case string(key) == "entry" && s.i < len(s.body) && s.body[s.i] == '[':
			if depth >= s.maxDepth {
				s.fail("too-costly", "the JSON nests deeper than %d levels", s.maxDepth)
				return count
			}
			entries, largest, largestAt = s.array(depth + 1)
			entries-- // the array itself counts in the object
			count++
		case s.split != nil && depth == 3 && string(key) == "resource" && len(s.path) == 3 &&
			string(s.path[0].raw) == "entry" && s.i < len(s.body) && s.body[s.i] == '{':
			start := s.i
			count += s.value(depth)
			s.split.spans = append(s.split.spans, span{entry: s.path[1].index, start: start, end: s.i})
		default:
			count += s.value(depth)
		}
		if s.err != nil {
			return count
		}
		s.path = s.path[:len(s.path)-1]
	}
}

// array scans an array and returns its count of values (see value), and
// the count of its largest item with that item's index.
func (s *scanner) array(depth int) (count, largest, largestAt int) {
	s.i++ // [
	count = 1
	for n := 0; ; n++ {
		s.ws()
		if s.i >= len(s.body) {
			return
		}
		if s.body[s.i] == ']' {
			s.i++
			return
		}
		if n > 0 {
			if s.body[s.i] != ',' {
				s.stop()
				return
			}
			s.i++
		}
		if n >= s.maxArray {
			s.fail("too-costly", "an array has more than %d items", s.maxArray)
			return
		}
		s.path = append(s.path, segment{index: n})
		c := s.value(depth)
		if s.err != nil {
			return
		}
		count += c
		if c > largest {
			largest, largestAt = c, n
		}
		s.path = s.path[:len(s.path)-1]
	}
}

// str scans a string at s.i and returns it: the bytes of the body, or
// unescaped when it has escapes (keys are compared unescaped). It rejects
// \u0000 and lone surrogates.
func (s *scanner) str() ([]byte, bool) {
	start := s.i
	s.i++ // "
	escaped := false
	for s.i < len(s.body) {
		switch c := s.body[s.i]; c {
		case '"':
			s.i++
			raw := s.body[start:s.i]
			if !escaped {
				return raw[1 : len(raw)-1], true
			}
			var out string
			if err := json.Unmarshal(raw, &out); err != nil {
				s.stop()
				return nil, false
			}
			return []byte(out), true
		case '\\':
			escaped = true
			if s.i+1 >= len(s.body) {
				s.stop()
				return nil, false
			}
			if s.body[s.i+1] == 'u' {
				if !s.unicodeEscape() {
					return nil, false
				}
				continue
			}
			s.i += 2
		default:
			if c < 0x20 {
				s.stop() // a raw control character: malformed JSON
				return nil, false
			}
			s.i++
		}
	}
	return nil, false
}

// unicodeEscape checks the \uXXXX at s.i (and its low surrogate) and moves
// past it.
func (s *scanner) unicodeEscape() bool {
	r, ok := s.hex4(s.i + 2)
	if !ok {
		s.stop()
		return false
	}
	s.i += 6
	switch {
	case r == 0:
		s.fail("invalid", "strings must not contain the NUL character (\\u0000)")
		return false
	case r >= 0xDC00 && r <= 0xDFFF:
		s.fail("invalid", "a string has a lone low surrogate (\\u%04x)", r)
		return false
	case r >= 0xD800 && r <= 0xDBFF:
		if s.i+6 > len(s.body) || s.body[s.i] != '\\' || s.body[s.i+1] != 'u' {
			s.fail("invalid", "a string has a lone high surrogate (\\u%04x)", r)
			return false
		}
		lo, ok := s.hex4(s.i + 2)
		if !ok || lo < 0xDC00 || lo > 0xDFFF {
			s.fail("invalid", "a string has a lone high surrogate (\\u%04x)", r)
			return false
		}
		s.i += 6
	}
	return true
}

func (s *scanner) hex4(at int) (rune, bool) {
	if at+4 > len(s.body) {
		return 0, false
	}
	var r rune
	for _, c := range s.body[at : at+4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c-'a') + 10
		case 'A' <= c && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}
