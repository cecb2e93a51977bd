package rest

import (
	"errors"
	"net/url"
	"reflect"
	"testing"

	"github.com/hce-fhir/hce/fhir"
)

func TestParametersValues(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       url.Values // nil: an ErrInvalid
	}{
		{"empty", `{"resourceType":"Parameters"}`, url.Values{}},
		{"the $everything parameters", `{"resourceType":"Parameters","parameter":[
			{"name":"_since","valueInstant":"2024-01-02T03:04:05Z"},
			{"name":"_type","valueCode":"Observation"},{"name":"_type","valueString":"Condition,Encounter"},
			{"name":"_count","valueInteger":10}]}`,
			url.Values{"_since": {"2024-01-02T03:04:05Z"}, "_type": {"Observation", "Condition,Encounter"}, "_count": {"10"}}},
		{"decimal and boolean", `{"resourceType":"Parameters","parameter":[{"name":"a","valueDecimal":1.50},{"name":"b","valueBoolean":true}]}`,
			url.Values{"a": {"1.50"}, "b": {"true"}}},
		{"a resource parameter", `{"resourceType":"Parameters","parameter":[{"name":"x","resource":{"resourceType":"Patient"}}]}`, nil},
		{"a complex value", `{"resourceType":"Parameters","parameter":[{"name":"x","valueCoding":{"code":"c"}}]}`, nil},
		{"not Parameters", `{"resourceType":"Patient"}`, nil},
		{"a nameless parameter", `{"resourceType":"Parameters","parameter":[{"valueString":"x"}]}`, nil},
		// The values are checked where they are read, as query parameters are.
		{"a bad instant", `{"resourceType":"Parameters","parameter":[{"name":"_since","valueString":"yesterday"}]}`, url.Values{"_since": {"yesterday"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := operationBody([]byte(tt.body))
			if tt.want == nil {
				if !errors.Is(err, fhir.ErrInvalid) {
					t.Fatalf("got %v, %v; want an ErrInvalid", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// FuzzOperationBody feeds arbitrary bodies to the reader of an operation's
// Parameters: it must not panic, fail only with ErrInvalid, and give named
// parameters.
func FuzzOperationBody(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Parameters","parameter":[{"name":"_since","valueInstant":"2024-01-02T03:04:05Z"},{"name":"_count","valueInteger":3}]}`,
		`{"resourceType":"Parameters","parameter":[{"name":"_type","valueString":"Observation,Condition"},{"name":"x","part":[{"name":"y","valueBoolean":false}]}]}`,
		`{"resourceType":"Parameters","parameter":[{"name":"","valueDecimal":1e3}]}`,
		`{"resourceType":"Parameters","parameter":{}}`,
		`{"resourceType":"Patient"}`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := operationBody(body)
		if err != nil {
			if !errors.Is(err, fhir.ErrInvalid) || got != nil {
				t.Fatalf("%q: %v, %v; want only an ErrInvalid", body, got, err)
			}
			return
		}
		for name := range got {
			if name == "" {
				t.Fatalf("%q: a parameter without a name", body)
			}
		}
	})
}
