package rest

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/fhir"
)

func TestExportPrefer(t *testing.T) {
	for _, tc := range []struct {
		headers        []string
		async, lenient bool
	}{
		{nil, false, false},
		{[]string{"respond-async"}, true, false},
		{[]string{"respond-async, handling=lenient"}, true, true},
		{[]string{"handling=\"lenient\"; respond-async"}, true, true},
		{[]string{"return=minimal", "Respond-Async"}, true, false},
		{[]string{"handling=strict"}, false, false},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/fhir/$export", nil)
		for _, h := range tc.headers {
			r.Header.Add("Prefer", h)
		}
		if a, l := exportPrefer(r); a != tc.async || l != tc.lenient {
			t.Errorf("Prefer %q: async %v lenient %v, want %v %v", tc.headers, a, l, tc.async, tc.lenient)
		}
	}
}

// FuzzExportParams fuzzes the two parsers of kick-off input: the
// Parameters body and the _typeFilter values. Bad input is an ErrInvalid,
// never a panic or another error.
func FuzzExportParams(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/1"}},{"name":"_type","valueString":"Observation"}]}`,
		`{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{}}]}`,
		`{"resourceType":"Parameters","parameter":[{"name":"_typeFilter","valueString":"Observation?code=1,2&date=gt2020"}]}`,
		`{"resourceType":"Patient"}`, `[]`, ``,
	} {
		f.Add([]byte(s), "Observation?code=http://loinc.org|1234-5")
	}
	f.Add([]byte(`{}`), "Observation?_count=1")
	f.Add([]byte(`{}`), "Patient?")
	f.Fuzz(func(t *testing.T, body []byte, filter string) {
		got, err := exportBody(body)
		if err != nil && (!errors.Is(err, fhir.ErrInvalid) || got != nil) {
			t.Fatalf("%q: %v, %v; want only an ErrInvalid", body, got, err)
		}
		filters, err := typeFilters([]string{filter}, nil)
		if err != nil {
			if !errors.Is(err, fhir.ErrInvalid) || filters != nil {
				t.Fatalf("_typeFilter %q: %v, %v; want only an ErrInvalid", filter, filters, err)
			}
			return
		}
		typ, _, _ := strings.Cut(filter, "?")
		if len(filters[typ]) != 1 {
			t.Fatalf("_typeFilter %q accepted as %v", filter, filters)
		}
	})
}
