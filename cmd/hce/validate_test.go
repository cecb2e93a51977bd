package main

import (
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/auth"
	"github.com/hce-fhir/hce/rest"
)

// TestValidateOperation checks $validate at the base, per type and per
// instance, with a resource body and with a Parameters body: 200 with the
// issues the writes would report, or one information issue; nothing stored.
func TestValidateOperation(t *testing.T) {
	c := testServer(t, rest.Options{})
	id := "validate-" + uniq
	good := `{"resourceType":"Patient","id":"` + id + `","birthDate":"2020-02-29"}`
	bad := `{"resourceType":"Patient","id":"` + id + `","birthDate":"2021-02-29"}`
	params := func(resource, mode string) string {
		p := `{"resourceType":"Parameters","parameter":[`
		if resource != "" {
			p += `{"name":"resource","resource":` + resource + `}`
		}
		if mode != "" {
			if resource != "" {
				p += ","
			}
			p += `{"name":"mode","valueCode":"` + mode + `"}`
		}
		return p + `]}`
	}
	tests := []struct {
		name, path, body string
		status           int
		severity, expr   string
	}{
		{"type, valid", "/fhir/Patient/$validate", good, 200, "information", ""},
		{"type, invalid", "/fhir/Patient/$validate", bad, 200, "error", "Patient.birthDate"},
		{"base, invalid", "/fhir/$validate", bad, 200, "error", "Patient.birthDate"},
		{"base, valid Parameters input", "/fhir/$validate", params(good, "create"), 200, "information", ""},
		{"instance, update", "/fhir/Patient/" + id + "/$validate", params(good, "update"), 200, "information", ""},
		{"instance, update, invalid", "/fhir/Patient/" + id + "/$validate", params(bad, "update"), 200, "error", "Patient.birthDate"},
		{"instance, update, other id", "/fhir/Patient/other/$validate", params(good, "update"), 200, "error", "Patient.id"},
		{"update without id", "/fhir/Patient/$validate", params(`{"resourceType":"Patient"}`, "update"), 200, "error", "Patient.id"},
		{"instance, delete", "/fhir/Patient/" + id + "/$validate", params("", "delete"), 200, "information", ""},
		{"duplicate key", "/fhir/Patient/$validate", `{"resourceType":"Patient","gender":"male","gender":"female"}`, 200, "error", "gender"},
		{"malformed JSON", "/fhir/Patient/$validate", `{"resourceType":`, 200, "error", ""},
		{"invariant", "/fhir/Patient/$validate", `{"resourceType":"Patient","contact":[{"gender":"male"}]}`, 200, "error", "Patient.contact[0]"},
		{"a Parameters itself", "/fhir/Parameters/$validate", `{"resourceType":"Parameters","parameter":[{"name":"n","valuePositiveInt":0}]}`, 200, "error", "Parameters.parameter[0].value.ofType(positiveInt)"},
		{"a Bundle, valid", "/fhir/Bundle/$validate", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + good + `},{"resource":` + good + `}]}`, 200, "information", ""},
		{"a Bundle, an invalid entry", "/fhir/Bundle/$validate", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + good + `},{"resource":` + bad + `}]}`, 200, "error", "Bundle.entry[1].resource.birthDate"},
		{"wrong type", "/fhir/Observation/$validate", good, 400, "error", ""},
		{"unknown mode", "/fhir/Patient/$validate", params(good, "merge"), 400, "error", ""},
		{"no resource", "/fhir/Patient/$validate", params("", "create"), 400, "error", ""},
		{"unknown type", "/fhir/Foo/$validate", good, 404, "error", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do("POST", tc.path, tc.body).must(t, tc.status)
			r.outcome(t, tc.expr)
			issues := r.body["issue"].([]any)
			first := issues[0].(map[string]any)
			if first["severity"] != tc.severity {
				t.Fatalf("severity %v, want %s: %s", first["severity"], tc.severity, r.raw)
			}
			for _, is := range issues {
				m := is.(map[string]any)
				if m["code"] == nil || m["diagnostics"] == nil {
					t.Fatalf("issue without code or diagnostics: %s", r.raw)
				}
			}
			if tc.expr != "" && !strings.Contains(string(r.raw), `"expression":["`+tc.expr) {
				t.Fatalf("no issue with expression %s: %s", tc.expr, r.raw)
			}
		})
	}
	c.do("GET", "/fhir/Patient/"+id, nil).must(t, 404)
	anonymous := &client{t: t, base: c.base}
	anonymous.do("POST", "/fhir/Patient/$validate", good).must(t, 401)
	narrow, err := testIssuer(t).Mint(auth.TokenRequest{Scope: "system/Observation.r", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	other := &client{t: t, base: c.base, token: narrow}
	other.do("POST", "/fhir/Patient/$validate", good).must(t, 200).outcome(t, "valid")
	other.do("POST", "/fhir/Patient", good).must(t, 403)

	cs := c.do("GET", "/fhir/metadata", nil).must(t, 200)
	if !strings.Contains(string(cs.raw), `"name":"validate"`) || !strings.Contains(string(cs.raw), "Resource-validate") {
		t.Fatal("the CapabilityStatement does not advertise $validate")
	}
}
