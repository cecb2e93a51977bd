package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/rest"
)

// TestEverythingPaging pages through Patient/X/$everything: every resource of
// the compartment and every shared resource it references comes exactly
// once over all pages, also while other clients write and when the patient
// has more AuditEvents than a page holds (they are left out by the query,
// not from its pages); POST with a Parameters body answers as GET.
func TestEverythingPaging(t *testing.T) {
	s := newAuthServer(t, rest.Options{})
	admin := s.with("system/*.cruds", "")
	org := admin.do("POST", "/fhir/Organization", map[string]any{"resourceType": "Organization", "name": "Paging " + uniq}).must(t, 201).str("id")
	doc := admin.do("POST", "/fhir/Practitioner", map[string]any{"resourceType": "Practitioner"}).must(t, 201).str("id")
	pid := admin.do("POST", "/fhir/Patient", patient("Paging"+uniq)).must(t, 201).str("id")
	want := map[string]bool{"Patient/" + pid: true, "Organization/" + org: true, "Practitioner/" + doc: true}
	for i := range 12 {
		o := observation("Patient/" + pid)
		o["performer"] = []any{map[string]any{"reference": "Organization/" + org}, map[string]any{"reference": "Practitioner/" + doc}}
		if i%3 == 0 {
			o["performer"] = []any{map[string]any{"reference": "Organization/" + org}}
		}
		want["Observation/"+admin.do("POST", "/fhir/Observation", o).must(t, 201).str("id")] = true
	}
	for range 2 {
		e := map[string]any{"resourceType": "Encounter", "status": "finished", "class": map[string]any{"code": "AMB"},
			"subject": map[string]any{"reference": "Patient/" + pid}, "serviceProvider": map[string]any{"reference": "Organization/" + org}}
		want["Encounter/"+admin.do("POST", "/fhir/Encounter", e).must(t, 201).str("id")] = true
	}
	// Reads of the patient leave more AuditEvents than a page holds.
	written := s.audit.Written()
	for range 12 {
		admin.do("GET", "/fhir/Patient/"+pid, nil).must(t, 200)
	}
	for deadline := time.Now().Add(5 * time.Second); s.audit.Written() < written+12 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}

	got := map[string]int{}
	pages := 0
	next := "/fhir/Patient/" + pid + "/$everything?_count=5"
	for next != "" && pages < 20 {
		r := admin.do("GET", next, nil).must(t, 200)
		pages++
		es := r.entries(t)
		if len(es) == 0 {
			t.Errorf("page %d is empty", pages)
		}
		for _, e := range es {
			res := e["resource"].(map[string]any)
			got[res["resourceType"].(string)+"/"+res["id"].(string)]++
		}
		// Another patient's write between pages changes nothing here.
		admin.do("POST", "/fhir/Observation", observation("Patient/"+admin.do("POST", "/fhir/Patient", patient("Other")).must(t, 201).str("id"))).must(t, 201)
		next = ""
		for _, l := range r.body["link"].([]any) {
			if l := l.(map[string]any); l["relation"] == "next" {
				u, _ := url.Parse(l["url"].(string))
				next = u.RequestURI()
			}
		}
	}
	for ref, n := range got {
		if n != 1 {
			t.Errorf("%s came %d times", ref, n)
		}
		if !want[ref] {
			t.Errorf("%s is not in the patient's $everything", ref)
		}
		if strings.HasPrefix(ref, "AuditEvent/") {
			t.Errorf("%s without _type=AuditEvent", ref)
		}
	}
	for ref := range want {
		if got[ref] == 0 {
			t.Errorf("%s missing from $everything", ref)
		}
	}
	if pages != (len(want)+4)/5 {
		t.Errorf("%d resources in %d pages of 5", len(want), pages)
	}
	// POST with a Parameters body answers the same first page.
	params := map[string]any{"resourceType": "Parameters", "parameter": []any{map[string]any{"name": "_count", "valueInteger": 5}}}
	post := admin.do("POST", "/fhir/Patient/"+pid+"/$everything", params).must(t, 200).entries(t)
	first := admin.do("GET", "/fhir/Patient/"+pid+"/$everything?_count=5", nil).must(t, 200).entries(t)
	if len(post) != 5 || len(first) != 5 {
		t.Fatalf("POST gave %d entries, GET %d, want 5", len(post), len(first))
	}
	for i := range post {
		if a, b := post[i]["fullUrl"], first[i]["fullUrl"]; a != b {
			t.Errorf("entry %d: POST %v, GET %v", i, a, b)
		}
	}

	// The AuditEvents are there when asked for.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := admin.do("GET", "/fhir/Patient/"+pid+"/$everything?_type=AuditEvent&_count=50", nil).must(t, 200)
		if len(r.entries(t)) >= 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("$everything?_type=AuditEvent: %d entries, want the 12 reads", len(r.entries(t)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
