package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hce-fhir/hce/rest"
)

func TestCapabilityStatement(t *testing.T) {
	c := testServer(t, rest.Options{})
	r := c.do("GET", "/fhir/metadata", nil).must(t, 200)
	if r.str("resourceType") != "CapabilityStatement" || r.str("fhirVersion") != "4.0.1" {
		t.Fatalf("unexpected metadata: %s", r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		t.Errorf("Content-Type %q", ct)
	}
	rest0 := r.body["rest"].([]any)[0].(map[string]any)
	resources := rest0["resource"].([]any)
	if len(resources) < 140 {
		t.Errorf("CapabilityStatement lists %d resource types, want every R4 type", len(resources))
	}
	var obs map[string]any
	for _, res := range resources {
		if m := res.(map[string]any); m["type"] == "Observation" {
			obs = m
		}
	}
	var codes []string
	for _, i := range obs["interaction"].([]any) {
		codes = append(codes, i.(map[string]any)["code"].(string))
	}
	if got := strings.Join(codes, ","); got != "read,vread,update,patch,delete,history-instance,history-type,create,search-type" {
		t.Errorf("Observation interactions %s", got)
	}
	// Every claimed search parameter is one the server answers: searching
	// by each must not fail.
	params, _ := obs["searchParam"].([]any)
	if len(params) < 30 {
		t.Fatalf("Observation claims %d search parameters", len(params))
	}
	for _, p := range params {
		name := p.(map[string]any)["name"].(string)
		c.do("GET", "/fhir/Observation?"+name+":missing=true&_count=1", nil, "Prefer", "handling=strict").must(t, 200)
	}
	var sys []string
	for _, i := range rest0["interaction"].([]any) {
		sys = append(sys, i.(map[string]any)["code"].(string))
	}
	if got := strings.Join(sys, ","); got != "transaction,batch,history-system" {
		t.Errorf("system interactions %s", got)
	}
}

func TestCreateRead(t *testing.T) {
	c := testServer(t, rest.Options{})
	p := patient("Create")
	p["id"] = "client-chosen" // create ignores the body's id
	r := c.do("POST", "/fhir/Patient", p).must(t, 201)
	id := r.str("id")
	if id == "" || id == "client-chosen" {
		t.Fatalf("server did not assign an id: %q", id)
	}
	if loc := r.header.Get("Location"); !strings.HasSuffix(loc, "/fhir/Patient/"+id+"/_history/1") || !strings.HasPrefix(loc, "http://") {
		t.Errorf("Location %q", loc)
	}
	if et := r.header.Get("ETag"); et != `W/"1"` {
		t.Errorf("ETag %q", et)
	}
	if _, err := http.ParseTime(r.header.Get("Last-Modified")); err != nil {
		t.Errorf("Last-Modified %q: %v", r.header.Get("Last-Modified"), err)
	}
	if r.str("meta.versionId") != "1" || r.str("meta.lastUpdated") == "" {
		t.Errorf("meta not set: %s", r.raw)
	}

	got := c.do("GET", "/fhir/Patient/"+id, nil).must(t, 200)
	if got.str("name") != "" || got.str("birthDate") != "1970-01-01" || got.str("meta.versionId") != "1" {
		t.Errorf("read back %s", got.raw)
	}
	if got.str("meta.lastUpdated") != r.str("meta.lastUpdated") {
		t.Errorf("lastUpdated changed between create (%s) and read (%s)", r.str("meta.lastUpdated"), got.str("meta.lastUpdated"))
	}

	t.Run("unknown id is 404", func(t *testing.T) {
		c.do("GET", "/fhir/Patient/does-not-exist", nil).must(t, 404).outcome(t, "is not known")
	})
	t.Run("If-None-Match current is 304", func(t *testing.T) {
		c.do("GET", "/fhir/Patient/"+id, nil, "If-None-Match", `W/"1"`).must(t, 304)
	})
	t.Run("If-None-Match stale is 200", func(t *testing.T) {
		c.do("GET", "/fhir/Patient/"+id, nil, "If-None-Match", `W/"7"`).must(t, 200)
	})
	t.Run("If-Modified-Since later is 304", func(t *testing.T) {
		c.do("GET", "/fhir/Patient/"+id, nil, "If-Modified-Since", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)).must(t, 304)
	})
	t.Run("If-Modified-Since earlier is 200", func(t *testing.T) {
		c.do("GET", "/fhir/Patient/"+id, nil, "If-Modified-Since", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)).must(t, 200)
	})
}

func TestUpdateVReadDelete(t *testing.T) {
	c := testServer(t, rest.Options{})
	id := c.do("POST", "/fhir/Patient", patient("V1")).must(t, 201).str("id")
	p := patient("V2")
	p["id"] = id
	up := c.do("PUT", "/fhir/Patient/"+id, p).must(t, 200)
	if up.str("meta.versionId") != "2" || up.header.Get("ETag") != `W/"2"` {
		t.Fatalf("update gave %s / %s", up.header.Get("ETag"), up.raw)
	}

	t.Run("vread", func(t *testing.T) {
		v1 := c.do("GET", "/fhir/Patient/"+id+"/_history/1", nil).must(t, 200)
		if !strings.Contains(string(v1.raw), `"V1"`) || v1.str("meta.versionId") != "1" {
			t.Errorf("version 1 is %s", v1.raw)
		}
		v2 := c.do("GET", "/fhir/Patient/"+id+"/_history/2", nil).must(t, 200)
		if !strings.Contains(string(v2.raw), `"V2"`) {
			t.Errorf("version 2 is %s", v2.raw)
		}
		c.do("GET", "/fhir/Patient/"+id+"/_history/9", nil).must(t, 404).outcome(t)
		c.do("GET", "/fhir/Patient/"+id+"/_history/x", nil).must(t, 400).outcome(t, "version")
	})

	t.Run("stale If-Match is 412", func(t *testing.T) {
		c.do("PUT", "/fhir/Patient/"+id, p, "If-Match", `W/"1"`).must(t, 412).outcome(t, "version 1")
		c.do("DELETE", "/fhir/Patient/"+id, nil, "If-Match", `W/"1"`).must(t, 412).outcome(t)
		c.do("PUT", "/fhir/Patient/"+id, p, "If-Match", `bogus`).must(t, 400).outcome(t, "If-Match")
	})
	t.Run("matching If-Match updates", func(t *testing.T) {
		c.do("PUT", "/fhir/Patient/"+id, p, "If-Match", `W/"2"`).must(t, 200)
	})

	t.Run("delete", func(t *testing.T) {
		d := c.do("DELETE", "/fhir/Patient/"+id, nil).must(t, 204)
		if d.header.Get("ETag") != `W/"4"` {
			t.Errorf("delete ETag %q", d.header.Get("ETag"))
		}
		c.do("GET", "/fhir/Patient/"+id, nil).must(t, 410).outcome(t)
		c.do("GET", "/fhir/Patient/"+id+"/_history/4", nil).must(t, 410)
		c.do("GET", "/fhir/Patient/"+id+"/_history/3", nil).must(t, 200)
		// Idempotent: a second delete writes no version.
		c.do("DELETE", "/fhir/Patient/"+id, nil).must(t, 204)
		c.do("DELETE", "/fhir/Patient/never-was", nil).must(t, 204)
		h := c.do("GET", "/fhir/Patient/"+id+"/_history", nil).must(t, 200)
		if n := len(h.body["entry"].([]any)); n != 4 {
			t.Errorf("history has %d versions after delete, want 4", n)
		}
		// Updating a deleted resource brings it back as the next version.
		again := c.do("PUT", "/fhir/Patient/"+id, p).must(t, 201)
		if again.str("meta.versionId") != "5" {
			t.Errorf("resurrected as version %s", again.str("meta.versionId"))
		}
	})
}

func TestUpdateAsCreate(t *testing.T) {
	c := testServer(t, rest.Options{})
	id := fmt.Sprintf("uac-%d", time.Now().UnixNano())
	p := patient("Client")
	p["id"] = id
	r := c.do("PUT", "/fhir/Patient/"+id, p).must(t, 201)
	if r.str("meta.versionId") != "1" || !strings.HasSuffix(r.header.Get("Location"), "/Patient/"+id+"/_history/1") {
		t.Errorf("update as create: %s %s", r.header.Get("Location"), r.raw)
	}
	c.do("GET", "/fhir/Patient/"+id, nil).must(t, 200)
	t.Run("If-Match on a new id is 412", func(t *testing.T) {
		q := patient("X")
		q["id"] = id + "-new"
		c.do("PUT", "/fhir/Patient/"+id+"-new", q, "If-Match", `W/"1"`).must(t, 412)
		c.do("GET", "/fhir/Patient/"+id+"-new", nil).must(t, 404)
	})
	t.Run("Observation moves with its patient", func(t *testing.T) {
		obs := map[string]any{"resourceType": "Observation", "id": id + "-obs", "status": "final",
			"code":    map[string]any{"text": "weight"},
			"subject": map[string]any{"reference": "Patient/" + id}}
		c.do("PUT", "/fhir/Observation/"+id+"-obs", obs).must(t, 201)
		obs["subject"] = map[string]any{"reference": "Patient/other-" + id}
		c.do("PUT", "/fhir/Observation/"+id+"-obs", obs).must(t, 200)
		got := c.do("GET", "/fhir/Observation/"+id+"-obs", nil).must(t, 200)
		if !strings.Contains(string(got.raw), "Patient/other-"+id) {
			t.Errorf("read after moving patients: %s", got.raw)
		}
		c.do("GET", "/fhir/Observation/"+id+"-obs/_history/1", nil).must(t, 200)
		h := c.do("GET", "/fhir/Observation/"+id+"-obs/_history", nil).must(t, 200)
		if n := len(h.body["entry"].([]any)); n != 2 {
			t.Errorf("history after the move has %d versions, want 2", n)
		}
	})
}

func TestPrefer(t *testing.T) {
	c := testServer(t, rest.Options{})
	tests := []struct {
		prefer   string
		wantBody string // "" for no body
	}{
		{"return=minimal", ""},
		{"return=representation", "Patient"},
		{"return=OperationOutcome", "OperationOutcome"},
		{"", "Patient"},
	}
	for _, tt := range tests {
		t.Run(tt.prefer, func(t *testing.T) {
			r := c.do("POST", "/fhir/Patient", patient("Prefer"), "Prefer", tt.prefer).must(t, 201)
			if r.header.Get("Location") == "" || r.header.Get("ETag") != `W/"1"` {
				t.Errorf("headers missing: %v", r.header)
			}
			if tt.wantBody == "" {
				if len(r.raw) != 0 {
					t.Errorf("minimal returned a body: %s", r.raw)
				}
				return
			}
			if r.str("resourceType") != tt.wantBody {
				t.Errorf("body %s, want a %s", r.raw, tt.wantBody)
			}
		})
	}
}

func TestFormats(t *testing.T) {
	c := testServer(t, rest.Options{})
	id := c.do("POST", "/fhir/Patient", patient("Format")).must(t, 201).str("id")
	tests := []struct {
		name, query, accept string
		status              int
		contentType         string
	}{
		{"default", "", "", 200, "application/fhir+json"},
		{"accept fhir json", "", "application/fhir+json", 200, "application/fhir+json"},
		{"accept json", "", "application/json", 200, "application/json"},
		{"accept any", "", "*/*", 200, "application/fhir+json"},
		{"accept list", "", "application/fhir+xml;q=0.9, application/json;q=0.5", 200, "application/json"},
		{"_format json", "?_format=json", "application/fhir+xml", 200, "application/fhir+json"},
		{"_format mime", "?_format=application/fhir%2Bjson", "", 200, "application/fhir+json"},
		{"accept xml", "", "application/fhir+xml", 406, "application/fhir+json"},
		{"_format xml", "?_format=xml", "", 406, "application/fhir+json"},
		{"accept html", "", "text/html", 406, "application/fhir+json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do("GET", "/fhir/Patient/"+id+tt.query, nil, "Accept", tt.accept).must(t, tt.status)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tt.contentType)
			}
			if tt.status == 406 {
				r.outcome(t, "application/fhir+json")
			}
		})
	}
}

// TestConcurrentUpdates checks that versions have no gaps and no update is
// lost when many clients update one resource at once.
func TestConcurrentUpdates(t *testing.T) {
	c := testServer(t, rest.Options{})
	id := c.do("POST", "/fhir/Patient", patient("Race")).must(t, 201).str("id")
	const clients, each = 16, 8
	var wg sync.WaitGroup
	errs := make(chan string, clients*each)
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				p := patient(fmt.Sprintf("w%d-%d", w, i))
				p["id"] = id
				r := c.do("PUT", "/fhir/Patient/"+id, p)
				if r.status != 200 {
					errs <- fmt.Sprintf("status %d: %s", r.status, r.raw)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	want := 1 + clients*each
	cur := c.do("GET", "/fhir/Patient/"+id, nil).must(t, 200)
	if cur.str("meta.versionId") != fmt.Sprint(want) {
		t.Fatalf("current version %s, want %d", cur.str("meta.versionId"), want)
	}
	seen := map[string]bool{}
	next := "/fhir/Patient/" + id + "/_history?_count=50"
	for next != "" {
		h := c.do("GET", next, nil).must(t, 200)
		for _, e := range h.body["entry"].([]any) {
			res := e.(map[string]any)["resource"].(map[string]any)
			seen[res["meta"].(map[string]any)["versionId"].(string)] = true
		}
		next = link(h, "next", c.base)
	}
	for v := 1; v <= want; v++ {
		if !seen[fmt.Sprint(v)] {
			t.Errorf("version %d missing from history", v)
		}
	}
	if len(seen) != want {
		t.Errorf("history has %d versions, want %d", len(seen), want)
	}
}

// link returns the path of a Bundle link, "" when absent.
func link(r *response, rel, base string) string {
	links, _ := r.body["link"].([]any)
	for _, l := range links {
		m := l.(map[string]any)
		if m["relation"] == rel {
			return strings.TrimPrefix(m["url"].(string), base)
		}
	}
	return ""
}
