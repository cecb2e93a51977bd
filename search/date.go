package search

import (
	"encoding/json"
	"strings"
	"time"
)

// Date is a date parameter value (also _lastUpdated): a prefix and the
// half-open range [Lo, Hi) the written value covers (see DateRange). R4
// compares ranges: eq means the resource's range lies inside [Lo, Hi), gt
// that it extends after Hi, sa that it starts at or after Hi, and so on.
// For ap, Lo and Hi are already widened by a tenth of the distance between
// the value and the time of the search, as R4 recommends.
type Date struct {
	Prefix Prefix `json:"prefix"`
	// Text is the date as written, without the prefix.
	Text string `json:"text"`
	// Lo is the inclusive start, in UTC.
	Lo time.Time `json:"lo"`
	// Hi is the exclusive end, in UTC.
	Hi time.Time `json:"hi"`
}

// Kind returns "date".
func (Date) Kind() string { return "date" }

// String writes the value in query syntax.
func (v Date) String() string { return prefixString(v.Prefix) + escape(v.Text) }

func (Date) isValue() {}

// MarshalJSON writes Lo and Hi with time.RFC3339Nano, which, unlike
// time.Time's own encoding, also copes with the year 10000 that ends a
// range in 9999.
func (v Date) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Prefix Prefix `json:"prefix"`
		Text   string `json:"text"`
		Lo     string `json:"lo"`
		Hi     string `json:"hi"`
	}{v.Prefix, v.Text, v.Lo.Format(time.RFC3339Nano), v.Hi.Format(time.RFC3339Nano)})
}

func parseDate(raw string, now time.Time) (Date, error) {
	prefix, rest, err := splitPrefix(unescape(raw))
	if err != nil {
		return Date{}, err
	}
	// An unencoded '+' in a query string arrives as a space, and clients
	// often forget to encode the '+' of a time zone: take it back.
	if i := strings.IndexByte(rest, 'T'); i >= 0 && strings.IndexByte(rest[i:], ' ') >= 0 {
		rest = rest[:i] + strings.ReplaceAll(rest[i:], " ", "+")
	}
	lo, hi, err := DateRange(rest)
	if err != nil {
		return Date{}, err
	}
	if prefix == Ap {
		lo, hi = approxDates(lo, hi, now)
	}
	return Date{Prefix: prefix, Text: rest, Lo: lo, Hi: hi}, nil
}

// approxDates widens [lo, hi) on both sides by a tenth of the distance from
// now to the range. Whole seconds are computed from Unix times, which cannot
// overflow the way a time.Duration of more than 292 years would.
func approxDates(lo, hi, now time.Time) (time.Time, time.Time) {
	var gap int64
	switch n := now.Unix(); {
	case n < lo.Unix():
		gap = lo.Unix() - n
	case n > hi.Unix():
		gap = n - hi.Unix()
	}
	gap /= 10
	return time.Unix(lo.Unix()-gap, int64(lo.Nanosecond())).UTC(), time.Unix(hi.Unix()+gap, int64(hi.Nanosecond())).UTC()
}
