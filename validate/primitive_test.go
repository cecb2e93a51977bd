package validate

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/hce-fhir/hce/fhir/spec"
)

// primitiveCases holds valid and invalid values per R4 primitive type, from
// the examples and rules of datatypes.html.
var primitiveCases = []struct {
	typ     string
	valid   []any
	invalid []any
}{
	{"date", []any{"2018", "1973-06", "1905-08-23", "2020-02-29", "0001"},
		[]any{"2020-13-45", "2021-02-29", "20-01-01", "hello", "2020-1-01", "2020-00", "0000", "2020-04-31", "2018-01-01T10:00:00Z", "1900-02-29", ""}},
	{"dateTime", []any{"2018", "1973-06", "1905-08-23", "2015-02-07T13:28:17-05:00", "2017-01-01T00:00:00.000Z", "2016-12-31T23:59:60Z", "2020-01-01T10:00:00+14:00"},
		[]any{"2020-02-30T25:00", "2020-01-01T10:00:00", "T24:00:00Z", "2020-01-01T24:00:00Z", "2020-01-01T10:00Z", "2020-01-01T10:00:00+15:00", "2020-01-01T10:00:00.Z", "2020-01-01 10:00:00Z", "2021-02-29T10:00:00Z"}},
	{"instant", []any{"2015-02-07T13:28:17.239+02:00", "2017-01-01T00:00:00Z"},
		[]any{"2018", "2015-02-07", "2015-02-07T13:28:17", "2015-02-07T13:28Z"}},
	{"time", []any{"00:00:00", "23:59:59", "14:30:15.123"},
		[]any{"24:00:00", "10:00", "10:00:00Z", "10:60:00", "1:00:00", "10:00:00+01:00", "noon"}},
	{"integer", []any{json.Number("0"), json.Number("-12"), json.Number("2147483647"), json.Number("-2147483648")},
		[]any{json.Number("1.5"), json.Number("2147483648"), json.Number("1e3"), json.Number("01"), json.Number("-0")}},
	{"positiveInt", []any{json.Number("1"), json.Number("2147483647")},
		[]any{json.Number("0"), json.Number("-1"), json.Number("1.0")}},
	{"unsignedInt", []any{json.Number("0"), json.Number("42")},
		[]any{json.Number("-1"), json.Number("-0"), json.Number("2147483648")}},
	{"decimal", []any{json.Number("0"), json.Number("-1.50"), json.Number("1e10"), json.Number("0.000001")},
		[]any{json.Number("1e100000")}},
	{"id", []any{"a", "example-1.2", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-."},
		[]any{"", "a b", "a_b", "a/b", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.x"}},
	{"uri", []any{"http://hl7.org/fhir", "urn:oid:1.2.3", "#a", "Patient/1"},
		[]any{"", "http://a b", "a\tb"}},
	{"url", []any{"https://example.org/x"}, []any{"http://a b"}},
	{"canonical", []any{"http://hl7.org/fhir/ValueSet/x|4.0.1"}, []any{"x y"}},
	{"oid", []any{"urn:oid:1.2.3.4.5", "urn:oid:2.16.840.1.113883"},
		[]any{"1.2.3", "urn:oid:3.1", "urn:oid:1", "urn:oid:1.02", "urn:oid:1..2"}},
	{"uuid", []any{"urn:uuid:c757873d-ec9a-4326-a141-556f43239520"},
		[]any{"c757873d-ec9a-4326-a141-556f43239520", "urn:uuid:C757873D-EC9A-4326-A141-556F43239520", "urn:uuid:c757873d-ec9a-4326-a141-556f4323952"}},
	{"code", []any{"male", "a b", "http://x"},
		[]any{" male", "male ", "a  b", "", "a\u0001b"}},
	{"base64Binary", []any{"aGVsbG8=", "aGVs bG8="},
		[]any{"abc", "a$cd", "====="}},
	{"string", []any{"Peter", "tab\tand\nline", "é ü 中"},
		[]any{"nul\x00", "bell\x07", "esc\x1b"}},
	{"markdown", []any{"# title\n\n*text*"}, []any{"\x0c"}},
}

func TestPrimitives(t *testing.T) {
	for _, tc := range primitiveCases {
		t.Run(tc.typ, func(t *testing.T) {
			for _, v := range tc.valid {
				if problem := primitive(tc.typ, v); problem != "" {
					t.Errorf("%q rejected: %s", v, problem)
				}
			}
			for _, v := range tc.invalid {
				if primitive(tc.typ, v) == "" {
					t.Errorf("%q accepted", v)
				}
			}
		})
	}
}

// TestPrimitivesAgreeWithSpecRegex checks the hand-written checks against
// the regular expressions of the R4 definitions: what the regex rejects is
// rejected. (The checks are stricter where R4 asks for more than its regex:
// real calendar dates, 32-bit integers, no control characters.)
func TestPrimitivesAgreeWithSpecRegex(t *testing.T) {
	for _, tc := range primitiveCases {
		def, ok := spec.Type(tc.typ)
		if !ok || def.Regex == "" {
			t.Fatalf("no regex for %s in the definitions", tc.typ)
		}
		re := regexp.MustCompile("^(?:" + def.Regex + ")$")
		for _, v := range append(append([]any{}, tc.valid...), tc.invalid...) {
			s := ""
			switch v := v.(type) {
			case string:
				s = v
			case json.Number:
				s = string(v)
			}
			if !re.MatchString(s) && primitive(tc.typ, v) == "" {
				t.Errorf("%s %q: the R4 regex rejects it, the check accepts it", tc.typ, s)
			}
		}
		for _, v := range tc.valid {
			if s, ok := v.(string); ok && !re.MatchString(s) {
				t.Errorf("%s %q: listed as valid, the R4 regex rejects it", tc.typ, s)
			}
		}
	}
}
