package search

import (
	"strings"
	"testing"
	"time"
)

func TestDateRange(t *testing.T) {
	u := func(y, mo, d, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	}
	for _, tt := range []struct {
		in     string
		lo, hi time.Time
	}{
		{"2013", u(2013, 1, 1, 0, 0, 0, 0), u(2014, 1, 1, 0, 0, 0, 0)},
		{"2013-12", u(2013, 12, 1, 0, 0, 0, 0), u(2014, 1, 1, 0, 0, 0, 0)},
		{"2012-02-29", u(2012, 2, 29, 0, 0, 0, 0), u(2012, 3, 1, 0, 0, 0, 0)},
		{"2013-01-14T10:00", u(2013, 1, 14, 10, 0, 0, 0), u(2013, 1, 14, 10, 1, 0, 0)},
		{"2013-01-14T10:00Z", u(2013, 1, 14, 10, 0, 0, 0), u(2013, 1, 14, 10, 1, 0, 0)},
		{"2013-01-14T10:00:05", u(2013, 1, 14, 10, 0, 5, 0), u(2013, 1, 14, 10, 0, 6, 0)},
		{"2013-01-14T10:00:05.1Z", u(2013, 1, 14, 10, 0, 5, 100e6), u(2013, 1, 14, 10, 0, 5, 200e6)},
		{"2013-01-14T10:00:05.123456789Z", u(2013, 1, 14, 10, 0, 5, 123456789), u(2013, 1, 14, 10, 0, 5, 123456790)},
		// Digits past nanoseconds cannot be kept.
		{"2013-01-14T10:00:05.1234567891Z", u(2013, 1, 14, 10, 0, 5, 123456789), u(2013, 1, 14, 10, 0, 5, 123456790)},
		{"2013-01-14T10:00:00+10:00", u(2013, 1, 14, 0, 0, 0, 0), u(2013, 1, 14, 0, 0, 1, 0)},
		{"2013-01-14T01:30:00-03:30", u(2013, 1, 14, 5, 0, 0, 0), u(2013, 1, 14, 5, 0, 1, 0)},
		{"2015-06-30T23:59:60Z", u(2015, 7, 1, 0, 0, 0, 0), u(2015, 7, 1, 0, 0, 1, 0)},
		{"9999-12-31", u(9999, 12, 31, 0, 0, 0, 0), u(10000, 1, 1, 0, 0, 0, 0)},
		{"0001", u(1, 1, 1, 0, 0, 0, 0), u(2, 1, 1, 0, 0, 0, 0)},
	} {
		t.Run(tt.in, func(t *testing.T) {
			lo, hi, err := DateRange(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !lo.Equal(tt.lo) || !hi.Equal(tt.hi) || lo.Location() != time.UTC || hi.Location() != time.UTC {
				t.Errorf("got [%v, %v), want [%v, %v)", lo, hi, tt.lo, tt.hi)
			}
		})
	}
}

func TestDateRangeErrors(t *testing.T) {
	for _, tt := range []struct{ in, why string }{
		{"", "want YYYY"},
		{"201", "want YYYY"},
		{"20130", "want YYYY"},
		{"0000", "year 0000"},
		{"2013-1", "want YYYY"},
		{"2013-00", "month"},
		{"2013-13", "month"},
		{"2013-02-29", "day must be 01 to 28"},
		{"2013-04-31", "day must be 01 to 30"},
		{"2013-01-14T", "want YYYY"},
		{"2013-01-14T10", "want YYYY"},
		{"2013-01-14T24:00", "time"},
		{"2013-01-14T10:60", "time"},
		{"2013-01-14T10:00:61", "seconds"},
		{"2013-01-14T10:00:00.", "digits"},
		{"2013-01-14T10:00:00+1:00", "time zone"},
		{"2013-01-14T10:00:00+15:00", "time zone offset"},
		{"2013-01-14T10:00:00+10:60", "time zone offset"},
		{"2013-01-14T10:00:00Z ", "want YYYY"},
		{"2013-01-14Z", "want YYYY"},
		{"2013-01-14 10:00", "want YYYY"},
		{"2013-01-14t10:00", "want YYYY"},
		{"２０１３", "want YYYY"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			_, _, err := DateRange(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("got %v, want an error about %q", err, tt.why)
			}
		})
	}
}
