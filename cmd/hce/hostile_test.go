package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/rest"
)

// hostileCases are the requests of a hostile-input run that HCE used to
// store although invalid, or answered with a 5xx. Each must now be a 4xx
// OperationOutcome that names the problem, store nothing, and leave the
// server healthy. RESOURCE in a body becomes a resourceType with an
// identifier unique to the case, so that "nothing stored" can be checked by
// a search.
var hostileCases = []struct {
	name, method, path, body string
	headers                  []string
	status                   int
	mentions                 []string
}{
	{"birthDate 2020-13-45", "POST", "/fhir/Patient", `{PATIENT,"birthDate":"2020-13-45"}`, nil, 400, []string{"Patient.birthDate"}},
	{"birthDate 2021-02-29", "POST", "/fhir/Patient", `{PATIENT,"birthDate":"2021-02-29"}`, nil, 400, []string{"Patient.birthDate"}},
	{"birthDate 20-01-01", "POST", "/fhir/Patient", `{PATIENT,"birthDate":"20-01-01"}`, nil, 400, []string{"Patient.birthDate"}},
	{"birthDate hello", "POST", "/fhir/Patient", `{PATIENT,"birthDate":"hello"}`, nil, 400, []string{"Patient.birthDate"}},
	{"effectiveDateTime 2020-02-30T25:00", "POST", "/fhir/Observation", `{OBSERVATION,"effectiveDateTime":"2020-02-30T25:00"}`, nil, 400, []string{"Observation.effective.ofType(dateTime)"}},
	{"effectiveDateTime without zone", "POST", "/fhir/Observation", `{OBSERVATION,"effectiveDateTime":"2020-01-01T10:00:00"}`, nil, 400, []string{"Observation.effective.ofType(dateTime)"}},
	{"effectiveDateTime T24:00:00Z", "POST", "/fhir/Observation", `{OBSERVATION,"effectiveDateTime":"T24:00:00Z"}`, nil, 400, []string{"Observation.effective.ofType(dateTime)"}},
	{"instant 2018", "POST", "/fhir/Observation", `{OBSERVATION,"issued":"2018"}`, nil, 400, []string{"Observation.issued"}},
	{"time 25:00:00", "POST", "/fhir/Observation", `{OBSERVATION,"valueTime":"25:00:00"}`, nil, 400, []string{"Observation.value.ofType(time)"}},
	{"positiveInt 0", "POST", "/fhir/Observation", `{OBSERVATION,"valueSampledData":{"origin":{"value":1},"period":1,"dimensions":0}}`, nil, 400, []string{"Observation.value.ofType(SampledData).dimensions"}},
	{"unsignedInt -1", "POST", "/fhir/Patient", `{PATIENT,"extension":[{"url":"http://example.org/n","valueUnsignedInt":-1}]}`, nil, 400, []string{"Patient.extension[0].value.ofType(unsignedInt)"}},
	{"duplicate key", "POST", "/fhir/Patient", `{PATIENT,"gender":"male","gender":"female"}`, nil, 400, []string{"duplicate", "gender"}},
	{"two choice values", "POST", "/fhir/Patient", `{PATIENT,"deceasedBoolean":true,"deceasedDateTime":"2020-01-01"}`, nil, 400, []string{"Patient.deceased"}},
	{"extension with two values", "POST", "/fhir/Patient", `{PATIENT,"extension":[{"url":"http://example.org/x","valueString":"a","valueBoolean":true}]}`, nil, 400, []string{"Patient.extension[0]"}},
	{"extension with value and extensions", "POST", "/fhir/Patient", `{PATIENT,"extension":[{"url":"http://example.org/x","valueString":"a","extension":[{"url":"b","valueString":"c"}]}]}`, nil, 400, []string{"ext-1"}},
	{"empty _gender", "POST", "/fhir/Patient", `{PATIENT,"_gender":{}}`, nil, 400, []string{"Patient.gender"}},
	{"contained without id", "POST", "/fhir/Observation", `{OBSERVATION,"contained":[{"resourceType":"Patient"}],"subject":{"reference":"#"}}`, nil, 400, []string{"Observation.contained[0]", "id"}},
	{"nested contained", "POST", "/fhir/Observation", `{OBSERVATION,"contained":[{"resourceType":"Patient","id":"p","contained":[{"resourceType":"Patient","id":"q"}]}],"subject":{"reference":"#p"}}`, nil, 400, []string{"dom-2"}},
	{"reference #nope", "POST", "/fhir/Observation", `{OBSERVATION,"subject":{"reference":"#nope"}}`, nil, 400, []string{"Observation.subject.reference"}},
	{"reference ::::", "POST", "/fhir/Observation", `{OBSERVATION,"subject":{"reference":"::::"}}`, nil, 400, []string{"Observation.subject.reference"}},
	{"reference Patient/", "POST", "/fhir/Observation", `{OBSERVATION,"subject":{"reference":"Patient/"}}`, nil, 400, []string{"Observation.subject.reference"}},
	{"reference Patient//x", "POST", "/fhir/Observation", `{OBSERVATION,"subject":{"reference":"Patient//x"}}`, nil, 400, []string{"Observation.subject.reference"}},
	{"reference Patient/a b", "POST", "/fhir/Observation", `{OBSERVATION,"subject":{"reference":"Patient/a b"}}`, nil, 400, []string{"Observation.subject.reference"}},
	{"reference Foo/1", "POST", "/fhir/Observation", `{OBSERVATION,"subject":{"reference":"Foo/1"}}`, nil, 400, []string{"Observation.subject.reference", "Foo"}},
	{"narrative script", "POST", "/fhir/Patient", `{PATIENT,"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script>x</div>"}}`, nil, 400, []string{"Patient.text.div", "script"}},
	{"narrative img onerror", "POST", "/fhir/Patient", `{PATIENT,"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><img src=\"x\" onerror=\"alert(1)\"/></div>"}}`, nil, 400, []string{"Patient.text.div", "onerror"}},
	{"invalid UTF-8", "POST", "/fhir/Patient", "{PATIENT,\"name\":[{\"family\":\"a\xff\xfeb\"}]}", nil, 400, []string{"UTF-8"}},
	{"NUL in create", "POST", "/fhir/Patient", `{PATIENT,"name":[{"family":"a\u0000b"}]}`, nil, 400, []string{"NUL"}},
	{"NUL in update", "PUT", "/fhir/Patient/hostile-nul", `{PATIENT,"id":"hostile-nul","name":[{"family":"a\u0000b"}]}`, nil, 400, []string{"NUL"}},
	{"NUL in PATCH", "PATCH", "/fhir/Patient/hostile-patch-" + uniq, `[{"op":"add","path":"/name","value":[{"family":"a\u0000b"}]}]`, []string{"Content-Type", "application/json-patch+json"}, 400, []string{"NUL"}},
	{"NUL in search value", "GET", "/fhir/Patient?name=a%00b", ``, nil, 400, []string{"name"}},
	{"NUL in POST _search", "POST", "/fhir/Patient/_search", `name=a%00b`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 400, []string{"name"}},
	{"NUL in a transaction", "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520","resource":{PATIENT,"name":[{"family":"a\u0000b"}]},"request":{"method":"POST","url":"Patient"}}]}`, nil, 400, []string{"NUL"}},
	{"transaction with a duplicate fullUrl", "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[` +
		`{"fullUrl":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520","resource":{PATIENT},"request":{"method":"POST","url":"Patient"}},` +
		`{"fullUrl":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520","resource":{PATIENT},"request":{"method":"POST","url":"Patient"}}]}`, nil, 400, []string{"Bundle.entry[0].fullUrl", "Bundle.entry[1].fullUrl"}},
	{"batch with a duplicate fullUrl", "POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[` +
		`{"fullUrl":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520","resource":{PATIENT},"request":{"method":"POST","url":"Patient"}},` +
		`{"fullUrl":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520","resource":{PATIENT},"request":{"method":"POST","url":"Patient"}}]}`, nil, 400, []string{"Bundle.entry[0].fullUrl", "Bundle.entry[1].fullUrl"}},
	{"transaction changing one resource twice", "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[` +
		`{"resource":{PATIENT,"id":"hostile-twice"},"request":{"method":"PUT","url":"Patient/hostile-twice"}},` +
		`{"resource":{PATIENT,"id":"hostile-twice","active":false},"request":{"method":"PUT","url":"Patient/hostile-twice"}}]}`, nil, 400, []string{"Bundle.entry[0].request.url", "Bundle.entry[1].request.url"}},
	{"batch with an invalid entry", "POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{PATIENT,"birthDate":"2021-02-29"},"request":{"method":"POST","url":"Patient"}}]}`, nil, 400, []string{"Bundle.entry[0].resource.birthDate"}},
	{"NDJSON line with NUL", "POST", "/fhir", "{PATIENT,\"name\":[{\"family\":\"a\\u0000b\"}]}\n", []string{"Content-Type", "application/fhir+ndjson"}, 200, []string{"NUL"}},
	{"empty If-None-Exist", "POST", "/fhir/Patient", `{PATIENT}`, []string{"If-None-Exist", "EMPTY"}, 400, []string{"If-None-Exist"}},
	{"malformed If-None-Exist", "POST", "/fhir/Patient", `{PATIENT}`, []string{"If-None-Exist", "%zz"}, 400, []string{"If-None-Exist"}},
	{"empty If-Match", "PUT", "/fhir/Patient/hostile-match", `{PATIENT,"id":"hostile-match"}`, []string{"If-Match", "EMPTY"}, 400, []string{"If-Match"}},
	{"malformed If-Match", "PUT", "/fhir/Patient/hostile-match", `{PATIENT,"id":"hostile-match"}`, []string{"If-Match", "W/\"x\""}, 400, []string{"If-Match"}},
	{"empty If-None-Match", "GET", "/fhir/Patient/hostile-match", ``, []string{"If-None-Match", "EMPTY"}, 400, []string{"If-None-Match"}},
	{"malformed If-None-Match", "GET", "/fhir/Patient/hostile-match", ``, []string{"If-None-Match", "abc"}, 400, []string{"If-None-Match"}},
}

func TestHostileInput(t *testing.T) {
	c := testServer(t, rest.Options{})
	c.do("PUT", "/fhir/Patient/hostile-patch-"+uniq, map[string]any{"resourceType": "Patient", "id": "hostile-patch-" + uniq, "active": true}).must(t, 201)
	for i, tc := range hostileCases {
		t.Run(tc.name, func(t *testing.T) {
			mark := uniq + "-" + string(rune('a'+i/26)) + string(rune('a'+i%26))
			ident := `"identifier":[{"system":"urn:hce:hostile","value":"` + mark + `"}]`
			body := strings.NewReplacer(
				"PATIENT", `"resourceType":"Patient",`+ident,
				"OBSERVATION", `"resourceType":"Observation",`+ident+`,"status":"final","code":{"text":"x"}`,
			).Replace(tc.body)
			resp := rawRequest(t, c, tc.method, tc.path, body, tc.headers...)
			if resp.status != tc.status {
				t.Fatalf("status %d, want %d; body: %s", resp.status, tc.status, resp.raw)
			}
			if tc.status == http.StatusOK {
				// An NDJSON load answers a batch-response: the line's entry
				// carries the 400 and its OperationOutcome.
				for _, w := range append([]string{`"400 Bad Request"`, `"OperationOutcome"`}, tc.mentions...) {
					if !strings.Contains(string(resp.raw), w) {
						t.Fatalf("the response does not mention %s: %s", w, resp.raw)
					}
				}
			} else {
				resp.outcome(t, tc.mentions...)
			}
			for _, typ := range []string{"Patient", "Observation"} {
				found := c.do("GET", "/fhir/"+typ+"?identifier=urn:hce:hostile|"+mark, nil).must(t, 200)
				if entries, _ := found.body["entry"].([]any); len(entries) > 0 {
					t.Fatalf("a %s was stored: %s", typ, found.raw)
				}
			}
			c.do("GET", "/fhir/Patient/hostile-twice", nil).must(t, 404)
			c.do("GET", "/healthz", nil).must(t, 200)
		})
	}
	if v := c.do("GET", "/fhir/Patient/hostile-patch-"+uniq, nil).must(t, 200).str("meta.versionId"); v != "1" {
		t.Fatalf("the NUL patch made version %s", v)
	}
}

// TestEmptyIfMatchIsNotUnconditional checks that an update with an empty
// If-Match leaves the resource as it was.
func TestEmptyIfMatchIsNotUnconditional(t *testing.T) {
	c := testServer(t, rest.Options{})
	id := "empty-match-" + uniq
	c.do("PUT", "/fhir/Patient/"+id, map[string]any{"resourceType": "Patient", "id": id, "active": true}).must(t, 201)
	rawRequest(t, c, "PUT", "/fhir/Patient/"+id, `{"resourceType":"Patient","id":"`+id+`","active":false}`, "If-Match", "EMPTY").must(t, 400).outcome(t, "If-Match")
	got := c.do("GET", "/fhir/Patient/"+id, nil).must(t, 200)
	if got.str("meta.versionId") != "1" || got.body["active"] != true {
		t.Fatalf("the resource changed: %s", got.raw)
	}
}

// rawRequest sends body as it is (invalid UTF-8 included); a header value
// EMPTY is sent as an empty header.
func rawRequest(t *testing.T, c *client, method, path, body string, headers ...string) *response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	for i := 0; i+1 < len(headers); i += 2 {
		v := headers[i+1]
		if v == "EMPTY" {
			v = ""
		}
		req.Header[http.CanonicalHeaderKey(headers[i])] = []string{v}
	}
	return c.send(req)
}
