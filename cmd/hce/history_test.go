package main

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/hce-fhir/hce/rest"
)

func TestHistory(t *testing.T) {
	c := testServer(t, rest.Options{})
	// A resource type of its own keeps the type-level assertions exact even
	// when the suite shares its database with other tests.
	typ := "Substance"
	tag := fmt.Sprintf("h%d", time.Now().UnixNano())
	sub := func(id, text string) map[string]any {
		return map[string]any{"resourceType": typ, "id": id, "code": map[string]any{"text": text}}
	}
	start := time.Now().UTC()
	a, b := tag+"-a", tag+"-b"
	c.do("PUT", "/fhir/"+typ+"/"+a, sub(a, "a1")).must(t, 201)
	c.do("PUT", "/fhir/"+typ+"/"+b, sub(b, "b1")).must(t, 201)
	c.do("PUT", "/fhir/"+typ+"/"+a, sub(a, "a2")).must(t, 200)
	c.do("DELETE", "/fhir/"+typ+"/"+b, nil).must(t, 204)

	t.Run("instance newest first", func(t *testing.T) {
		h := c.do("GET", "/fhir/"+typ+"/"+a+"/_history", nil).must(t, 200)
		if h.str("type") != "history" {
			t.Fatalf("Bundle type %q", h.str("type"))
		}
		entries := h.body["entry"].([]any)
		if len(entries) != 2 {
			t.Fatalf("%d entries", len(entries))
		}
		first := entries[0].(map[string]any)
		if first["request"].(map[string]any)["method"] != "PUT" || first["response"].(map[string]any)["etag"] != `W/"2"` {
			t.Errorf("newest entry %v", first)
		}
		last := entries[1].(map[string]any)
		if last["request"].(map[string]any)["method"] != "POST" {
			t.Errorf("oldest entry %v", last)
		}
	})
	t.Run("deleted version has no resource", func(t *testing.T) {
		h := c.do("GET", "/fhir/"+typ+"/"+b+"/_history", nil).must(t, 200)
		e := h.body["entry"].([]any)[0].(map[string]any)
		if e["request"].(map[string]any)["method"] != "DELETE" || e["resource"] != nil {
			t.Errorf("deletion entry %v", e)
		}
	})
	t.Run("type history with _since and paging", func(t *testing.T) {
		var methods []string
		next := "/fhir/" + typ + "/_history?_count=1&_since=" + url.QueryEscape(start.Add(-time.Second).Format(time.RFC3339))
		pages := 0
		for next != "" {
			h := c.do("GET", next, nil).must(t, 200)
			pages++
			for _, e := range h.body["entry"].([]any) {
				m := e.(map[string]any)
				methods = append(methods, m["request"].(map[string]any)["method"].(string)+" "+m["fullUrl"].(string)[len(c.base):])
			}
			next = link(h, "next", c.base)
		}
		want := []string{"DELETE /fhir/" + typ + "/" + b, "PUT /fhir/" + typ + "/" + a, "POST /fhir/" + typ + "/" + b, "POST /fhir/" + typ + "/" + a}
		if fmt.Sprint(methods) != fmt.Sprint(want) || pages != 4 {
			t.Errorf("history pages=%d:\n got %v\nwant %v", pages, methods, want)
		}
	})
	t.Run("_since in the future is empty", func(t *testing.T) {
		h := c.do("GET", "/fhir/"+typ+"/_history?_since="+url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), nil).must(t, 200)
		if h.body["entry"] != nil {
			t.Errorf("entries after _since: %s", h.raw)
		}
	})
	t.Run("system history includes them", func(t *testing.T) {
		h := c.do("GET", "/fhir/_history?_count=1000&_since="+url.QueryEscape(start.Add(-time.Second).Format(time.RFC3339)), nil).must(t, 200)
		n := 0
		for _, e := range h.body["entry"].([]any) {
			if u := e.(map[string]any)["fullUrl"].(string); u == c.base+"/fhir/"+typ+"/"+a || u == c.base+"/fhir/"+typ+"/"+b {
				n++
			}
		}
		if n != 4 {
			t.Errorf("system history holds %d of the 4 versions", n)
		}
	})
	t.Run("errors", func(t *testing.T) {
		c.do("GET", "/fhir/"+typ+"/_history?_count=0", nil).must(t, 400).outcome(t, "_count")
		c.do("GET", "/fhir/"+typ+"/_history?_since=yesterday", nil).must(t, 400).outcome(t, "_since")
		c.do("GET", "/fhir/"+typ+"/_history?_cursor=garbage!", nil).must(t, 400).outcome(t, "cursor")
		c.do("GET", "/fhir/"+typ+"/nobody/_history", nil).must(t, 404)
	})
}

func TestPatch(t *testing.T) {
	c := testServer(t, rest.Options{})
	id := c.do("POST", "/fhir/Patient", patient("Patchy")).must(t, 201).str("id")
	patch := `[{"op":"replace","path":"/birthDate","value":"1980-02-03"},{"op":"add","path":"/gender","value":"female"}]`
	ct := "application/json-patch+json"
	r := c.do("PATCH", "/fhir/Patient/"+id, patch, "Content-Type", ct).must(t, 200)
	if r.str("birthDate") != "1980-02-03" || r.str("gender") != "female" || r.str("meta.versionId") != "2" {
		t.Errorf("patched: %s", r.raw)
	}
	tests := []struct {
		name, body, contentType, ifMatch string
		status                           int
		mentions                         string
	}{
		{"stale If-Match", patch, ct, `W/"1"`, 412, "If-Match"},
		{"fresh If-Match", `[{"op":"replace","path":"/active","value":false}]`, ct, `W/"2"`, 200, ""},
		{"wrong content type", patch, "application/fhir+json", "", 415, "Content-Type"},
		{"not a patch", `{"op":"replace"}`, ct, "", 400, "JSON Patch"},
		{"path missing", `[{"op":"replace","path":"/nothere/x","value":1}]`, ct, "", 400, "cannot be applied"},
		{"result invalid", `[{"op":"add","path":"/birthDate","value":42}]`, ct, "", 400, "birthDate"},
		{"result unknown element", `[{"op":"add","path":"/colour","value":"red"}]`, ct, "", 400, "colour"},
		{"changes id", `[{"op":"replace","path":"/id","value":"other"}]`, ct, "", 400, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := []string{"Content-Type", tt.contentType}
			if tt.ifMatch != "" {
				h = append(h, "If-Match", tt.ifMatch)
			}
			r := c.do("PATCH", "/fhir/Patient/"+id, tt.body, h...).must(t, tt.status)
			if tt.mentions != "" {
				r.outcome(t, tt.mentions)
			}
		})
	}
	cur := c.do("GET", "/fhir/Patient/"+id, nil).must(t, 200)
	if cur.str("meta.versionId") != "3" {
		t.Errorf("failed patches wrote versions: now at %s", cur.str("meta.versionId"))
	}
	c.do("PATCH", "/fhir/Patient/nobody", patch, "Content-Type", ct).must(t, 404)
}
