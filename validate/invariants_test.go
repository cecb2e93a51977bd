package validate

import (
	"testing"
)

// invariantCases give, per checked invariant, a resource that holds it and
// one that breaks it, with the element the issue must name.
var invariantCases = []struct {
	key, holds, breaks, expr string
}{
	{"ait-1", `{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/1"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]}}`,
		`{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/1"}}`, "AllergyIntolerance"},
	{"ait-2", `{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/1"},"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"entered-in-error"}]}}`,
		`{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/1"},"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"entered-in-error"}]},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]}}`, "AllergyIntolerance"},
	{"app-1", `{"resourceType":"Appointment","status":"proposed","participant":[{"actor":{"reference":"Patient/1"},"status":"accepted"}]}`,
		`{"resourceType":"Appointment","status":"proposed","participant":[{"required":"required","status":"accepted"}]}`, "Appointment.participant[0]"},
	{"app-2", `{"resourceType":"Appointment","status":"booked","start":"2020-01-01T10:00:00Z","end":"2020-01-01T10:30:00Z","participant":[{"actor":{"reference":"Patient/1"},"status":"accepted"}]}`,
		`{"resourceType":"Appointment","status":"booked","start":"2020-01-01T10:00:00Z","participant":[{"actor":{"reference":"Patient/1"},"status":"accepted"}]}`, "Appointment"},
	{"bdl-1", `{"resourceType":"Bundle","type":"searchset","total":1}`, `{"resourceType":"Bundle","type":"collection","total":1}`, "Bundle"},
	{"bdl-2", `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient"},"search":{"mode":"match"}}]}`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"},"search":{"mode":"match"}}]}`, "Bundle"},
	{"bdl-5", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}}]}`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520"}]}`, "Bundle.entry[0]"},
	{"con-5", `{"resourceType":"Condition","subject":{"reference":"Patient/1"},"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"entered-in-error"}]}}`,
		`{"resourceType":"Condition","subject":{"reference":"Patient/1"},"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"entered-in-error"}]},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]}}`, "Condition"},
	{"fhs-1", `{"resourceType":"FamilyMemberHistory","status":"completed","patient":{"reference":"Patient/1"},"relationship":{"text":"mother"},"bornDate":"1950"}`,
		`{"resourceType":"FamilyMemberHistory","status":"completed","patient":{"reference":"Patient/1"},"relationship":{"text":"mother"},"bornDate":"1950","ageString":"70"}`, "FamilyMemberHistory"},
	{"inv-1", `{"resourceType":"Parameters","parameter":[{"name":"a","valueString":"x"},{"name":"b","part":[{"name":"c","valueBoolean":true}]}]}`,
		`{"resourceType":"Parameters","parameter":[{"name":"a","valueString":"x","part":[{"name":"c","valueBoolean":true}]}]}`, "Parameters.parameter[0]"},
	{"lst-1", `{"resourceType":"List","status":"current","mode":"working","emptyReason":{"text":"none"}}`,
		`{"resourceType":"List","status":"current","mode":"working","emptyReason":{"text":"none"},"entry":[{"item":{"reference":"Patient/1"}}]}`, "List"},
	{"obs-3", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"referenceRange":[{"text":"normal"}]}`,
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"referenceRange":[{"type":{"text":"normal"}}]}`, "Observation.referenceRange[0]"},
	{"obs-6", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"dataAbsentReason":{"text":"unknown"}}`,
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"a","dataAbsentReason":{"text":"unknown"}}`, "Observation"},
	{"obs-7", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1"}]},"valueString":"a","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"2"}]},"valueString":"b"}]}`,
		`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1"}]},"valueString":"a","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"1"}]},"valueString":"b"}]}`, "Observation"},
	{"pat-1", `{"resourceType":"Patient","contact":[{"name":{"text":"a"}}]}`, `{"resourceType":"Patient","contact":[{"gender":"male"}]}`, "Patient.contact[0]"},
	{"per-1", `{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"period":{"start":"2020-01-01T10:00:00Z","end":"2020-01-01T11:00:00Z"}}`,
		`{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"period":{"start":"2020-01-02","end":"2020-01-01"}}`, "Encounter.period"},
	{"qty-3", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1,"system":"http://unitsofmeasure.org","code":"mg"}}`,
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1,"code":"mg"}}`, "Observation.value.ofType(Quantity)"},
}

func TestInvariants(t *testing.T) {
	v := New(Options{})
	covered := map[string]bool{}
	for _, tc := range invariantCases {
		covered[tc.key] = true
		t.Run(tc.key, func(t *testing.T) {
			if issues := v.Check([]byte(tc.holds)); len(issues) > 0 {
				t.Errorf("a resource that holds %s is rejected: %+v", tc.key, issues)
			}
			issues := v.Check([]byte(tc.breaks))
			found := false
			for _, is := range issues {
				if is.Code == "invariant" && len(is.Expression) == 1 && is.Expression[0] == tc.expr && len(is.Diagnostics) > len(tc.key) && is.Diagnostics[:len(tc.key)] == tc.key {
					found = true
				}
			}
			if !found {
				t.Errorf("want a %s issue at %s, got %+v", tc.key, tc.expr, issues)
			}
		})
	}
	for _, key := range Invariants() {
		if !covered[key] {
			t.Errorf("invariant %s has no test case", key)
		}
	}
}

// TestPeriodPrecision checks per-1 across precisions: a Period breaks it
// only when its start begins after its end is over.
func TestPeriodPrecision(t *testing.T) {
	v := New(Options{})
	for _, tt := range []struct {
		start, end string
		breaks     bool
	}{
		{"2020-01", "2020-01-15", false},                   // the month holds the day
		{"2020-01-15", "2020-01-15", false},                // one day
		{"2020-01-15T10:00:00Z", "2020-01-15", false},      // within the day
		{"2020-02", "2020-01-15", true},                    // starts after
		{"2020-01-16T00:00:00+01:00", "2020-01-15", false}, // 23:00 UTC on the 15th
		{"2020-01-16T00:00:00Z", "2020-01-15", true},
	} {
		body := `{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"period":{"start":"` + tt.start + `","end":"` + tt.end + `"}}`
		broke := false
		for _, is := range v.Check([]byte(body)) {
			broke = broke || is.Code == "invariant"
		}
		if broke != tt.breaks {
			t.Errorf("start %s, end %s: per-1 broken %v, want %v", tt.start, tt.end, broke, tt.breaks)
		}
	}
}
