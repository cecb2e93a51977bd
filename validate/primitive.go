package validate

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/hce-fhir/hce/fhir"
)

// maxStringBytes is R4's bound on a string's size (datatypes.html#string).
const maxStringBytes = 1 << 20

// primitive checks a primitive value of type typ against R4's rules for its
// lexical form (the regular expression of datatypes.html) and its value
// space (calendar dates, integer ranges). It returns "" when the value is
// valid and the reason otherwise. A value of the wrong JSON type is the
// models' check (fhir.Validate) and passes here.
func primitive(typ string, val any) string {
	switch typ {
	case "boolean":
		return ""
	case "integer", "positiveInt", "unsignedInt":
		n, ok := val.(json.Number)
		if !ok {
			return ""
		}
		return integer(typ, string(n))
	case "decimal":
		n, ok := val.(json.Number)
		if !ok {
			return ""
		}
		return decimal(string(n))
	}
	s, ok := val.(string)
	if !ok {
		return ""
	}
	switch typ {
	case "string", "markdown":
		if len(s) > maxStringBytes {
			return "a string must not exceed 1 MB"
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return "a string must not contain control characters other than tab, carriage return and line feed (found U+" + strconv.FormatInt(int64(c)+0x10000, 16)[1:] + ")"
			}
		}
	case "code":
		if !isCode(s) {
			return "a code has no leading or trailing whitespace and single spaces inside ([^\\s]+(\\s[^\\s]+)*)"
		}
	case "id":
		if !isID(s) {
			return "an id is 1 to 64 characters of A-Z, a-z, 0-9, - and . ([A-Za-z0-9\\-\\.]{1,64})"
		}
	case "uri", "url", "canonical":
		if hasSpace(s) || s == "" {
			return "a " + typ + " is not empty and has no whitespace (\\S*)"
		}
		if hasControl(s) {
			return "a " + typ + " must not contain control characters"
		}
	case "oid":
		if !isOID(s) {
			return "an oid is urn:oid: followed by dotted numbers (urn:oid:[0-2](\\.(0|[1-9][0-9]*))+)"
		}
	case "uuid":
		if !isUUID(s) {
			return "a uuid is urn:uuid: followed by a lowercase UUID"
		}
	case "base64Binary":
		if !isBase64(s) {
			return "a base64Binary is base64 text: groups of four characters of A-Z, a-z, 0-9, +, / and ="
		}
	case "date":
		return dateTime(s, "date")
	case "dateTime":
		return dateTime(s, "dateTime")
	case "instant":
		return dateTime(s, "instant")
	case "time":
		if !isTime(s) {
			return "a time is hh:mm:ss with optional fractions of a second, 00:00:00 to 23:59:59, without a zone"
		}
	}
	return ""
}

// integer checks integer, positiveInt and unsignedInt: the R4 regex (no
// sign on the unsigned types, no leading zeros, no exponent or fraction) and
// the 32-bit range.
func integer(typ, s string) string {
	digits := strings.TrimPrefix(s, "-")
	neg := digits != s
	if digits == "" || (len(digits) > 1 && digits[0] == '0') || !allDigits(digits) {
		return s + " is not an " + typ + " (-?([0]|([1-9][0-9]*)))"
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return s + " is out of the 32-bit range of " + typ
	}
	switch {
	case typ == "positiveInt" && n < 1:
		return "a positiveInt is at least 1, not " + s
	case typ == "unsignedInt" && (n < 0 || neg):
		return "an unsignedInt is at least 0, not " + s
	case typ == "integer" && neg && n == 0:
		return "-0 is not an integer"
	}
	return ""
}

// decimal checks the R4 decimal regex; JSON's number grammar is the same,
// so only the size of the exponent is bounded here.
func decimal(s string) string {
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		if e, err := strconv.Atoi(s[i+1:]); err != nil || e > 1000 || e < -1000 {
			return s + " has an exponent out of range"
		}
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isSpace is RE2's \s: space, tab, line feed, form feed, carriage return
// (and vertical tab).
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == '\v'
}

func hasSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			return true
		}
	}
	return false
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func isCode(s string) bool {
	if s == "" || isSpace(s[0]) || isSpace(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if isSpace(s[i]) && isSpace(s[i-1]) {
			return false
		}
	}
	return !hasControl(strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return 'x'
		}
		return r
	}, s))
}

func isID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func isOID(s string) bool {
	rest, ok := strings.CutPrefix(s, "urn:oid:")
	if !ok || rest == "" || rest[0] < '0' || rest[0] > '2' {
		return false
	}
	parts := strings.Split(rest, ".")
	if len(parts) < 2 || len(parts[0]) != 1 {
		return false
	}
	for _, p := range parts[1:] {
		if !allDigits(p) || (len(p) > 1 && p[0] == '0') {
			return false
		}
	}
	return true
}

func isUUID(s string) bool {
	rest, ok := strings.CutPrefix(s, "urn:uuid:")
	return ok && fhir.IsUUID(rest)
}

// isBase64 follows R4's regex (\s*([0-9a-zA-Z\+/=]){4}\s*)+: base64
// characters in groups of four, whitespace between groups.
func isBase64(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/', c == '=':
			n++
		case isSpace(c):
			if n%4 != 0 {
				return false
			}
		default:
			return false
		}
	}
	return n > 0 && n%4 == 0
}

// dateTime checks date, dateTime and instant: the R4 regex (a year of four
// digits, not 0000; optional month and day; with a time, hours, minutes,
// seconds and a zone) and a real calendar date (2021-02-29 is not one). An
// instant needs the full date, time and zone.
func dateTime(s, typ string) string {
	bad := func() string {
		switch typ {
		case "date":
			return "a date is YYYY, YYYY-MM or YYYY-MM-DD, a real calendar date without a time"
		case "instant":
			return "an instant is YYYY-MM-DDThh:mm:ss(.sss) with a zone (Z or +hh:mm)"
		}
		return "a dateTime is YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss(.sss) with a zone (Z or +hh:mm), a real calendar date"
	}
	// partial ends a value that stops before its time: an instant needs one.
	partial := func() string {
		if typ == "instant" {
			return bad()
		}
		return ""
	}
	if len(s) < 4 || !allDigits(s[:4]) || s[:4] == "0000" {
		return bad()
	}
	year, _ := strconv.Atoi(s[:4])
	rest := s[4:]
	if rest == "" {
		return partial()
	}
	if len(rest) < 3 || rest[0] != '-' || !allDigits(rest[1:3]) {
		return bad()
	}
	month, _ := strconv.Atoi(rest[1:3])
	if month < 1 || month > 12 {
		return bad()
	}
	rest = rest[3:]
	if rest == "" {
		return partial()
	}
	if len(rest) < 3 || rest[0] != '-' || !allDigits(rest[1:3]) {
		return bad()
	}
	day, _ := strconv.Atoi(rest[1:3])
	if day < 1 || day > daysIn(year, month) {
		return bad()
	}
	rest = rest[3:]
	if rest == "" {
		return partial()
	}
	if typ == "date" || rest[0] != 'T' {
		return bad()
	}
	rest = rest[1:]
	// hh:mm:ss(.f+)
	i := timeLen(rest)
	if i == 0 {
		return bad()
	}
	if !isZone(rest[i:]) {
		return bad()
	}
	return ""
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// timeLen returns the length of the hh:mm:ss(.f+) at the start of s, or 0.
func timeLen(s string) int {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' || !allDigits(s[0:2]) || !allDigits(s[3:5]) || !allDigits(s[6:8]) {
		return 0
	}
	h, _ := strconv.Atoi(s[0:2])
	m, _ := strconv.Atoi(s[3:5])
	sec, _ := strconv.Atoi(s[6:8])
	if h > 23 || m > 59 || sec > 60 {
		return 0
	}
	i := 8
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i+1 {
			return 0
		}
		i = j
	}
	return i
}

// isZone matches Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00).
func isZone(s string) bool {
	if s == "Z" {
		return true
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || !allDigits(s[1:3]) || !allDigits(s[4:6]) {
		return false
	}
	h, _ := strconv.Atoi(s[1:3])
	m, _ := strconv.Atoi(s[4:6])
	return (h <= 13 && m <= 59) || (h == 14 && m == 0)
}

func isTime(s string) bool {
	n := timeLen(s)
	return n > 0 && n == len(s)
}
