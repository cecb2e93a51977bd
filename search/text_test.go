package search

import (
	"errors"
	"net/url"
	"testing"

	"github.com/hce-fhir/hce/fhir"
)

func TestParseRejectsNULAndInvalidUTF8(t *testing.T) {
	for _, raw := range []string{"name=a%00b", "name=a%FFb", "na%00me=x", "family=%C3"} {
		t.Run(raw, func(t *testing.T) {
			q, err := url.ParseQuery(raw)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse("Patient", q, Options{})
			var fe *fhir.Error
			if !errors.Is(err, fhir.ErrInvalid) || !errors.As(err, &fe) || len(fe.Issues) != 1 {
				t.Fatalf("err = %v, want one invalid issue", err)
			}
		})
	}
	q, _ := url.ParseQuery("name=Mu%C3%B1oz")
	if _, err := Parse("Patient", q, Options{}); err != nil {
		t.Fatalf("valid UTF-8 rejected: %v", err)
	}
}
