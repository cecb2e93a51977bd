package rest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hce-fhir/hce/fhir"
)

// FuzzHeaders feeds arbitrary header values to the request header parsers:
// none may panic, ETags parse to positive versions or fail as ErrInvalid,
// and negotiation picks a JSON type or fails with 406.
func FuzzHeaders(f *testing.F) {
	for _, s := range []string{`W/"3"`, `"1"`, `*`, `application/fhir+json;q=0.9, */*`, `return=minimal; handling=strict`, `W/"-1"`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if n, err := parseETag("If-Match", v); err == nil && n < 1 {
			t.Fatalf("%q parsed to version %d", v, n)
		} else if err != nil && !errors.Is(err, fhir.ErrInvalid) {
			t.Fatalf("%q: error %v is not ErrInvalid", v, err)
		}
		r := httptest.NewRequest(http.MethodGet, "/fhir/Patient", nil)
		r.Header.Set("Accept", v)
		r.Header.Set("Prefer", v)
		switch preferReturn(r) {
		case "minimal", "representation", "OperationOutcome":
		default:
			t.Fatalf("Prefer %q gave return=%q", v, preferReturn(r))
		}
		_ = preferHandling(r)
		mt, err := responseType(r)
		if err == nil && mt != mimeFHIRJSON && mt != mimeJSON {
			t.Fatalf("Accept %q negotiated %q", v, mt)
		}
	})
}
