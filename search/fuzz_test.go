package search

import (
	"errors"
	"net/url"
	"testing"

	"github.com/hce-fhir/hce/fhir"
)

// fuzzTypes are the resource types the fuzzer searches; between them they
// have every parameter type, chains, composites and an untargeted reference.
var fuzzTypes = []string{"Patient", "Observation", "Encounter", "MolecularSequence", "RiskAssessment", "QuestionnaireResponse", "RequestGroup", "ValueSet"}

// FuzzParse parses arbitrary query strings. Parse must never panic; its
// errors must be ErrInvalid *fhir.Errors whose every issue names a
// parameter; a successful parse must have a canonical form that parses
// back to itself; and, parsed under small limits, it must keep within them.
func FuzzParse(f *testing.F) {
	for i, s := range []string{
		"name=Eve&name:exact=Mu%C3%B1oz,x%5C,y",
		"code=http://loinc.org%7C8480-6,%7Cabc&code:text=bp&code:not=x",
		"identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203%7CMR%7C446053",
		"date=ge2013-01-14T10:00:00.25%2B02:00&date=ap2000&_lastUpdated=gt2020",
		"probability=ap1e2&probability=lt-0.5,1.5e-3",
		"value-quantity=lt5.4%7Chttp://unitsofmeasure.org%7Cmg,5%7C%7Cmg",
		"subject:Patient=123&subject=http://x/fhir/Patient/1&subject:identifier=s%7Cv",
		"questionnaire=http://x/Questionnaire/q%7C2.0",
		"code-value-quantity=http://loinc.org%7C8480-6$gt100&chromosome-variant-coordinate=1$gt1$lt2",
		"subject.identifier=x&patient.organization.name=y&_has:Observation:patient:code=z",
		"_has:Observation:patient:_has:AuditEvent:entity:agent=u&subject:Patient._has:Condition:subject:code=x",
		"name:missing=true&_sort=-date,status&_count=0&_total=accurate&_summary=count&_elements=id,name",
		"_include=Observation:subject:Patient&_include:iterate=Patient:organization&_revinclude=Provenance:target&_include=*",
		"foo=bar&_since=2020&_cursor=abc&_format=json",
		"url:below=http://x/&_profile=http://p&_source=s",
		"instantiates-canonical:Questionnaire=q1",
		"a.b.c=1&subject.=1&_has:=1&:=&=",
		"code=a,b,c,d&_sort=date,-status,code&patient.organization.partof.name=x&_has:Observation:patient:_has:AuditEvent:entity:agent=u",
		"_include=Observation:subject&_include=Observation:encounter&_revinclude:iterate=Provenance:target&_include:iterate=Patient:organization",
	} {
		f.Add(uint8(i), s)
	}
	f.Fuzz(func(t *testing.T, n uint8, raw string) {
		typ := fuzzTypes[int(n)%len(fuzzTypes)]
		vals, _ := url.ParseQuery(raw) // keeps what parses
		opt := Options{Now: testNow, Strict: n >= 128}
		limited := n%2 == 1
		if limited {
			opt.Limits = fuzzLimits
		}
		q, err := Parse(typ, vals, opt)
		if err != nil {
			var fe *fhir.Error
			if !errors.As(err, &fe) || !errors.Is(err, fhir.ErrInvalid) || len(fe.Issues) == 0 || q != nil {
				t.Fatalf("Parse(%s?%s) = %v, %v: want an ErrInvalid *fhir.Error and no query", typ, raw, q, err)
			}
			for _, is := range fe.Issues {
				if is.Severity != "error" || len(is.Expression) != 1 || is.Diagnostics == "" {
					t.Fatalf("Parse(%s?%s): issue %+v does not name its parameter", typ, raw, is)
				}
			}
			return
		}
		if q == nil {
			t.Fatalf("Parse(%s?%s) returned neither query nor error", typ, raw)
		}
		assertCanonical(t, q, Options{Now: testNow})
		if limited {
			assertWithin(t, q, fuzzLimits)
		}
	})
}

// fuzzLimits are small enough for fuzzed queries to reach.
var fuzzLimits = Limits{Params: 5, Values: 3, SortKeys: 2, ChainDepth: 1, HasDepth: 1, Includes: 2, Iterate: 1}

// assertWithin fails unless q keeps within lim.
func assertWithin(t *testing.T, q *Query, lim Limits) {
	t.Helper()
	incs := append(append([]Include(nil), q.Includes...), q.RevIncludes...)
	iterate := 0
	for _, inc := range incs {
		if inc.Iterate {
			iterate++
		}
	}
	if len(q.Filters) > lim.Params || len(q.Sort) > lim.SortKeys || len(incs) > lim.Includes || iterate > lim.Iterate {
		t.Fatalf("%s: %d filters, %d sort keys, %d includes (%d iterate) exceed %+v", q, len(q.Filters), len(q.Sort), len(incs), iterate, lim)
	}
	for _, f := range q.Filters {
		forward, reverse := 0, 0
		for _, h := range f.Chain {
			if h.Reverse {
				reverse++
			} else {
				forward++
			}
		}
		if len(f.Values) > lim.Values || forward > lim.ChainDepth || reverse > lim.HasDepth {
			t.Fatalf("%s: filter %s has %d values, %d chained and %d _has hops; limits %+v", q, f.Name, len(f.Values), forward, reverse, lim)
		}
	}
}
