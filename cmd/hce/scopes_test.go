package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/rest"
)

// TestScopesPerInteraction checks every interaction against a scope that
// allows it and one that does not, for v2 and v1 scopes, user/ and system/.
func TestScopesPerInteraction(t *testing.T) {
	s := newAuthServer(t, rest.Options{})
	admin := s.with("system/*.cruds", "")
	pid := admin.do("POST", "/fhir/Patient", patient("Scope"+uniq)).must(t, 201).str("id")
	oid := admin.do("POST", "/fhir/Observation", observation("Patient/"+pid)).must(t, 201).str("id")
	obs := func() map[string]any {
		o := observation("Patient/" + pid)
		o["id"] = oid
		return o
	}
	patch := `[{"op":"replace","path":"/status","value":"amended"}]`
	ndjson := func() string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` + pid + `"}}` + "\n"
	}
	tests := []struct {
		name         string
		allow, deny  string
		method, path string
		body         any
		headers      []string
		want         int
	}{
		{"read", "user/Observation.r", "user/Observation.s", "GET", "/fhir/Observation/" + oid, nil, nil, 200},
		{"read v1", "user/Observation.read", "user/Observation.write", "GET", "/fhir/Observation/" + oid, nil, nil, 200},
		{"vread", "system/Observation.r", "system/Observation.cuds", "GET", "/fhir/Observation/" + oid + "/_history/1", nil, nil, 200},
		{"search", "user/Observation.s", "user/Observation.r", "GET", "/fhir/Observation?subject=Patient/" + pid, nil, nil, 200},
		{"search POST", "user/*.s", "user/Patient.s", "POST", "/fhir/Observation/_search", "code=8867-4", []string{"Content-Type", "application/x-www-form-urlencoded"}, 200},
		{"compartment search", "user/Observation.s", "user/Patient.rs", "GET", "/fhir/Patient/" + pid + "/Observation", nil, nil, 200},
		{"history instance", "user/Observation.r", "user/Observation.s", "GET", "/fhir/Observation/" + oid + "/_history", nil, nil, 200},
		{"history type", "user/Observation.s", "user/Observation.r", "GET", "/fhir/Observation/_history", nil, nil, 200},
		{"everything", "user/*.rs", "user/Observation.rs", "GET", "/fhir/Patient/" + pid + "/$everything", nil, nil, 200},
		{"create", "user/Observation.c", "user/Observation.rus", "POST", "/fhir/Observation", observation("Patient/" + pid), nil, 201},
		{"create v1", "user/Observation.write", "user/Observation.read", "POST", "/fhir/Observation", observation("Patient/" + pid), nil, 201},
		{"update", "user/Observation.u", "user/Observation.crds", "PUT", "/fhir/Observation/" + oid, obs(), nil, 200},
		{"update as create needs c", "user/Observation.cu", "user/Observation.u", "PUT", "/fhir/Observation/new-" + uniq, func() map[string]any {
			o := observation("Patient/" + pid)
			o["id"] = "new-" + uniq
			return o
		}(), nil, 201},
		{"patch", "user/Observation.ru", "user/Observation.r", "PATCH", "/fhir/Observation/" + oid, patch, []string{"Content-Type", "application/json-patch+json"}, 200},
		{"conditional create", "user/Observation.crs", "user/Observation.c", "POST", "/fhir/Observation", observation("Patient/" + pid), []string{"If-None-Exist", "identifier=cc-" + uniq}, 201},
		{"conditional update", "user/Observation.cus", "user/Observation.cu", "PUT", "/fhir/Observation?identifier=cu-" + uniq, observation("Patient/" + pid), nil, 201},
		{"conditional delete", "user/Observation.ds", "user/Observation.d", "DELETE", "/fhir/Observation?identifier=none-" + uniq, nil, nil, 204},
		{"delete", "user/Observation.d", "user/Observation.cru", "DELETE", "/fhir/Observation/" + oid, nil, nil, 204},
		{"NDJSON load", "system/Observation.c", "system/Observation.rs", "POST", "/fhir", ndjson(), []string{"Content-Type", "application/fhir+ndjson"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.with(tt.deny, "").do(tt.method, tt.path, tt.body, tt.headers...)
			if tt.name == "NDJSON load" {
				// The load answers 200; each line carries its own status.
				r.must(t, 200)
				if e := r.entries(t); len(e) != 1 || !strings.HasPrefix(entryStatus(e[0]), "403") {
					t.Fatalf("denied line: %s", r.raw)
				}
			} else {
				r.must(t, 403).outcome(t, "scope")
			}
			r = s.with(tt.allow, "").do(tt.method, tt.path, tt.body, tt.headers...).must(t, tt.want)
			if tt.name == "NDJSON load" {
				if e := r.entries(t); !strings.HasPrefix(entryStatus(e[0]), "201") {
					t.Fatalf("allowed line: %s", r.raw)
				}
			}
		})
	}

	t.Run("batch entries one by one", func(t *testing.T) {
		b := bundleOf("batch",
			post("urn:uuid:1", observation("Patient/"+pid)),
			request("GET", "Patient/"+pid, nil),
			request("GET", "Observation?subject=Patient/"+pid, nil))
		r := s.with("user/Observation.c user/Patient.r", "").do("POST", "/fhir", b).must(t, 200)
		var got []string
		for _, e := range r.entries(t) {
			got = append(got, entryStatus(e)[:3])
		}
		if !slices.Equal(got, []string{"201", "200", "403"}) {
			t.Fatalf("entry statuses %v, want [201 200 403]", got)
		}
	})

	t.Run("transaction fails whole on a denied entry", func(t *testing.T) {
		b := bundleOf("transaction",
			post("urn:uuid:1", map[string]any{"resourceType": "Patient", "identifier": []any{map[string]any{"value": "tx-" + uniq}}}),
			post("urn:uuid:2", observation("urn:uuid:1")))
		s.with("user/Patient.c", "").do("POST", "/fhir", b).must(t, 403).outcome(t, "Bundle.entry[1]")
		if n := len(admin.do("GET", "/fhir/Patient?identifier=tx-"+uniq, nil).must(t, 200).entries(t)); n != 0 {
			t.Fatalf("a denied transaction stored %d Patients", n)
		}
		s.with("user/Patient.c user/Observation.c", "").do("POST", "/fhir", b).must(t, 200)
	})

	t.Run("includes, chains and _has need read on their types", func(t *testing.T) {
		only := s.with("user/Observation.rs", "")
		r := only.do("GET", "/fhir/Observation?subject=Patient/"+pid+"&_include=Observation:subject", nil).must(t, 200)
		for _, e := range r.entries(t) {
			if strings.Contains(e["fullUrl"].(string), "/Patient/") {
				t.Fatalf("_include returned a Patient the token may not read: %s", r.raw)
			}
		}
		only.do("GET", "/fhir/Observation?subject:Patient.name=Scope"+uniq, nil).must(t, 403)
		s.with("user/Patient.rs", "").do("GET", "/fhir/Patient?_has:Observation:subject:code=8867-4", nil).must(t, 403)
		s.with("user/Patient.rs user/Observation.r", "").do("GET", "/fhir/Patient?_has:Observation:subject:code=8867-4", nil).must(t, 200)
		// A conditional interaction's criteria are a search too.
		only.do("DELETE", "/fhir/Observation?subject:Patient.name=x", nil).must(t, 403)
	})
}
