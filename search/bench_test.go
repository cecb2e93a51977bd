package search

import (
	"net/url"
	"testing"
)

// BenchmarkParse parses a typical patient-chart query: a patient, a coded
// observation, a date range, a sort, a page size and an include.
func BenchmarkParse(b *testing.B) {
	vals, err := url.ParseQuery("patient=Patient/123&code=http://loinc.org%7C8480-6,http://loinc.org%7C8462-4&date=ge2020-01-01&date=lt2021-01-01T00:00:00Z&value-quantity=gt100%7Chttp://unitsofmeasure.org%7Cmm%5BHg%5D&_sort=-date&_count=50&_include=Observation:patient")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		q, err := Parse("Observation", vals, Options{})
		if err != nil || len(q.Filters) != 5 {
			b.Fatal(q, err)
		}
	}
}

// BenchmarkParseChain parses a chained and a reverse-chained parameter.
func BenchmarkParseChain(b *testing.B) {
	vals, err := url.ParseQuery("general-practitioner:Practitioner.identifier=http://hospital.example/npi%7C12345&_has:Observation:patient:code=1234-5&name=Mu%C3%B1oz")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		q, err := Parse("Patient", vals, Options{})
		if err != nil || len(q.Filters) != 3 {
			b.Fatal(q, err)
		}
	}
}

// BenchmarkNormalizeString measures the string normalization that both the
// index and the queries go through.
func BenchmarkNormalizeString(b *testing.B) {
	for _, s := range []string{"peter", "Peter", "Muñoz Gutiérrez"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				NormalizeString(s)
			}
		})
	}
}
