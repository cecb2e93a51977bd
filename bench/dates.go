package bench

import (
	"regexp"
	"time"
)

// timeOfDay is what may follow the date in a FHIR dateTime or instant:
// hours and minutes, optional seconds and fraction, optional zone.
var timeOfDay = regexp.MustCompile(`^T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$`)

// shiftDate moves a FHIR date, dateTime or instant string by days whole days
// and reports whether s was one. Only values with at least a day are
// recognised (YYYY-MM-DD, then optionally a time): a bare year or year-month
// looks the same as a postal code or a code, so it is left alone. The time of
// day and the zone are kept as written, and so is the precision.
func shiftDate(s string, days int) (string, bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return s, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return s, false
	}
	rest := s[10:]
	if rest != "" && !timeOfDay.MatchString(rest) {
		return s, false
	}
	t := time.Date(y, time.Month(m), d, 12, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return s, false // 2021-02-30 is not a date
	}
	t = t.AddDate(0, 0, days)
	if t.Year() < 1 || t.Year() > 9999 {
		return s, false
	}
	return t.Format("2006-01-02") + rest, true
}

// digits reads a string of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}
