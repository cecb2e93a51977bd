package fhirpath

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// want is one expected output node: its Type and its value, given either as
// a JSON pointer into the fixture ("/component/0/valueQuantity"), which
// asserts that the node is exactly that element, or as JSON text.
type want struct {
	typ, val string
}

// Inline fixtures for cases the official examples do not cover.
const (
	deceasedPatient = `{"resourceType": "Patient", "id": "d", "deceasedDateTime": "2015-02-14T13:42:00+10:00"}`
	// One Observation whose performers exercise every form of reference.
	referencesObservation = `{
		"resourceType": "Observation", "id": "refs",
		"contained": [{"resourceType": "Practitioner", "id": "p1"}],
		"subject": {"reference": "urn:uuid:8f3f7a4c-1c3e-4d8b-9a55-0c2f9a7f0d11"},
		"performer": [
			{"reference": "Practitioner/a"},
			{"reference": "https://example.org/fhir/Practitioner/b"},
			{"reference": "Practitioner/c/_history/2"},
			{"reference": "#p1"},
			{"reference": "#missing"},
			{"reference": "Organization/o"},
			{"reference": "Practitioner?identifier=http://x|1"},
			{"identifier": {"system": "http://x", "value": "1"}},
			{"display": "no reference at all"}
		]
	}`
)

func TestEval(t *testing.T) {
	const (
		patient   = "Patient-example.json"
		twin      = "Patient-infant-twin-1.json"
		apgar     = "Observation-1minute-apgar-score.json"
		bp        = "Observation-blood-pressure.json"
		encounter = "Encounter-home.json"
		condition = "Condition-f202.json"
		bundle    = "Bundle-bundle-example.json"
	)
	tests := []struct {
		name, fixture, expr string
		want                []want
	}{
		// Paths, type roots, flattening.
		{"path", patient, "Patient.name", []want{{"", "/name/0"}, {"", "/name/1"}, {"", "/name/2"}}},
		{"arrays flatten", patient, "Patient.name.given",
			[]want{{"", `"Peter"`}, {"", `"James"`}, {"", `"Jim"`}, {"", `"Peter"`}, {"", `"James"`}}},
		{"other root type is empty", bp, "Patient.name.given", nil},
		{"intersect keeps common items once", patient, "Patient.name.given.intersect(Patient.name[0].given)",
			[]want{{"", `"Peter"`}, {"", `"James"`}}},
		{"intersect with nothing", patient, "Patient.name.given.intersect(Patient.gender)", nil},
		{"union across bases", patient, "Patient.gender | Observation.code", []want{{"", `"male"`}}},
		{"union across bases, second", bp, "Patient.gender | Observation.code", []want{{"", "/code"}}},
		{"union removes duplicates", patient, "Patient.name.given | Patient.name.given",
			[]want{{"", `"Peter"`}, {"", `"James"`}, {"", `"Jim"`}}},
		{"Resource root", bp, "Resource.meta.profile", []want{{"", `"http://hl7.org/fhir/StructureDefinition/vitalsigns"`}}},
		{"Resource root on Bundle", bundle, "Resource.id", []want{{"", `"bundle-example"`}}},
		{"DomainResource root", patient, "DomainResource.text.status", []want{{"", `"generated"`}}},
		{"Bundle is not a DomainResource", bundle, "DomainResource.id", nil},
		{"indexer", patient, "Patient.name[1].given", []want{{"", `"Jim"`}}},
		{"indexer out of range", bundle, "Bundle.entry[5].resource", nil},
		{"bundle entry resource", bundle, "Bundle.entry[0].resource", []want{{"MedicationRequest", "/entry/0/resource"}}},
		{"$this", patient, "Patient.name.given.where($this = 'Jim')", []want{{"", `"Jim"`}}},

		// Choice elements.
		{"choice sets Type", apgar, "Observation.value", []want{{"Quantity", "/valueQuantity"}}},
		{"choice primitive", bp, "Observation.effective", []want{{"dateTime", `"2012-09-17"`}}},
		{"as operator", apgar, "(Observation.value as Quantity)", []want{{"Quantity", "/valueQuantity"}}},
		{"as operator, no value", bp, "(Observation.value as Quantity)", nil},
		{"as other type", apgar, "Observation.value as CodeableConcept", nil},
		{"ofType", apgar, "(Observation.value.ofType(Quantity)).value", []want{{"", "0"}}},
		{"as function on components", apgar, "Observation.component.value.as(CodeableConcept)", []want{
			{"CodeableConcept", "/component/0/valueCodeableConcept"},
			{"CodeableConcept", "/component/1/valueCodeableConcept"},
			{"CodeableConcept", "/component/2/valueCodeableConcept"},
			{"CodeableConcept", "/component/3/valueCodeableConcept"},
			{"CodeableConcept", "/component/4/valueCodeableConcept"},
		}},
		{"as function, other type", bp, "Observation.component.value.as(CodeableConcept)", nil},
		{"ofType on components", bp, "Observation.component.value.ofType(Quantity)",
			[]want{{"Quantity", "/component/0/valueQuantity"}, {"Quantity", "/component/1/valueQuantity"}}},
		{"subtype of Quantity", condition, "Condition.onset.ofType(Quantity)", []want{{"Age", "/onsetAge"}}},
		{"exact subtype", condition, "Condition.abatement.ofType(Age)", []want{{"Age", "/abatementAge"}}},
		{"ofType primitive, absent", condition, "Condition.abatement.ofType(dateTime)", nil},
		{"System type name", bp, "Observation.effective.ofType(DateTime)", []want{{"dateTime", `"2012-09-17"`}}},
		{"is on choice", bp, "Observation.effective is dateTime", []want{{"", "true"}}},
		{"is judged from value", patient, "Patient.birthDate is date", []want{{"", "true"}}},
		{"is judged from value, no", patient, "Patient.gender is date", []want{{"", "false"}}},
		{"as judged from value sets Type", patient, "Patient.active.as(boolean)", []want{{"boolean", "true"}}},
		{"is function", bp, "Observation.subject.is(Reference)", []want{{"", "false"}}},

		// resolve().
		{"resolve relative", bp, "Observation.subject.where(resolve() is Patient)", []want{{"", "/subject"}}},
		{"resolve other type", bp, "Observation.subject.where(resolve() is Group)", nil},
		{"resolve contained", apgar, "Observation.subject.where(resolve() is Patient)", []want{{"", "/subject"}}},
		{"resolve returns contained", apgar, "Observation.subject.resolve()", []want{{"Patient", "/contained/0"}}},
		{"resolve contained Location", encounter, "Encounter.location.location.where(resolve() is Location)",
			[]want{{"", "/location/0/location"}}},
		{"resolve urn:uuid", referencesObservation, "Observation.subject.where(resolve() is Patient)", nil},
		{"resolve forms", referencesObservation, "Observation.performer.where(resolve() is Practitioner)",
			[]want{{"", "/performer/0"}, {"", "/performer/1"}, {"", "/performer/2"}, {"", "/performer/3"}}},
		{"resolve stubs", referencesObservation, "Observation.performer.resolve()", []want{
			{"Practitioner", `{"resourceType": "Practitioner", "id": "a"}`},
			{"Practitioner", `{"resourceType": "Practitioner", "id": "b"}`},
			{"Practitioner", `{"resourceType": "Practitioner", "id": "c"}`},
			{"Practitioner", "/contained/0"},
			{"Organization", `{"resourceType": "Organization", "id": "o"}`},
		}},
		{"resolve is Resource", bp, "Observation.performer.where(resolve() is DomainResource)", []want{{"", "/performer/0"}}},

		// Extensions.
		{"extension()", twin, "Patient.extension('http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName').value",
			[]want{{"string", `"Organa"`}}},
		{"extension.where(url)", twin, "Patient.extension.where(url = 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName')",
			[]want{{"Extension", "/extension/0"}}},
		{"extension() unknown url", twin, "Patient.extension('http://example.org/none')", nil},
		{"nested extension()", apgar,
			"Observation.component[0].value.as(CodeableConcept).coding.extension('http://hl7.org/fhir/StructureDefinition/ordinalValue').value",
			[]want{{"decimal", "0"}}},

		// Functions and operators.
		{"where", patient, "Patient.telecom.where(system='phone')",
			[]want{{"", "/telecom/1"}, {"", "/telecom/2"}, {"", "/telecom/3"}}},
		{"first", patient, "Patient.telecom.where(system='phone').first()", []want{{"", "/telecom/1"}}},
		{"last", patient, "Patient.name.given.last()", []want{{"", `"James"`}}},
		{"count", patient, "Patient.telecom.where(system='phone').count()", []want{{"", "3"}}},
		{"exists", patient, "Patient.name.where(use = 'official').exists()", []want{{"", "true"}}},
		{"exists with criteria", patient, "Patient.name.exists(use = 'nickname')", []want{{"", "false"}}},
		{"empty", patient, "Patient.photo.empty()", []want{{"", "true"}}},
		{"not", patient, "Patient.active.not()", []want{{"", "false"}}},
		{"not of empty", patient, "Patient.photo.not()", nil},
		{"hasValue", patient, "Patient.gender.hasValue()", []want{{"", "true"}}},
		{"hasValue on complex", patient, "Patient.maritalStatus.hasValue()", []want{{"", "false"}}},
		{"deceased, boolean false", patient, "Patient.deceased.exists() and Patient.deceased != false", []want{{"", "false"}}},
		{"deceased, absent", twin, "Patient.deceased.exists() and Patient.deceased != false", []want{{"", "false"}}},
		{"deceased, dateTime", deceasedPatient, "Patient.deceased.exists() and Patient.deceased != false", []want{{"", "true"}}},
		{"number equality by value", bp, "Observation.component[0].value.value = 107.0", []want{{"", "true"}}},
		{"equality of different sizes", bp, "Observation.component.value.value = 107", []want{{"", "false"}}},
		{"equality with empty", bp, "Observation.value = 1", nil},
		{"or with empty", patient, "Patient.photo.exists() or Patient.active", []want{{"", "true"}}},
		{"and with empty is empty", patient, "Patient.active and Patient.photo", nil},
		{"xor", patient, "Patient.active xor true", []want{{"", "false"}}},
		{"implies", patient, "Patient.photo.exists() implies false", []want{{"", "true"}}},
		{"%resource", bp, "Observation.component.where(%resource.status = 'final').count()", []want{{"", "2"}}},
		{"%ucum", bp, "Observation.component.value.where(system = %ucum).value", []want{{"", "107"}, {"", "60"}}},
		{"empty literal", patient, "{}", nil},
		{"where on relatedArtifact form", patient, "Patient.link.where(type='seealso').other", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := fixture(t, tt.fixture)
			e, err := Compile(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Eval(res)
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			assertNodes(t, res, got, tt.want)
		})
	}
}

// TestEvalAt evaluates composite-parameter component expressions on the
// components of a blood pressure, as the indexer of a composite parameter
// does.
func TestEvalAt(t *testing.T) {
	res := fixture(t, "Observation-blood-pressure.json")
	comps, err := mustCompile(t, "Observation.component").Eval(res)
	if err != nil || len(comps) != 2 {
		t.Fatalf("components: %v, %v", comps, err)
	}
	tests := []struct {
		expr string
		want []want
	}{
		{"value.ofType(Quantity)", []want{{"Quantity", "/component/1/valueQuantity"}}},
		{"code.coding.code", []want{{"", `"8462-4"`}}},
		{"%resource.id", []want{{"", `"blood-pressure"`}}},
		{"$this.value as Quantity", []want{{"Quantity", "/component/1/valueQuantity"}}},
		{"Observation.id", nil}, // a type name filters the focus, which is no Observation
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := mustCompile(t, tt.expr).EvalAt(res, comps[1])
			if err != nil {
				t.Fatal(err)
			}
			assertNodes(t, res, got, tt.want)
		})
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct{ name, fixture, expr string }{
		{"where criteria with several values", "Patient-example.json", "Patient.name.where(given)"},
		{"and on several values", "Patient-example.json", "Patient.name.given and true"},
		{"is on several values", "Patient-example.json", "Patient.name is HumanName"},
		{"non-integer indexer", "Patient-example.json", "Patient.name['a']"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mustCompile(t, tt.expr).Eval(fixture(t, tt.fixture))
			if err == nil {
				t.Fatalf("Eval(%q) = %v, want an error", tt.expr, got)
			}
		})
	}
}

// TestEvalDoesNotShareLiterals checks that changing a result cannot change
// what a compiled expression returns next time.
func TestEvalDoesNotShareLiterals(t *testing.T) {
	e := mustCompile(t, "'a'")
	got, err := e.Eval(map[string]any{"resourceType": "Patient"})
	if err != nil {
		t.Fatal(err)
	}
	got[0].Value = "changed"
	again, err := e.Eval(map[string]any{"resourceType": "Patient"})
	if err != nil || len(again) != 1 || again[0].Value != "a" {
		t.Fatalf("second Eval = %v, %v; want [a]", again, err)
	}
}

func TestEvalNilResource(t *testing.T) {
	got, err := mustCompile(t, "Resource.id | %resource.id").Eval(nil)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Eval(nil) = %#v, %v; want an empty, non-nil result", got, err)
	}
}

func assertNodes(t *testing.T, res map[string]any, got []Node, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d nodes, want %d:\n%s", len(got), len(wants), render(got))
	}
	for i, w := range wants {
		var v any
		if strings.HasPrefix(w.val, "/") {
			v = pointer(t, res, w.val)
		} else {
			v = decodeJSON(t, w.val)
		}
		if got[i].Type != w.typ || !reflect.DeepEqual(got[i].Value, v) {
			t.Errorf("node %d = %s, want type %q value %s", i, render(got[i:i+1]), w.typ, w.val)
		}
	}
}

func render(nodes []Node) string {
	var b strings.Builder
	for _, n := range nodes {
		j, _ := json.Marshal(n.Value)
		b.WriteString("  " + strconv.Quote(n.Type) + " " + string(j) + "\n")
	}
	return b.String()
}

// pointer returns the element at a JSON pointer (RFC 6901, without escapes).
func pointer(t *testing.T, v any, ptr string) any {
	t.Helper()
	for _, seg := range strings.Split(ptr, "/")[1:] {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i >= len(x) {
				t.Fatalf("pointer %s: bad index %s", ptr, seg)
			}
			v = x[i]
		default:
			t.Fatalf("pointer %s: %s not found", ptr, seg)
		}
	}
	if v == nil {
		t.Fatalf("pointer %s: not found", ptr)
	}
	return v
}

// fixture returns the resource in testdata/name, or name itself decoded when
// it is inline JSON.
func fixture(t testing.TB, name string) map[string]any {
	t.Helper()
	if strings.HasPrefix(name, "{") {
		m, ok := decodeJSON(t, name).(map[string]any)
		if !ok {
			t.Fatal("inline fixture is not an object")
		}
		return m
	}
	return loadFixture(t, name)
}

func loadFixture(t testing.TB, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := decodeJSON(t, string(raw)).(map[string]any)
	if !ok {
		t.Fatalf("%s is not a JSON object", name)
	}
	return m
}

// decodeJSON decodes as the server does: numbers stay json.Number.
func decodeJSON(t testing.TB, s string) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %.40q: %v", s, err)
	}
	return v
}

func mustCompile(t testing.TB, expr string) *Expr {
	t.Helper()
	e, err := Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestUnionLarge covers deduplication of collections too large to compare
// pairwise: equal values (1 and 1.0 included) are kept once, in first-seen
// order.
func TestUnionLarge(t *testing.T) {
	var ids []any
	for i := range 2 * smallUnion {
		ids = append(ids, map[string]any{"system": "http://x", "value": strconv.Itoa(i % smallUnion)})
	}
	res := map[string]any{
		"resourceType": "Patient",
		"identifier":   ids,
		"extension": []any{
			map[string]any{"url": "u", "valueDecimal": json.Number("1")},
			map[string]any{"url": "u", "valueDecimal": json.Number("1.0")},
		},
	}
	got, err := mustCompile(t, "Patient.identifier | Patient.identifier | Patient.extension.value | Patient.identifier.value").Eval(res)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2*smallUnion + 1; len(got) != want {
		t.Fatalf("got %d nodes, want %d:\n%s", len(got), want, render(got))
	}
	for i := range smallUnion {
		if !reflect.DeepEqual(got[i].Value, ids[i]) {
			t.Errorf("node %d = %v, want %v", i, got[i].Value, ids[i])
		}
	}
	if got[smallUnion].Value != json.Number("1") || got[smallUnion].Type != "decimal" {
		t.Errorf("node %d = %+v, want the first decimal", smallUnion, got[smallUnion])
	}
}
