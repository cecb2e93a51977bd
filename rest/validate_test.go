package rest

import (
	"bytes"
	"errors"
	"net/http"
	"testing"

	"github.com/hce-fhir/hce/fhir"
)

// FuzzValidateInput feeds arbitrary $validate bodies to validateInput: it
// never fails, and what it returns as the resource is the body itself or a
// part of it.
func FuzzValidateInput(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient"}`,
		`{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient"}},{"name":"mode","valueCode":"update"}]}`,
		`{"resourceType":"Parameters","parameter":[{"name":"n","valueString":"x"}]}`,
		`{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"delete"}]}`,
		`{"resourceType":`, `[]`, ``,
	} {
		f.Add([]byte(s), "Patient")
	}
	f.Fuzz(func(t *testing.T, body []byte, typ string) {
		resource, _, err := validateInput(body, typ)
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if resource != nil && !bytes.Contains(body, bytes.TrimSpace(resource)) {
			t.Fatalf("%q: resource %q is not part of the body", body, resource)
		}
	})
}

// FuzzPreconditionHeaders feeds arbitrary If-Match, If-None-Match and
// If-None-Exist values to checkPreconditionHeaders: an error is always an
// ErrInvalid, and an empty header is always one.
func FuzzPreconditionHeaders(f *testing.F) {
	for _, s := range []string{`W/"3"`, `"1"`, `*`, `W/"1", W/"2"`, `identifier=http://x|1`, `%zz`, ``, ` `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, name := range []string{"If-Match", "If-None-Match", "If-None-Exist"} {
			err := checkPreconditionHeaders(http.Header{name: {v}})
			if err != nil && !errors.Is(err, fhir.ErrInvalid) {
				t.Fatalf("%s %q: %v is not ErrInvalid", name, v, err)
			}
			if v == "" && err == nil {
				t.Fatalf("an empty %s was accepted", name)
			}
		}
	})
}
