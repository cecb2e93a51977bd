package validate

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/fhir"
)

// bundleCases are Bundles whose issues lie in the entries' resources, in
// the Bundle's own elements around them, or in the JSON itself.
var bundleCases = []struct{ name, body string }{
	{"valid", `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","birthDate":"2020-01-01"}},{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"}}}]}`},
	{"rule in an entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}},{"resource":{"resourceType":"Patient","birthDate":"2020-13-45"}}]}`},
	{"models' issues around an entry", `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"GET"},"resource":{"resourceType":"Patient","gender":"x","foo":1},"response":{},"search":{"mode":"x"}},{"fullUrl":1,"resource":{"resourceType":"Patient","id":"a b"}}]}`},
	{"models' issues over the limit", `{"resourceType":"Bundle","type":"collection","entry":[` + strings.Repeat(`{"resource":{"resourceType":"Patient","a":1,"b":2,"c":3},"x":1},`, 8) + `{"resource":{"resourceType":"Patient"}}],"zzz":1}`},
	{"rules' issues over the limit", `{"resourceType":"Bundle","type":"collection","entry":[` + strings.Repeat(`{"resource":{"resourceType":"Patient","birthDate":"2020-13-45","name":[{"id":"a"}]}},{"fullUrl":"urn:uuid:x"},`, 30) + `{"resource":{"resourceType":"Patient"}}],"total":3}`},
	{"models' issues hide rules' issues", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","birthDate":"2020-13-45"}},{"resource":{"resourceType":"Patient","x":1}}]}`},
	{"models' issue in the Bundle hides rules' issues", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","birthDate":"2020-13-45"}}],"x":1}`},
	{"unknown type in an entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Nope"}},{"resource":{}}]}`},
	{"a resource that is not an object", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":"Patient"},{"resource":[]},{"resource":{"resourceType":"Patient"}}]}`},
	{"an entry that is not an object", `{"resourceType":"Bundle","type":"collection","entry":[1,{"resource":{"resourceType":"Patient"}}]}`},
	{"a Bundle in an entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","birthDate":"x"}}]}}]}`},
	{"resourceType last", `{"type":"collection","entry":[{"resource":{"resourceType":"Patient","birthDate":"x"}}],"resourceType":"Bundle"}`},
	{"bad id of the Bundle", `{"resourceType":"Bundle","id":"a b","type":"collection","entry":[{"resource":{"resourceType":"Patient","x":1}}]}`},
	{"escaped keys", `{"resourceType":"Bundle","type":"collection","\u0065ntry":[{"r\u0065source":{"resourceType":"Patient","birthDate":"x"}}]}`},
	{"malformed literal in an entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","active":tru}}]}`},
	{"malformed number in an entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","multipleBirthInteger":01}}]}`},
	{"malformed JSON after the entries", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}}],"total":1x}`},
	{"content after the Bundle", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}}]} {}`},
	{"unterminated", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}}`},
	{"no entries", `{"resourceType":"Bundle","type":"collection"}`},
	{"bdl-5", `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:1"},{"resource":{"resourceType":"Patient"}}]}`},
	{"contained in an entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p"}],"subject":{"reference":"#q"}}}]}`},
}

// TestParseEntries checks that validating a Bundle entry by entry finds
// what Parse finds, the same issues in the same order, and that the Bundle
// and its entries' resources together are the body Parse decodes.
func TestParseEntries(t *testing.T) {
	v := New(Options{})
	for _, tc := range bundleCases {
		t.Run(tc.name, func(t *testing.T) {
			sameAsParse(t, v, []byte(tc.body))
		})
	}
	files, _ := filepath.Glob("../fhir/testdata/examples/Bundle/*.json")
	if len(files) == 0 {
		t.Fatal("no Bundle examples")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !sameAsParse(t, realData, body) {
				t.Error("an official example is rejected")
			}
		})
	}
}

// TestParseEntriesSynthea does the same for the Synthea bundles, valid as
// they are and with a broken element in one of their entries.
func TestParseEntriesSynthea(t *testing.T) {
	files := syntheaBundles(t)
	for _, f := range files[:min(len(files), 6)] {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body := string(readGzip(t, f))
			if !sameAsParse(t, realData, []byte(body)) {
				t.Error("rejected")
			}
			for _, b := range []struct{ at, with string }{
				{`"status": "`, `"_x": 1, "status": "nonsense`}, // the models'
				{`"birthDate": "19`, `"birthDate": "19-`},       // a rule's
			} {
				if i := strings.LastIndex(body, b.at); i >= 0 {
					if sameAsParse(t, realData, []byte(body[:i]+b.with+body[i+len(b.at):])) {
						t.Errorf("accepted with %s", b.with)
					}
				}
			}
		})
	}
}

// sameAsParse compares ParseEntries with Parse on body and reports whether
// body is valid.
func sameAsParse(t *testing.T, v *Validator, body []byte) bool {
	t.Helper()
	want, wantErr := v.Parse(body)
	got, entries, err := v.ParseEntries(body)
	if !reflect.DeepEqual(err, wantErr) {
		t.Fatalf("ParseEntries: %v\nParse:        %v", err, wantErr)
	}
	if wantErr != nil {
		if got != nil || entries != nil {
			t.Fatalf("a result beside the error: %v, %d entries", got, len(entries))
		}
		return false
	}
	if want.Type != "Bundle" {
		if entries != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("a %s is not returned as Parse returns it", want.Type)
		}
		return true
	}
	list, _ := got.Content["entry"].([]any)
	if len(entries) != len(list) {
		t.Fatalf("%d entries for %d", len(entries), len(list))
	}
	for i, e := range entries {
		item := list[i].(map[string]any)
		if _, ok := item["resource"]; ok {
			t.Fatalf("entry %d keeps its resource", i)
		}
		if e.JSON == nil {
			continue
		}
		doc, err := fhir.DecodeObject(e.JSON)
		if err != nil {
			t.Fatal(err)
		}
		if doc["resourceType"] != e.Type {
			t.Fatalf("entry %d: type %q, resource of type %v", i, e.Type, doc["resourceType"])
		}
		item["resource"] = doc
	}
	if got.Type != want.Type || got.ID != want.ID || !reflect.DeepEqual(got.Content, want.Content) {
		t.Fatal("the Bundle with its entries' resources is not what Parse decodes")
	}
	return true
}
