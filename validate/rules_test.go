package validate

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/fhir"
)

// ruleCases are resources that break one R4 rule each, with the element
// path the issue must name ("" when the resource is valid).
var ruleCases = []struct {
	name, body, expr string
}{
	// Primitives in place.
	{"birthDate month 13", `{"resourceType":"Patient","birthDate":"2020-13-45"}`, "Patient.birthDate"},
	{"birthDate Feb 29 of 2021", `{"resourceType":"Patient","birthDate":"2021-02-29"}`, "Patient.birthDate"},
	{"birthDate ok", `{"resourceType":"Patient","birthDate":"2020-02-29"}`, ""},
	{"effectiveDateTime without zone", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"effectiveDateTime":"2020-01-01T10:00:00"}`, "Observation.effective.ofType(dateTime)"},
	{"instant year only", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"issued":"2018"}`, "Observation.issued"},
	{"time value", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueTime":"25:00:00"}`, "Observation.value.ofType(time)"},
	{"positiveInt 0", `{"resourceType":"Patient","multipleBirthInteger":0,"contact":[{"name":{"text":"a"}}]}`, ""},
	{"positiveInt 0 in a Parameters", `{"resourceType":"Parameters","parameter":[{"name":"n","valuePositiveInt":0}]}`, "Parameters.parameter[0].value.ofType(positiveInt)"},
	{"unsignedInt -1", `{"resourceType":"Parameters","parameter":[{"name":"n","valueUnsignedInt":-1}]}`, "Parameters.parameter[0].value.ofType(unsignedInt)"},
	{"boolean choice ok", `{"resourceType":"Parameters","parameter":[{"name":"n","valueBoolean":true}]}`, ""},
	{"string with a control character", `{"resourceType":"Patient","name":[{"family":"a\u0007b"}]}`, "Patient.name[0].family"},
	{"uri with a space", `{"resourceType":"Patient","identifier":[{"system":"http://a b","value":"1"}]}`, "Patient.identifier[0].system"},
	{"code with two spaces", `{"resourceType":"Patient","name":[{"use":"official"}],"communication":[{"language":{"coding":[{"code":"a  b"}]}}]}`, "Patient.communication[0].language.coding[0].code"},
	{"primitive in a nested Bundle entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","birthDate":"hello"}}]}`, "Bundle.entry[0].resource.birthDate"},
	{"primitive in a datatype", `{"resourceType":"Patient","name":[{"period":{"start":"2020-02-30"}}]}`, "Patient.name[0].period.start"},
	{"content reference", `{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"group","item":[{"linkId":"1.1","type":"date","initial":[{"valueDate":"2020-99"}]}]}]}`, "Questionnaire.item[0].item[0].initial[0].value.ofType(date)"},

	// Choice elements.
	{"two choice values", `{"resourceType":"Patient","deceasedBoolean":true,"deceasedDateTime":"2020-01-01"}`, "Patient.deceased"},

	// ele-1.
	{"empty _gender", `{"resourceType":"Patient","_gender":{}}`, "Patient.gender"},
	{"_gender with only an id", `{"resourceType":"Patient","_gender":{"id":"a"}}`, "Patient.gender"},
	{"element with only an id", `{"resourceType":"Patient","name":[{"id":"n1"}]}`, "Patient.name[0]"},
	{"_birthDate with an extension", `{"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}}`, ""},
	{"_given aligned", `{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"extension":[{"url":"http://x","valueString":"b"}]}]}]}`, ""},
	{"_given both null", `{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,null]}]}`, "Patient.name[0].given[1]"},
	{"_given of another length", `{"resourceType":"Patient","name":[{"given":["a","b"],"_given":[null]}]}`, "Patient.name[0].given"},
	{"_element twin value checked", `{"resourceType":"Patient","birthDate":"2020-13-01","_birthDate":{"id":"x"}}`, "Patient.birthDate"},

	// Extensions.
	{"extension with two values", `{"resourceType":"Patient","extension":[{"url":"http://x","valueString":"a","valueBoolean":true}]}`, "Patient.extension[0].value"},
	{"extension with a value and extensions", `{"resourceType":"Patient","extension":[{"url":"http://x","valueString":"a","extension":[{"url":"y","valueString":"b"}]}]}`, "Patient.extension[0]"},
	{"extension with neither", `{"resourceType":"Patient","extension":[{"url":"http://x"}]}`, "Patient.extension[0]"},
	{"extension with a bad value", `{"resourceType":"Patient","extension":[{"url":"http://x","valueDate":"2020-02-31"}]}`, "Patient.extension[0].value.ofType(date)"},
	{"modifierExtension", `{"resourceType":"Patient","modifierExtension":[{"url":"http://x"}]}`, "Patient.modifierExtension[0]"},
	{"complex extension ok", `{"resourceType":"Patient","extension":[{"url":"http://x","extension":[{"url":"a","valueString":"b"}]}]}`, ""},

	// Contained resources.
	{"contained without id", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient"}],"subject":{"reference":"#"}}`, "Observation.contained[0]"},
	{"nested contained", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p","contained":[{"resourceType":"Patient","id":"q"}]}],"subject":{"reference":"#p"}}`, "Observation.contained[0].contained"},
	{"unreferenced contained", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p"}]}`, "Observation.contained[0]"},
	{"contained with versionId", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p","meta":{"versionId":"1"}}],"subject":{"reference":"#p"}}`, "Observation.contained[0].meta.versionId"},
	{"contained with security", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p","meta":{"security":[{"code":"R"}]}}],"subject":{"reference":"#p"}}`, "Observation.contained[0].meta.security"},
	{"duplicate contained ids", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p"},{"resourceType":"Patient","id":"p"}],"subject":{"reference":"#p"}}`, "Observation.contained[1].id"},
	{"#reference to nothing", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"#nope"}}`, "Observation.subject.reference"},
	{"contained referenced", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p","birthDate":"2020"}],"subject":{"reference":"#p"}}`, ""},
	{"contained checked", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p","birthDate":"2020-1"}],"subject":{"reference":"#p"}}`, "Observation.contained[0].birthDate"},

	// Reference syntax.
	{"reference ::::", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"::::"}}`, "Observation.subject.reference"},
	{"reference Patient/", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/"}}`, "Observation.subject.reference"},
	{"reference Patient//x", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient//x"}}`, "Observation.subject.reference"},
	{"reference with a space", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/a b"}}`, "Observation.subject.reference"},
	{"reference to an unknown type", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Foo/1"}}`, "Observation.subject.reference"},
	{"reference forms ok", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1/_history/2"},"performer":[{"reference":"https://example.org/fhir/Practitioner/1"},{"reference":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520"},{"reference":"Practitioner?identifier=http://x|1"}]}`, ""},

	// Narrative.
	{"narrative script", `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script></div>"}}`, "Patient.text.div"},
	{"narrative onerror", `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><img src=\"x\" onerror=\"alert(1)\"/></div>"}}`, "Patient.text.div"},
	{"narrative ok", `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Peter <b>Chalmers</b></p></div>"}}`, ""},

	// Invariants.
	{"pat-1", `{"resourceType":"Patient","contact":[{"gender":"male"}]}`, "Patient.contact[0]"},
	{"pat-1 holds", `{"resourceType":"Patient","contact":[{"telecom":[{"system":"phone","value":"1"}]}]}`, ""},
	{"obs-6", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"a","dataAbsentReason":{"text":"unknown"}}`, "Observation"},
	{"obs-7", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1"}]},"valueString":"a","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"1"}]},"valueString":"b"}]}`, "Observation"},
	{"obs-7 holds", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1"}]},"valueString":"a","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"2"}]},"valueString":"b"}]}`, ""},

	// Bytes.
	{"duplicate key", `{"resourceType":"Patient","gender":"male","gender":"female"}`, "gender"},
	{"duplicate key deep", `{"resourceType":"Patient","name":[{"family":"a","family":"b"}]}`, "name[0].family"},
	{"duplicate key through an escape", `{"resourceType":"Patient","gender":"male","gend\u0065r":"female"}`, "gender"},
	{"NUL", `{"resourceType":"Patient","name":[{"family":"a\u0000b"}]}`, "name[0].family"},
	{"lone surrogate", `{"resourceType":"Patient","name":[{"family":"a\ud800b"}]}`, "name[0].family"},
	{"surrogate pair ok", `{"resourceType":"Patient","name":[{"family":"a\ud83d\ude00b"}]}`, ""},
	{"invalid UTF-8", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"a\xffb\"}]}", ""},
}

func TestRules(t *testing.T) {
	v := New(Options{})
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			issues := v.Check([]byte(tc.body))
			invalidUTF8 := strings.Contains(tc.body, "\xff")
			switch {
			case invalidUTF8:
				if len(issues) != 1 || !strings.Contains(issues[0].Diagnostics, "UTF-8") {
					t.Fatalf("issues %+v, want one about UTF-8", issues)
				}
			case tc.expr == "":
				if len(issues) > 0 {
					t.Fatalf("valid resource rejected: %+v", issues)
				}
			default:
				if !named(issues, tc.expr) {
					t.Fatalf("issues %+v, want one at %s", issues, tc.expr)
				}
			}
		})
	}
}

func named(issues []fhir.Issue, expr string) bool {
	for _, is := range issues {
		if is.Severity == "error" && slices.Contains(is.Expression, expr) {
			return true
		}
	}
	return false
}

func TestLimits(t *testing.T) {
	v := New(Options{MaxDepth: 5, MaxArrayLength: 3})
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"depth within", `{"resourceType":"Patient","name":[{"period":{"start":"2020"}}]}`, true},
		{"too deep", `{"resourceType":"Patient","extension":[{"url":"a","extension":[{"url":"b","extension":[{"url":"c","valueString":"d"}]}]}]}`, false},
		{"array within", `{"resourceType":"Patient","name":[{"given":["a","b","c"]}]}`, true},
		{"array too long", `{"resourceType":"Patient","name":[{"given":["a","b","c","d"]}]}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			issues := v.Check([]byte(tc.body))
			if tc.ok != (len(issues) == 0) {
				t.Fatalf("issues %+v, want ok=%v", issues, tc.ok)
			}
			if !tc.ok && issues[0].Code != "too-costly" {
				t.Fatalf("code %q, want too-costly", issues[0].Code)
			}
		})
	}
}

// TestValueLimit checks the bound on the JSON values of one resource: a
// Bundle's entries count on their own, wherever resourceType stands, and
// the issue names the entry at fault.
func TestValueLimit(t *testing.T) {
	v := New(Options{MaxValues: 8})
	entry := func(n int) string { // an entry of 6+n values
		return `{"resource":{"resourceType":"Patient","name":[{"given":[` + strings.TrimSuffix(strings.Repeat(`"a",`, n), ",") + `]}]}}`
	}
	tests := []struct {
		name, body string
		expr       string // "" when the body is within the limit
	}{
		{"within", `{"resourceType":"Patient","name":[{"given":["a","b"]}]}`, ""},
		{"at the limit", `{"resourceType":"Patient","name":[{"given":["a","b","c"]}]}`, ""},
		{"over", `{"resourceType":"Patient","name":[{"given":["a","b","c","d"]}]}`, "-"},
		{"numbers, literals and objects count", `{"resourceType":"Patient","active":true,"deceasedBoolean":false,"multipleBirthInteger":1,"name":[{}],"gender":null,"birthDate":"2000"}`, "-"},
		{"entries on their own", `{"resourceType":"Bundle","type":"collection","entry":[` + entry(2) + `,` + entry(2) + `,` + entry(2) + `]}`, ""},
		{"resourceType after the entries", `{"entry":[` + entry(2) + `,` + entry(2) + `],"type":"collection","resourceType":"Bundle"}`, ""},
		{"one entry over", `{"resourceType":"Bundle","type":"collection","entry":[` + entry(1) + `,` + entry(3) + `]}`, "entry[1]"},
		{"entry of a resource that is not a Bundle", `{"resourceType":"Patient","entry":[` + entry(1) + `,` + entry(1) + `]}`, "-"},
		{"a Bundle in an entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Bundle","type":"collection","entry":[` + entry(2) + `,` + entry(2) + `]}}]}`, ""},
		{"over in a Bundle in an entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Bundle","type":"collection","entry":[` + entry(2) + `,` + entry(3) + `]}}]}`, "entry[0].resource.entry[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Bytes([]byte(tc.body))
			if tc.expr == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			fe, ok := err.(*fhir.Error)
			if !ok || len(fe.Issues) != 1 || fe.Issues[0].Code != "too-costly" || !strings.Contains(fe.Issues[0].Diagnostics, "more than 8 JSON values") {
				t.Fatalf("got %v, want one too-costly issue", err)
			}
			if got := fe.Issues[0].Expression; tc.expr == "-" && len(got) != 0 || tc.expr != "-" && !slices.Equal(got, []string{tc.expr}) {
				t.Fatalf("expression %q, want %q", got, tc.expr)
			}
		})
	}
}

func TestInvariantsListed(t *testing.T) {
	got := Invariants()
	if len(got) != 17 || !slices.IsSorted(got) {
		t.Fatalf("Invariants() = %v", got)
	}
	doc, err := os.ReadFile("../docs/validation.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range got {
		if !strings.Contains(string(doc), "| `"+key+"` |") {
			t.Errorf("docs/validation.md does not list %s", key)
		}
	}
}
