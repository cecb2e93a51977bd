package search

import (
	"fmt"
	"time"
)

// DateRange returns the half-open range [lo, hi) that a FHIR date, dateTime
// or instant covers at the precision it is written with: "2013" covers the
// whole year, "2013-01-14T10:00" the whole minute, "2013-01-14T10:00:00.25Z"
// a hundredth of a second. Both ends are in UTC.
//
// A value without a time zone (a date, or a dateTime written without one,
// which R4 allows in search values) is taken as UTC. R4 leaves this to the
// server; UTC keeps the index and the queries independent of where the
// server runs. The index side converts stored date, dateTime, instant and
// Period values with this same function.
func DateRange(s string) (lo, hi time.Time, err error) {
	bad := func(why string) (time.Time, time.Time, error) {
		return time.Time{}, time.Time{}, fmt.Errorf("%q is not a date: %s", s, why)
	}
	const layout = "want YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]"
	r := dateReader{s: s}
	year, ok := r.digits(4)
	if !ok {
		return bad(layout)
	}
	if year == 0 {
		return bad("year 0000 does not exist")
	}
	if r.done() {
		lo = time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
		return lo, lo.AddDate(1, 0, 0), nil
	}
	month, ok := r.sepDigits('-', 2)
	if !ok {
		return bad(layout)
	}
	if month < 1 || month > 12 {
		return bad("month must be 01 to 12")
	}
	if r.done() {
		lo = time.Date(year, time.Month(month), 1, 0, 0, 0, 0, time.UTC)
		return lo, lo.AddDate(0, 1, 0), nil
	}
	day, ok := r.sepDigits('-', 2)
	if !ok {
		return bad(layout)
	}
	if day < 1 || day > daysIn(year, month) {
		return bad(fmt.Sprintf("day must be 01 to %02d", daysIn(year, month)))
	}
	if r.done() {
		lo = time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
		return lo, lo.AddDate(0, 0, 1), nil
	}
	hour, ok := r.sepDigits('T', 2)
	if !ok {
		return bad(layout)
	}
	min, ok := r.sepDigits(':', 2)
	if !ok {
		return bad(layout)
	}
	if hour > 23 || min > 59 {
		return bad("time must be 00:00 to 23:59")
	}
	sec, nanos, step := 0, 0, time.Minute
	if r.peek() == ':' {
		if sec, ok = r.sepDigits(':', 2); !ok {
			return bad(layout)
		}
		if sec > 60 { // 60 is a leap second; time.Date carries it over
			return bad("seconds must be 00 to 60")
		}
		step = time.Second
		if r.peek() == '.' {
			r.i++
			n := 0
			for ; r.i < len(r.s) && isDigit(r.s[r.i]); r.i++ {
				if n < 9 { // time.Time stops at nanoseconds
					nanos = nanos*10 + int(r.s[r.i]-'0')
					step /= 10
					n++
				}
			}
			if n == 0 {
				return bad("a '.' must be followed by digits")
			}
			for ; n < 9; n++ {
				nanos *= 10
			}
		}
	}
	offset := 0
	switch r.peek() {
	case 0:
	case 'Z':
		r.i++
	case '+', '-':
		sign := 1
		if r.s[r.i] == '-' {
			sign = -1
		}
		r.i++
		zh, ok1 := r.digits(2)
		zm, ok2 := r.sepDigits(':', 2)
		if !ok1 || !ok2 {
			return bad("time zone must be Z or ±hh:mm")
		}
		if zh > 14 || zm > 59 {
			return bad("time zone offset out of range")
		}
		offset = sign * (zh*3600 + zm*60)
	default:
		return bad(layout)
	}
	if !r.done() {
		return bad(layout)
	}
	lo = time.Date(year, time.Month(month), day, hour, min, sec, nanos, time.UTC).Add(-time.Duration(offset) * time.Second)
	return lo, lo.Add(step), nil
}

// dateReader walks a date string; it never reads past the end.
type dateReader struct {
	s string
	i int
}

func (r *dateReader) done() bool { return r.i == len(r.s) }

func (r *dateReader) peek() byte {
	if r.i < len(r.s) {
		return r.s[r.i]
	}
	return 0
}

// digits reads exactly n decimal digits.
func (r *dateReader) digits(n int) (int, bool) {
	if len(r.s)-r.i < n {
		return 0, false
	}
	v := 0
	for _, c := range []byte(r.s[r.i : r.i+n]) {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	r.i += n
	return v, true
}

// sepDigits reads the separator sep and then n digits.
func (r *dateReader) sepDigits(sep byte, n int) (int, bool) {
	if r.peek() != sep {
		return 0, false
	}
	r.i++
	return r.digits(n)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
