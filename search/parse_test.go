package search

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/fhir"
)

// mustParse parses "Type?query" with the test options.
func mustParse(t *testing.T, search string) *Query {
	t.Helper()
	q, err := parseSearch(search, Options{Now: testNow})
	if err != nil {
		t.Fatalf("Parse(%s): %v", search, err)
	}
	return q
}

func parseSearch(search string, opt Options) (*Query, error) {
	typ, raw, _ := strings.Cut(search, "?")
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, err
	}
	return Parse(typ, vals, opt)
}

// valuesTest is one query with a single filter and its expected values.
type valuesTest struct {
	search   string
	param    string // expected Param.Code
	modifier Modifier
	values   []Value
}

func runValues(t *testing.T, tests []valuesTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.search, func(t *testing.T) {
			q := mustParse(t, tt.search)
			if len(q.Filters) != 1 {
				t.Fatalf("got %d filters, want 1: %s", len(q.Filters), q)
			}
			f := q.Filters[0]
			if f.Param.Code != tt.param || f.Modifier != tt.modifier {
				t.Errorf("param %s:%s, want %s:%s", f.Param.Code, f.Modifier, tt.param, tt.modifier)
			}
			if !reflect.DeepEqual(f.Values, tt.values) {
				t.Errorf("values\n got %#v\nwant %#v", f.Values, tt.values)
			}
		})
	}
}

func TestStringValues(t *testing.T) {
	runValues(t, []valuesTest{
		{"Patient?name=Eve", "name", ModNone, []Value{String{"Eve", "eve"}}},
		{"Patient?name:exact=Mu%C3%B1oz", "name", ModExact, []Value{String{"Muñoz", "munoz"}}},
		{"Patient?name:contains=%C3%89ve", "name", ModContains, []Value{String{"Éve", "eve"}}},
		{`Patient?family=O%5C,Brien,Smith`, "family", ModNone, []Value{String{"O,Brien", "o,brien"}, String{"Smith", "smith"}}},
		{`Patient?family=a%5C%5Cb,c%5Cd`, "family", ModNone, []Value{String{`a\b`, `a\b`}, String{`c\d`, `c\d`}}},
		{"Patient?given=a,,b", "given", ModNone, []Value{String{"a", "a"}, String{"b", "b"}}},
	})
}

func TestTokenValues(t *testing.T) {
	runValues(t, []valuesTest{
		{"Observation?code=1234-5", "code", ModNone, []Value{Token{Code: "1234-5"}}},
		{"Observation?code=http://loinc.org%7C1234-5", "code", ModNone, []Value{Token{System: "http://loinc.org", HasSystem: true, Code: "1234-5"}}},
		{"Observation?code=%7C1234-5", "code", ModNone, []Value{Token{HasSystem: true, Code: "1234-5"}}},
		{"Observation?code=http://loinc.org%7C", "code", ModNone, []Value{Token{System: "http://loinc.org", HasSystem: true}}},
		{"Observation?code=a%5C%7Cb,c", "code", ModNone, []Value{Token{Code: "a|b"}, Token{Code: "c"}}},
		{"Observation?code:not=x", "code", ModNot, []Value{Token{Code: "x"}}},
		{"Observation?code:text=Blood%20Pr%C3%A9ssure", "code", ModText, []Value{String{"Blood Préssure", "blood pressure"}}},
		{"Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203%7CMR%7C446053", "identifier", ModOfType,
			[]Value{Token{TypeSystem: "http://terminology.hl7.org/CodeSystem/v2-0203", TypeCode: "MR", Code: "446053"}}},
		{"Patient?_id=example", "_id", ModNone, []Value{Token{Code: "example"}}},
		{"Patient?active=true", "active", ModNone, []Value{Token{Code: "true"}}},
		{"Patient?_tag=http://example.org/tags%7Cvip", "_tag", ModNone, []Value{Token{System: "http://example.org/tags", HasSystem: true, Code: "vip"}}},
		{"Patient?_security=R", "_security", ModNone, []Value{Token{Code: "R"}}},
	})
}

func TestDateValues(t *testing.T) {
	d := func(y, mo, da, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), da, h, mi, s, ns, time.UTC)
	}
	runValues(t, []valuesTest{
		{"Patient?birthdate=2013", "birthdate", ModNone, []Value{Date{Eq, "2013", d(2013, 1, 1, 0, 0, 0, 0), d(2014, 1, 1, 0, 0, 0, 0)}}},
		{"Patient?birthdate=lt2013-02", "birthdate", ModNone, []Value{Date{Lt, "2013-02", d(2013, 2, 1, 0, 0, 0, 0), d(2013, 3, 1, 0, 0, 0, 0)}}},
		{"Patient?birthdate=ge2012-02-29", "birthdate", ModNone, []Value{Date{Ge, "2012-02-29", d(2012, 2, 29, 0, 0, 0, 0), d(2012, 3, 1, 0, 0, 0, 0)}}},
		{"Observation?date=gt2013-01-14T10:00", "date", ModNone, []Value{Date{Gt, "2013-01-14T10:00", d(2013, 1, 14, 10, 0, 0, 0), d(2013, 1, 14, 10, 1, 0, 0)}}},
		{"Observation?date=le2013-01-14T10:00:00Z", "date", ModNone, []Value{Date{Le, "2013-01-14T10:00:00Z", d(2013, 1, 14, 10, 0, 0, 0), d(2013, 1, 14, 10, 0, 1, 0)}}},
		{"Observation?date=2013-01-14T10:00:00.25%2B02:00", "date", ModNone,
			[]Value{Date{Eq, "2013-01-14T10:00:00.25+02:00", d(2013, 1, 14, 8, 0, 0, 250e6), d(2013, 1, 14, 8, 0, 0, 260e6)}}},
		// An unencoded '+' arrives as a space.
		{"Observation?date=2013-01-14T10:00:00+02:00", "date", ModNone,
			[]Value{Date{Eq, "2013-01-14T10:00:00+02:00", d(2013, 1, 14, 8, 0, 0, 0), d(2013, 1, 14, 8, 0, 1, 0)}}},
		{"Observation?date=ne2013-01-14T23:30:00-05:00", "date", ModNone,
			[]Value{Date{Ne, "2013-01-14T23:30:00-05:00", d(2013, 1, 15, 4, 30, 0, 0), d(2013, 1, 15, 4, 30, 1, 0)}}},
		{"Observation?date=sa2020,eb2010", "date", ModNone, []Value{
			Date{Sa, "2020", d(2020, 1, 1, 0, 0, 0, 0), d(2021, 1, 1, 0, 0, 0, 0)},
			Date{Eb, "2010", d(2010, 1, 1, 0, 0, 0, 0), d(2011, 1, 1, 0, 0, 0, 0)},
		}},
		// testNow is 2025-01-01: 2015 ends nine years (3288 days) earlier, so
		// each side widens by 328.8 days.
		{"Observation?date=ap2015", "date", ModNone, []Value{Date{Ap, "2015", d(2015, 1, 1, 0, 0, 0, 0).Add(-(3288 * 24 * time.Hour / 10)), d(2016, 1, 1, 0, 0, 0, 0).Add(3288 * 24 * time.Hour / 10)}}},
		// Around now, ap keeps the range as it is.
		{"Observation?date=ap2025-01", "date", ModNone, []Value{Date{Ap, "2025-01", d(2025, 1, 1, 0, 0, 0, 0), d(2025, 2, 1, 0, 0, 0, 0)}}},
		{"Observation?_lastUpdated=gt2024-06-01T12:30:00Z", "_lastUpdated", ModNone, []Value{Date{Gt, "2024-06-01T12:30:00Z", d(2024, 6, 1, 12, 30, 0, 0), d(2024, 6, 1, 12, 30, 1, 0)}}},
	})
}

func TestNumberValues(t *testing.T) {
	runValues(t, []valuesTest{
		{"RiskAssessment?probability=100", "probability", ModNone, []Value{Number{Eq, "100", "100", "99.5", "100.5"}}},
		{"RiskAssessment?probability=100.00", "probability", ModNone, []Value{Number{Eq, "100.00", "100.00", "99.995", "100.005"}}},
		{"RiskAssessment?probability=1e2", "probability", ModNone, []Value{Number{Eq, "1e2", "100", "50", "150"}}},
		{"RiskAssessment?probability=gt-5", "probability", ModNone, []Value{Number{Gt, "-5", "-5", "-5.5", "-4.5"}}},
		{"RiskAssessment?probability=lt0.001", "probability", ModNone, []Value{Number{Lt, "0.001", "0.001", "0.0005", "0.0015"}}},
		{"RiskAssessment?probability=1.5E-3", "probability", ModNone, []Value{Number{Eq, "1.5E-3", "0.0015", "0.00145", "0.00155"}}},
		{"RiskAssessment?probability=0", "probability", ModNone, []Value{Number{Eq, "0", "0", "-0.5", "0.5"}}},
		{"RiskAssessment?probability=ap100", "probability", ModNone, []Value{Number{Ap, "100", "100", "90", "110"}}},
		// 10% of 1 is narrower than the precision of 1, which wins.
		{"RiskAssessment?probability=ap1", "probability", ModNone, []Value{Number{Ap, "1", "1", "0.5", "1.5"}}},
		{"RiskAssessment?probability=ap-20", "probability", ModNone, []Value{Number{Ap, "-20", "-20", "-22", "-18"}}},
		{"RiskAssessment?probability=123456789012345678901234567890.5", "probability", ModNone,
			[]Value{Number{Eq, "123456789012345678901234567890.5", "123456789012345678901234567890.5", "123456789012345678901234567890.45", "123456789012345678901234567890.55"}}},
	})
}

func TestQuantityValues(t *testing.T) {
	n := func(p Prefix, s string) Number {
		v, err := newNumber(p, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	runValues(t, []valuesTest{
		{"Observation?value-quantity=5.4%7Chttp://unitsofmeasure.org%7Cmg", "value-quantity", ModNone,
			[]Value{Quantity{Number{Eq, "5.4", "5.4", "5.35", "5.45"}, "http://unitsofmeasure.org", "mg"}}},
		{"Observation?value-quantity=5.4%7C%7Cmg", "value-quantity", ModNone, []Value{Quantity{n(Eq, "5.4"), "", "mg"}}},
		{"Observation?value-quantity=le5.4", "value-quantity", ModNone, []Value{Quantity{n(Le, "5.4"), "", ""}}},
		{"Observation?value-quantity=ap10%7Chttp://unitsofmeasure.org%7Cmm%5BHg%5D", "value-quantity", ModNone,
			[]Value{Quantity{Number{Ap, "10", "10", "9", "11"}, "http://unitsofmeasure.org", "mm[Hg]"}}},
	})
}

func TestReferenceValues(t *testing.T) {
	runValues(t, []valuesTest{
		{"Observation?subject=Patient/123", "subject", ModNone, []Value{Reference{Type: "Patient", ID: "123"}}},
		{"Observation?subject=123", "subject", ModNone, []Value{Reference{ID: "123"}}},
		// patient has one target type, so a bare id names it.
		{"Observation?patient=123", "patient", ModNone, []Value{Reference{Type: "Patient", ID: "123"}}},
		{"Observation?subject:Patient=123,Patient/456", "subject", ModNone, []Value{Reference{Type: "Patient", ID: "123"}, Reference{Type: "Patient", ID: "456"}}},
		{"Observation?subject=Patient/123/_history/2", "subject", ModNone, []Value{Reference{Type: "Patient", ID: "123"}}},
		{"Observation?subject=http://example.org/fhir/Patient/123", "subject", ModNone,
			[]Value{Reference{Type: "Patient", ID: "123", URL: "http://example.org/fhir/Patient/123"}}},
		{"Observation?subject=urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "subject", ModNone,
			[]Value{Reference{URL: "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}}},
		{"QuestionnaireResponse?questionnaire=http://example.org/Questionnaire/phq9%7C2.0", "questionnaire", ModNone,
			[]Value{Reference{URL: "http://example.org/Questionnaire/phq9", Version: "2.0"}}},
		{"Observation?subject:identifier=http://hospital.example/mrn%7C12345", "subject", ModIdentifier,
			[]Value{Token{System: "http://hospital.example/mrn", HasSystem: true, Code: "12345"}}},
		// RequestGroup.instantiates-canonical may point at any type.
		{"RequestGroup?instantiates-canonical=Questionnaire/q1", "instantiates-canonical", ModNone, []Value{Reference{Type: "Questionnaire", ID: "q1"}}},
	})
}

func TestURIValues(t *testing.T) {
	runValues(t, []valuesTest{
		{"ValueSet?url=http://example.org/fhir/ValueSet/x", "url", ModNone, []Value{URI{"http://example.org/fhir/ValueSet/x"}}},
		{"ValueSet?url:below=http://example.org/fhir/", "url", ModBelow, []Value{URI{"http://example.org/fhir/"}}},
		{"ValueSet?url:above=http://example.org/fhir/ValueSet/x/y", "url", ModAbove, []Value{URI{"http://example.org/fhir/ValueSet/x/y"}}},
		{"Patient?_profile=http://hl7.org/fhir/StructureDefinition/vitalsigns", "_profile", ModNone, []Value{URI{"http://hl7.org/fhir/StructureDefinition/vitalsigns"}}},
		{"Patient?_source=http://example.org/src%23a", "_source", ModNone, []Value{URI{"http://example.org/src#a"}}},
	})
}

func TestCompositeValues(t *testing.T) {
	loinc := func(code string) Token { return Token{System: "http://loinc.org", HasSystem: true, Code: code} }
	runValues(t, []valuesTest{
		{"Observation?code-value-quantity=http://loinc.org%7C8480-6$gt100%7Chttp://unitsofmeasure.org%7Cmm%5BHg%5D", "code-value-quantity", ModNone,
			[]Value{Composite{[]Value{loinc("8480-6"), Quantity{Number{Gt, "100", "100", "99.5", "100.5"}, "http://unitsofmeasure.org", "mm[Hg]"}}}}},
		{"Observation?code-value-date=http://loinc.org%7C1234-5$ge2013", "code-value-date", ModNone,
			[]Value{Composite{[]Value{loinc("1234-5"), Date{Ge, "2013", time.Date(2013, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)}}}}},
		{"Observation?code-value-string=1234-5$foo%5C$bar", "code-value-string", ModNone,
			[]Value{Composite{[]Value{Token{Code: "1234-5"}, String{"foo$bar", "foo$bar"}}}}},
		{"Observation?code-value-concept=http://loinc.org%7C1234-5$http://snomed.info/sct%7C260385009", "code-value-concept", ModNone,
			[]Value{Composite{[]Value{loinc("1234-5"), Token{System: "http://snomed.info/sct", HasSystem: true, Code: "260385009"}}}}},
		{"MolecularSequence?chromosome-variant-coordinate=1$gt123$lt456", "chromosome-variant-coordinate", ModNone,
			[]Value{Composite{[]Value{Token{Code: "1"}, Number{Gt, "123", "123", "122.5", "123.5"}, Number{Lt, "456", "456", "455.5", "456.5"}}}}},
	})
}

func TestMissing(t *testing.T) {
	for _, tt := range []struct {
		search string
		want   bool
	}{
		{"Patient?name:missing=true", true},
		{"Patient?birthdate:missing=false", false},
		{"Observation?subject:missing=true", true},
		{"Observation?code-value-quantity:missing=false", false},
		{"Observation?value-quantity:missing=true", true},
		{"ValueSet?url:missing=true", true},
		{"RiskAssessment?probability:missing=false", false},
		{"Observation?code:missing=true", true},
	} {
		t.Run(tt.search, func(t *testing.T) {
			q := mustParse(t, tt.search)
			if len(q.Filters) != 1 {
				t.Fatalf("got %d filters", len(q.Filters))
			}
			f := q.Filters[0]
			if f.Modifier != ModMissing || f.Missing != tt.want || len(f.Values) != 0 {
				t.Errorf("got modifier %q missing %v values %v", f.Modifier, f.Missing, f.Values)
			}
		})
	}
}

func TestAndOr(t *testing.T) {
	q := mustParse(t, "Patient?given=a,b&given=c&family=d")
	var got [][]string
	for _, f := range q.Filters {
		var or []string
		for _, v := range f.Values {
			or = append(or, f.Param.Code+"="+v.String())
		}
		got = append(got, or)
	}
	want := [][]string{{"family=d"}, {"given=a", "given=b"}, {"given=c"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestChains(t *testing.T) {
	type hop struct {
		reverse bool
		param   string
		types   string
	}
	for _, tt := range []struct {
		search string
		hops   []hop
		param  string
		mod    Modifier
	}{
		{"Observation?subject:Patient.name=peter", []hop{{false, "subject", "Patient"}}, "name", ModNone},
		{"Observation?patient.name:exact=Peter", []hop{{false, "patient", "Patient"}}, "name", ModExact},
		{"Observation?subject.identifier=x", []hop{{false, "subject", "Device,Group,Location,Patient"}}, "identifier", ModNone},
		// Only Patient, of subject's targets, has birthdate.
		{"Observation?subject.birthdate=2000", []hop{{false, "subject", "Patient"}}, "birthdate", ModNone},
		{"Observation?patient.organization.name=Acme", []hop{{false, "patient", "Patient"}, {false, "organization", "Organization"}}, "name", ModNone},
		{"Encounter?subject:Patient.general-practitioner:Practitioner.name=Smith",
			[]hop{{false, "subject", "Patient"}, {false, "general-practitioner", "Practitioner"}}, "name", ModNone},
		{"Patient?_has:Observation:patient:code=1234", []hop{{true, "patient", "Observation"}}, "code", ModNone},
		{"Patient?_has:Observation:patient:_has:AuditEvent:entity:agent=u1",
			[]hop{{true, "patient", "Observation"}, {true, "entity", "AuditEvent"}}, "agent", ModNone},
		{"Patient?_has:Observation:subject:code:missing=true", []hop{{true, "subject", "Observation"}}, "code", ModMissing},
		{"Observation?subject:Patient._has:Condition:subject:code=x",
			[]hop{{false, "subject", "Patient"}, {true, "subject", "Condition"}}, "code", ModNone},
		{"Encounter?_has:Observation:encounter:subject:Patient.name=x",
			[]hop{{true, "encounter", "Observation"}, {false, "subject", "Patient"}}, "name", ModNone},
	} {
		t.Run(tt.search, func(t *testing.T) {
			q := mustParse(t, tt.search)
			if len(q.Filters) != 1 {
				t.Fatalf("got %d filters, warnings %v", len(q.Filters), q.Warnings)
			}
			f := q.Filters[0]
			var got []hop
			for _, h := range f.Chain {
				got = append(got, hop{h.Reverse, h.Param.Code, strings.Join(h.Types, ",")})
			}
			if !reflect.DeepEqual(got, tt.hops) || f.Param.Code != tt.param || f.Modifier != tt.mod {
				t.Errorf("got %v %s:%s, want %v %s:%s", got, f.Param.Code, f.Modifier, tt.hops, tt.param, tt.mod)
			}
		})
	}
}

func TestResultParameters(t *testing.T) {
	q := mustParse(t, "Observation?_sort=-date,status&_sort=_id&_count=0&_total=accurate&_summary=count&_elements=code,subject,code&_cursor=abc&_format=json&_pretty=true")
	var sorts []string
	for _, s := range q.Sort {
		if s.Desc {
			sorts = append(sorts, "-"+s.Param.Code)
		} else {
			sorts = append(sorts, s.Param.Code)
		}
	}
	if got := strings.Join(sorts, ","); got != "-date,status,_id" {
		t.Errorf("sort %s", got)
	}
	if q.Count != 0 || q.Total != TotalAccurate || q.Summary != SummaryCount || q.Cursor != "abc" {
		t.Errorf("count %d total %q summary %q cursor %q", q.Count, q.Total, q.Summary, q.Cursor)
	}
	if !reflect.DeepEqual(q.Elements, []string{"code", "subject"}) {
		t.Errorf("elements %v", q.Elements)
	}
	if len(q.Filters) != 0 || len(q.Warnings) != 0 {
		t.Errorf("filters %v warnings %v", q.Filters, q.Warnings)
	}
}

func TestCount(t *testing.T) {
	for _, tt := range []struct {
		search       string
		opt          Options
		want         int
		wantWarnings int
	}{
		{"Patient?name=x", Options{}, DefaultCount, 0},
		{"Patient?name=x", Options{DefaultCount: 50}, 50, 0},
		{"Patient?name=x", Options{DefaultCount: 50, MaxCount: 10}, 10, 0},
		{"Patient?_count=7", Options{}, 7, 0},
		{"Patient?_count=0", Options{}, 0, 0},
		{"Patient?_count=", Options{DefaultCount: 5}, 5, 0},
		{"Patient?_count=5000", Options{}, MaxCount, 1},
		{"Patient?_count=101", Options{MaxCount: 100}, 100, 1},
		{"Patient?_count=99999999999999999999999", Options{}, MaxCount, 1},
	} {
		t.Run(tt.search, func(t *testing.T) {
			q, err := parseSearch(tt.search, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if q.Count != tt.want || len(q.Warnings) != tt.wantWarnings {
				t.Errorf("count %d warnings %v, want %d and %d warnings", q.Count, q.Warnings, tt.want, tt.wantWarnings)
			}
		})
	}
}

func TestIncludes(t *testing.T) {
	q := mustParse(t, "Observation?_include=Observation:subject:Patient&_include=Observation:subject:Patient&_include=*&_include:iterate=Patient:organization&_include=Observation:*&_revinclude=Provenance:target&_revinclude:iterate=Provenance:*")
	var inc, rev []string
	for _, i := range q.Includes {
		inc = append(inc, i.value()+map[bool]string{true: " iterate"}[i.Iterate])
	}
	for _, i := range q.RevIncludes {
		rev = append(rev, i.value()+map[bool]string{true: " iterate"}[i.Iterate])
	}
	wantInc := []string{"Observation:subject:Patient", "*", "Observation:*", "Patient:organization iterate"}
	wantRev := []string{"Provenance:target", "Provenance:* iterate"}
	if !reflect.DeepEqual(inc, wantInc) || !reflect.DeepEqual(rev, wantRev) {
		t.Errorf("includes %q revincludes %q, want %q %q", inc, rev, wantInc, wantRev)
	}
	if p := q.Includes[0]; p.Source != "Observation" || p.Param.Code != "subject" || p.Target != "Patient" {
		t.Errorf("first include %+v", p)
	}
	if p := q.Includes[1]; p.Source != "" || p.Param != nil {
		t.Errorf("wildcard include %+v", p)
	}
}

func TestErrors(t *testing.T) {
	for _, tt := range []struct {
		search string
		code   string // IssueType
		expr   string // the parameter named
		diag   string // part of the diagnostics
	}{
		{"Patient?birthdate=2013-13", "invalid", "birthdate", "month"},
		{"Patient?birthdate=2013-02-30", "invalid", "birthdate", "day"},
		{"Patient?birthdate=13-01-01", "invalid", "birthdate", "not a date"},
		{"Patient?birthdate=2013-01-01T10", "invalid", "birthdate", "not a date"},
		{"Patient?birthdate=2013-01-01T10:00%2B15:00", "invalid", "birthdate", "time zone"},
		{"Patient?birthdate=zz2013", "invalid", "birthdate", `unknown prefix "zz"`},
		{"Patient?birthdate=0000", "invalid", "birthdate", "year 0000"},
		{"RiskAssessment?probability=1.", "invalid", "probability", "not a number"},
		{"RiskAssessment?probability=.5", "invalid", "probability", "not a number"},
		{"RiskAssessment?probability=1e", "invalid", "probability", "not a number"},
		{"RiskAssessment?probability=1e1001", "invalid", "probability", "out of range"},
		{"RiskAssessment?probability=xx1", "invalid", "probability", "prefix"},
		{"Observation?value-quantity=5.4%7Cmg", "invalid", "value-quantity", "number|system|code"},
		{"Observation?value-quantity=abc%7C%7Cmg", "invalid", "value-quantity", "prefix"},
		{"Observation?value-quantity=1x%7C%7Cmg", "invalid", "value-quantity", "not a number"},
		{"Observation?code=a%7Cb%7Cc", "invalid", "code", "more than one '|'"},
		{"Observation?code=%7C", "invalid", "code", "neither a system nor a code"},
		{"Patient?identifier:of-type=MR%7C1", "invalid", "identifier:of-type", "type-system|type-code|value"},
		{"Observation?subject=Medication/1", "invalid", "subject", "not a target type"},
		{"Observation?subject:Patient=Group/1", "invalid", "subject:Patient", "contradicts"},
		{"Observation?subject:Medication=1", "invalid", "subject:Medication", "cannot refer to Medication"},
		{"Observation?subject=bad%20id", "invalid", "subject", "not a valid resource id"},
		{"Observation?subject=Patient/1%7C2", "invalid", "subject", "only a canonical URL"},
		{"Observation?code:below=x", "not-supported", "code:below", ":below is not supported"},
		{"Observation?code:in=http://x/vs", "not-supported", "code:in", ":in is not supported"},
		{"Observation?subject:above=Patient/1", "not-supported", "subject:above", ":above is not supported"},
		{"Patient?name:text=x", "invalid", "name:text", "unknown modifier :text for a string parameter"},
		{"Patient?birthdate:exact=2000", "invalid", "birthdate:exact", "unknown modifier"},
		{"Patient?gender:missing=yes", "invalid", "gender:missing", "true or false"},
		{"Observation?code-value-quantity=1234", "invalid", "code-value-quantity", "needs 2 components"},
		{"Observation?code-value-quantity=1234$abc", "invalid", "code-value-quantity", "component 2 (value-quantity)"},
		{"Observation?code.text=x", "invalid", "code.text", "cannot be chained"},
		{"Observation?subject:Foo.name=x", "invalid", "subject:Foo.name", "must be a resource type"},
		{"Observation?subject.=x", "invalid", "subject.", "ends with '.'"},
		{"Patient?_has:Observation:code:code=x", "invalid", "_has:Observation:code:code", "needs a reference"},
		{"Patient?_has:Observation:encounter:code=x", "invalid", "_has:Observation:encounter:code", "cannot refer to Patient"},
		{"Patient?_has:Observation:patient", "invalid", "_has:Observation:patient", "_has:Type:reference:parameter"},
		{"Patient?_has:Medication:ingredient:code=x", "invalid", "_has:Medication:ingredient:code", "cannot refer to Patient"},
		{"Observation?_sort=unknown", "invalid", "_sort", "cannot sort by"},
		{"Observation?_sort=subject.name", "invalid", "_sort", "cannot sort by"},
		{"Observation?_sort:desc=date", "invalid", "_sort:desc", "no modifier"},
		{"Observation?_count=-1", "invalid", "_count", "0 or more"},
		{"Observation?_count=1.5", "invalid", "_count", "0 or more"},
		{"Observation?_count=1&_count=2", "invalid", "_count", "once"},
		{"Observation?_total=all", "invalid", "_total", "none, estimate or accurate"},
		{"Observation?_summary=maybe", "invalid", "_summary", "true, text, data, count or false"},
		{"Observation?_elements=a%20b", "invalid", "_elements", "not an element name"},
		{"Observation?_include=Observation", "invalid", "_include", "Type:parameter"},
		{"Observation?_include=Foo:bar", "invalid", "_include", "not a resource type"},
		{"Observation?_include=Observation:nope", "invalid", "_include", "no search parameter"},
		{"Observation?_include=Observation:code", "invalid", "_include", "not a reference"},
		{"Observation?_include=Patient:organization", "invalid", "_include", "_include:iterate"},
		{"Observation?_include=Observation:*:Patient", "invalid", "_include", "wildcard"},
		{"Patient?_revinclude=Observation:encounter", "invalid", "_revinclude", "cannot refer to the searched Patient"},
		{"Observation?_include:all=Observation:subject", "invalid", "_include:all", "only :iterate"},
	} {
		t.Run(tt.search, func(t *testing.T) {
			q, err := parseSearch(tt.search, Options{Now: testNow})
			if err == nil {
				t.Fatalf("no error; got %s", q)
			}
			var fe *fhir.Error
			if !errors.As(err, &fe) || !errors.Is(err, fhir.ErrInvalid) {
				t.Fatalf("error %v (%T) is not an ErrInvalid *fhir.Error", err, err)
			}
			if q != nil {
				t.Errorf("got a query along with the error")
			}
			if len(fe.Issues) != 1 {
				t.Fatalf("got %d issues: %v", len(fe.Issues), fe.Issues)
			}
			is := fe.Issues[0]
			if is.Severity != "error" || is.Code != tt.code || !reflect.DeepEqual(is.Expression, []string{tt.expr}) || !strings.Contains(is.Diagnostics, tt.diag) {
				t.Errorf("issue %+v, want code %s, expression %s, diagnostics containing %q", is, tt.code, tt.expr, tt.diag)
			}
		})
	}
}

func TestSeveralErrors(t *testing.T) {
	_, err := parseSearch("Patient?birthdate=x&name:foo=y&_count=z", Options{})
	var fe *fhir.Error
	if !errors.As(err, &fe) {
		t.Fatalf("got %v", err)
	}
	var exprs []string
	for _, is := range fe.Issues {
		exprs = append(exprs, is.Expression...)
	}
	if want := []string{"_count", "birthdate", "name:foo"}; !reflect.DeepEqual(exprs, want) {
		t.Errorf("issues name %v, want %v", exprs, want)
	}
}

func TestUnknownParameters(t *testing.T) {
	const search = "Patient?foo=1&name=x&_text=cancer&_since=2020&_contained=true&_type=Patient&subject.name=x&_has:Observation:patient:nope=1"
	want := []string{"_contained", "_has:Observation:patient:nope", "_since", "_text", "_type", "foo", "subject.name"}
	t.Run("lenient", func(t *testing.T) {
		q := mustParse(t, search)
		var exprs []string
		for _, w := range q.Warnings {
			if w.Severity != "warning" || w.Code != "not-supported" || !strings.HasSuffix(w.Diagnostics, "; ignored") {
				t.Errorf("warning %+v", w)
			}
			exprs = append(exprs, w.Expression...)
		}
		if !reflect.DeepEqual(exprs, want) {
			t.Errorf("warnings name %v, want %v", exprs, want)
		}
		if len(q.Filters) != 1 || q.Filters[0].Param.Code != "name" {
			t.Errorf("filters %v", q.Filters)
		}
	})
	t.Run("strict", func(t *testing.T) {
		_, err := parseSearch(search, Options{Strict: true})
		var fe *fhir.Error
		if !errors.As(err, &fe) || !errors.Is(err, fhir.ErrInvalid) {
			t.Fatalf("got %v", err)
		}
		var exprs []string
		for _, is := range fe.Issues {
			if is.Severity != "error" || is.Code != "not-supported" || strings.Contains(is.Diagnostics, "ignored") {
				t.Errorf("issue %+v", is)
			}
			exprs = append(exprs, is.Expression...)
		}
		if !reflect.DeepEqual(exprs, want) {
			t.Errorf("errors name %v, want %v", exprs, want)
		}
	})
}

func TestEmptyValuesIgnored(t *testing.T) {
	q := mustParse(t, "Patient?name=&gender=,&birthdate=&_sort=&_total=&identifier:missing=")
	if len(q.Filters) != 0 || len(q.Sort) != 0 || q.Total != "" || len(q.Warnings) != 0 {
		t.Errorf("got %s with warnings %v", q, q.Warnings)
	}
}

func TestBadResourceType(t *testing.T) {
	for _, typ := range []string{"", "patient", "Foo", "Resource"} {
		q, err := Parse(typ, url.Values{}, Options{})
		if q != nil || !errors.Is(err, fhir.ErrInvalid) {
			t.Errorf("Parse(%q) = %v, %v; want ErrInvalid", typ, q, err)
		}
	}
}

func TestEncode(t *testing.T) {
	for _, tt := range []struct{ search, want string }{
		{"Patient?name=Eve", "Patient?name=Eve&_count=20"},
		{"Observation?subject:Patient=123&code=http://loinc.org%7C1,2", "Observation?code=http://loinc.org%7C1,2&subject=Patient/123&_count=20"},
		{"Observation?date=eq2013&value-quantity=gt5%7C%7Cmg", "Observation?date=2013&value-quantity=gt5%7C%7Cmg&_count=20"},
		{"Observation?patient.name=x&subject.identifier=y", "Observation?patient.name=x&subject.identifier=y&_count=20"},
		{"Observation?subject.birthdate=2000", "Observation?subject:Patient.birthdate=2000&_count=20"},
		{"Patient?family=a%5C,b%26c", "Patient?family=a%5C,b%26c&_count=20"},
		{"Observation?_include:recurse=Encounter:subject&_sort=-date&_count=5&_cursor=a%2Bb", "Observation?_include:iterate=Encounter:subject&_sort=-date&_count=5&_cursor=a%2Bb"},
	} {
		t.Run(tt.search, func(t *testing.T) {
			q := mustParse(t, tt.search)
			if got := q.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			assertCanonical(t, q, Options{Now: testNow})
		})
	}
}
