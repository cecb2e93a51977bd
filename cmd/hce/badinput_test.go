package main

import (
	"strings"
	"testing"

	"github.com/hce-fhir/hce/rest"
)

// TestBadInput checks that every kind of bad request gets a 4xx
// OperationOutcome naming the problem, and that nothing is stored.
func TestBadInput(t *testing.T) {
	c := testServer(t, rest.Options{MaxBodyBytes: 4096})
	big := `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">` +
		strings.Repeat("x", 5000) + `</div>"}}`
	const fj = "application/fhir+json"
	tests := []struct {
		name, method, path, body, contentType string
		status                                int
		mentions                              []string
	}{
		{"malformed JSON", "POST", "/fhir/Patient", `{"resourceType":"Patient",`, fj, 400, []string{"JSON"}},
		{"empty body", "POST", "/fhir/Patient", ``, fj, 400, []string{"empty"}},
		{"whitespace body", "PUT", "/fhir/Patient/bad-1", "  \n", fj, 400, []string{"empty"}},
		{"not an object", "POST", "/fhir/Patient", `[1,2]`, fj, 400, nil},
		{"wrong content type", "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, "text/plain", 415, []string{"Content-Type"}},
		{"xml content type", "POST", "/fhir/Patient", `<Patient/>`, "application/fhir+xml", 415, []string{"Content-Type"}},
		{"no content type", "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, "none", 415, []string{"Content-Type"}},
		{"type mismatch", "POST", "/fhir/Patient", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, fj, 400, []string{"Observation", "Patient"}},
		{"unknown type in URL", "POST", "/fhir/Pateint", `{"resourceType":"Pateint"}`, fj, 404, []string{"Pateint"}},
		{"unknown type in body", "PUT", "/fhir/Patient/bad-2", `{"resourceType":"Foo","id":"bad-2"}`, fj, 400, []string{"Foo"}},
		{"missing resourceType", "POST", "/fhir/Patient", `{"active":true}`, fj, 400, []string{"resourceType"}},
		{"unknown element", "POST", "/fhir/Patient", `{"resourceType":"Patient","favouriteColour":"blue"}`, fj, 400, []string{"Patient.favouriteColour"}},
		{"nested unknown element", "POST", "/fhir/Patient", `{"resourceType":"Patient","name":[{"family":"A","nickname":"B"}]}`, fj, 400, []string{"Patient.name[0].nickname"}},
		{"wrong JSON type", "POST", "/fhir/Patient", `{"resourceType":"Patient","active":"yes"}`, fj, 400, []string{"Patient.active"}},
		{"array expected", "POST", "/fhir/Patient", `{"resourceType":"Patient","name":{"family":"A"}}`, fj, 400, []string{"Patient.name"}},
		{"bad code", "POST", "/fhir/Patient", `{"resourceType":"Patient","gender":"robot"}`, fj, 400, []string{"gender"}},
		{"invalid id in URL", "PUT", "/fhir/Patient/bad_id!", `{"resourceType":"Patient","id":"bad_id!"}`, fj, 400, []string{"id"}},
		{"id too long", "GET", "/fhir/Patient/" + strings.Repeat("a", 65), ``, "", 400, []string{"id"}},
		{"invalid id in body", "PUT", "/fhir/Patient/bad-3", `{"resourceType":"Patient","id":"bad 3"}`, fj, 400, []string{"id"}},
		{"id mismatch", "PUT", "/fhir/Patient/bad-4", `{"resourceType":"Patient","id":"other"}`, fj, 400, []string{"other", "bad-4"}},
		{"id missing on update", "PUT", "/fhir/Patient/bad-5", `{"resourceType":"Patient"}`, fj, 400, []string{"id"}},
		{"body over limit", "POST", "/fhir/Patient", big, fj, 413, []string{"limit"}},
		{"method not allowed", "PATCH", "/fhir/Patient", `[]`, "application/json-patch+json", 405, nil},
		{"unknown route", "GET", "/fhir/Patient/1/_history/1/extra", ``, "", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" || tt.method != "GET" {
				body = tt.body
			}
			h := []string{}
			switch tt.contentType {
			case "":
			case "none": // an empty value makes do send no Content-Type at all
				h = append(h, "Content-Type", "")
			default:
				h = append(h, "Content-Type", tt.contentType)
			}
			c.do(tt.method, tt.path, body, h...).must(t, tt.status).outcome(t, tt.mentions...)
		})
	}
	// Nothing above may have been stored.
	for _, id := range []string{"bad-1", "bad-2", "bad-3", "bad-4", "bad-5"} {
		c.do("GET", "/fhir/Patient/"+id, nil).must(t, 404)
	}
}
