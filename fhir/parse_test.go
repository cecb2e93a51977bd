package fhir

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseExamples parses every official R4 example in testdata: each must
// validate, and re-encoding the content must give back the same JSON.
func TestParseExamples(t *testing.T) {
	files, err := filepath.Glob("testdata/examples/*/*.json")
	if err != nil || len(files) < 100 {
		t.Fatalf("want the R4 examples in testdata, found %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Parse(body)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if want := filepath.Base(filepath.Dir(f)); r.Type != want {
				t.Errorf("type %q, want %q", r.Type, want)
			}
			out, err := json.Marshal(r.Content)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, body, out) {
				t.Errorf("content changed in a round trip")
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// TestParseInvalid checks that each kind of bad input is rejected as
// ErrInvalid with an issue that names the element at fault.
func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, body, path, diag string
	}{
		{"malformed", `{"resourceType":"Patient"`, "", "malformed JSON"},
		{"trailing", `{"resourceType":"Patient"} {}`, "", "after the resource"},
		{"array", `[{"resourceType":"Patient"}]`, "", "JSON object"},
		{"no type", `{"id":"a"}`, "resourceType", "no resourceType"},
		{"unknown type", `{"resourceType":"Patientt"}`, "resourceType", "not an R4 resource type"},
		{"bad id", `{"resourceType":"Patient","id":"a b"}`, "Patient.id", "id must match"},
		{"long id", `{"resourceType":"Patient","id":"` + strings.Repeat("a", 65) + `"}`, "Patient.id", "id must match"},
		{"unknown element", `{"resourceType":"Patient","name":[{"nickname":"Bob"}]}`, "Patient.name[0].nickname", `unknown element "nickname"`},
		{"wrong type string", `{"resourceType":"Patient","birthDate":19740312}`, "Patient.birthDate", "expected a string, found a number"},
		{"wrong type bool", `{"resourceType":"Patient","active":"yes"}`, "Patient.active", "expected a boolean"},
		{"wrong type array", `{"resourceType":"Patient","name":{"family":"X"}}`, "Patient.name", "must be an array"},
		{"single as array", `{"resourceType":"Patient","gender":["male"]}`, "Patient.gender", "single value"},
		{"bad code", `{"resourceType":"Patient","gender":"man"}`, "Patient.gender", `"man" is not a valid code`},
		{"bad integer", `{"resourceType":"Patient","multipleBirthInteger":1.5}`, "Patient.multipleBirthInteger", "not a 32-bit integer"},
		{"decimal as string", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"1.5"}}`, "Observation.valueQuantity.value", "expected a number"},
		{"missing required", `{"resourceType":"Observation","code":{"text":"x"}}`, "Observation.status", "missing required"},
		{"null", `{"resourceType":"Patient","active":null}`, "Patient.active", "found null"},
		{"empty string", `{"resourceType":"Patient","birthDate":""}`, "Patient.birthDate", "empty string"},
		{"empty array", `{"resourceType":"Patient","name":[]}`, "Patient.name", "must not be empty"},
		{"empty object", `{"resourceType":"Patient","maritalStatus":{}}`, "Patient.maritalStatus", "empty object"},
		{"bad primitive extension", `{"resourceType":"Patient","_birthDate":{"foo":1}}`, "Patient.birthDate.foo", `unknown element "foo"`},
		{"extension of complex", `{"resourceType":"Patient","_name":{}}`, "Patient._name", `unknown element "_name"`},
		{"bad contained", `{"resourceType":"Patient","contained":[{"resourceType":"Practitioner","id":"p","foo":1}]}`, "Patient.contained[0].foo", `unknown element "foo"`},
		{"bundle entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","active":1}}]}`, "Bundle.entry[0].resource.active", "expected a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse([]byte(tt.body))
			if err == nil {
				t.Fatalf("accepted: %+v", r)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not *Error", err)
			}
			for _, is := range fe.Issues {
				path := strings.Join(is.Expression, ",")
				if path == tt.path && strings.Contains(is.Diagnostics, tt.diag) {
					return
				}
			}
			t.Errorf("no issue at %q containing %q in %v", tt.path, tt.diag, err)
		})
	}
}

// TestParseKeeps checks the elements that a model-based round trip would
// lose: primitive extensions, decimal precision, contained resources.
func TestParseKeeps(t *testing.T) {
	body := `{"resourceType":"Observation","status":"final","code":{"text":"x"},
"contained":[{"resourceType":"Patient","id":"p1","_birthDate":{"extension":[{"url":"http://x","valueString":"y"}]}}],
"valueQuantity":{"value":1.50,"unit":"mg"},"_status":{"id":"s"},
"component":[{"code":{"text":"c"},"valueString":"v"}]}`
	r, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Content["valueQuantity"].(map[string]any)["value"].(json.Number); got != "1.50" {
		t.Errorf("decimal %q, want 1.50", got)
	}
	out, _ := json.Marshal(r.Content)
	if !jsonEqual(t, []byte(body), out) {
		t.Errorf("round trip changed %s", out)
	}
}

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, and when it
// accepts a body the result must have a known type and valid content.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/examples/Patient/*.json")
	for _, file := range files[:min(len(files), 5)] {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"resourceType":"Patient","_birthDate":[null]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if !IsResourceType(r.Type) || r.Content == nil {
			t.Fatalf("accepted %q with type %q", body, r.Type)
		}
	})
}

// BenchmarkParse measures parsing and validating a mid-size resource.
func BenchmarkParse(b *testing.B) {
	body, err := os.ReadFile("testdata/examples/Patient/Patient-example.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}
