package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hce-fhir/hce/rest"
)

// bundleOf builds a batch or transaction Bundle from entries.
func bundleOf(kind string, entries ...map[string]any) map[string]any {
	es := make([]any, len(entries))
	for i, e := range entries {
		es[i] = e
	}
	return map[string]any{"resourceType": "Bundle", "type": kind, "entry": es}
}

func post(fullURL string, res map[string]any, extra ...string) map[string]any {
	req := map[string]any{"method": "POST", "url": res["resourceType"]}
	for i := 0; i+1 < len(extra); i += 2 {
		req[extra[i]] = extra[i+1]
	}
	return map[string]any{"fullUrl": fullURL, "resource": res, "request": req}
}

func request(method, url string, res map[string]any, extra ...string) map[string]any {
	req := map[string]any{"method": method, "url": url}
	for i := 0; i+1 < len(extra); i += 2 {
		req[extra[i]] = extra[i+1]
	}
	e := map[string]any{"request": req}
	if res != nil {
		e["resource"] = res
	}
	return e
}

func observation(subject string) map[string]any {
	return map[string]any{"resourceType": "Observation", "status": "final",
		"code":    map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "8867-4"}}},
		"subject": map[string]any{"reference": subject},
		"extension": []any{map[string]any{"url": "http://example.org/source",
			"valueReference": map[string]any{"reference": subject}}},
		"valueQuantity": map[string]any{"value": 72, "unit": "/min"}}
}

// entries returns the response entries of a Bundle response.
func (r *response) entries(t *testing.T) []map[string]any {
	t.Helper()
	raw, _ := r.body["entry"].([]any)
	out := make([]map[string]any, len(raw))
	for i, e := range raw {
		out[i] = e.(map[string]any)
	}
	return out
}

func entryStatus(e map[string]any) string {
	resp, _ := e["response"].(map[string]any)
	s, _ := resp["status"].(string)
	return s
}

func entryLocation(e map[string]any) string {
	resp, _ := e["response"].(map[string]any)
	s, _ := resp["location"].(string)
	return strings.Split(s, "/_history/")[0]
}

func TestTransaction(t *testing.T) {
	c := testServer(t, rest.Options{})

	t.Run("urn:uuid references become Type/id everywhere", func(t *testing.T) {
		p := patient("Tx")
		p["identifier"] = []any{map[string]any{"system": "http://example.org/mrn", "value": "tx-1"}}
		r := c.do("POST", "/fhir", bundleOf("transaction",
			post("urn:uuid:obs-1", observation("urn:uuid:pat-1")),
			post("urn:uuid:pat-1", p),
		)).must(t, 200)
		if r.str("type") != "transaction-response" {
			t.Fatalf("type %q", r.str("type"))
		}
		es := r.entries(t)
		if len(es) != 2 || entryStatus(es[0]) != "201 Created" || entryStatus(es[1]) != "201 Created" {
			t.Fatalf("entries %s", r.raw)
		}
		patRef := entryLocation(es[1])
		if !strings.HasPrefix(patRef, "Patient/") {
			t.Fatalf("patient location %q", patRef)
		}
		obs := c.do("GET", "/fhir/"+entryLocation(es[0]), nil).must(t, 200)
		if got := obs.body["subject"].(map[string]any)["reference"]; got != patRef {
			t.Errorf("subject %v, want %s", got, patRef)
		}
		ext := obs.body["extension"].([]any)[0].(map[string]any)["valueReference"].(map[string]any)["reference"]
		if ext != patRef {
			t.Errorf("extension reference %v, want %s", ext, patRef)
		}
	})

	t.Run("references in a cycle between entries", func(t *testing.T) {
		a, b := patient("CycleA"), patient("CycleB")
		a["link"] = []any{map[string]any{"type": "seealso", "other": map[string]any{"reference": "urn:uuid:cycle-b"}}}
		b["link"] = []any{map[string]any{"type": "seealso", "other": map[string]any{"reference": "urn:uuid:cycle-a"}}}
		obs := observation("urn:uuid:cycle-b")
		es := c.do("POST", "/fhir", bundleOf("transaction",
			post("urn:uuid:cycle-o", obs), post("urn:uuid:cycle-a", a), post("urn:uuid:cycle-b", b),
		)).must(t, 200).entries(t)
		refs := make([]string, len(es))
		for i, e := range es {
			refs[i] = entryLocation(e)
		}
		for i, want := range []string{refs[2], refs[2], refs[1]} {
			got := c.do("GET", "/fhir/"+refs[i], nil).must(t, 200)
			ref := got.str("subject.reference")
			if i > 0 {
				ref = got.body["link"].([]any)[0].(map[string]any)["other"].(map[string]any)["reference"].(string)
			}
			if ref != want || !strings.HasPrefix(want, "Patient/") {
				t.Errorf("%s refers to %q, want %s", refs[i], ref, want)
			}
		}
	})

	t.Run("an invalid resource is named by its entry", func(t *testing.T) {
		bad := patient("Invalid")
		bad["birthDate"] = "2021-02-29"
		c.do("POST", "/fhir", bundleOf("transaction",
			post("urn:uuid:valid-1", patient("Valid")), post("urn:uuid:invalid-1", bad),
		)).must(t, 400).outcome(t, "Bundle.entry[1].resource.birthDate")
	})

	t.Run("a failing entry stores nothing and is named", func(t *testing.T) {
		before := c.do("GET", "/fhir/Patient/_history?_count=1", nil).must(t, 200).str("total")
		r := c.do("POST", "/fhir", bundleOf("transaction",
			post("urn:uuid:ok-1", patient("Rollback")),
			request("PUT", "Patient/tx-rollback-"+uniq, patient("Rollback")), // no id in the body: 400
		)).must(t, 400)
		r.outcome(t, "Bundle.entry[1]", "PUT Patient/tx-rollback-"+uniq)
		c.do("GET", "/fhir/Patient/tx-rollback-"+uniq, nil).must(t, 404)
		after := c.do("GET", "/fhir/Patient/_history?_count=1", nil).must(t, 200).str("total")
		if before != after {
			t.Errorf("Patient history total changed from %s to %s", before, after)
		}
	})

	t.Run("unresolvable urn:uuid is 400 naming the entry", func(t *testing.T) {
		c.do("POST", "/fhir", bundleOf("transaction",
			post("urn:uuid:obs-2", observation("urn:uuid:nobody")),
		)).must(t, 400).outcome(t, "Bundle.entry[0]", "urn:uuid:nobody")
	})

	t.Run("DELETE, POST, PUT, GET run in that order", func(t *testing.T) {
		gone := patient("Order")
		gone["id"] = "tx-order-gone-" + uniq
		c.do("PUT", "/fhir/Patient/"+gone["id"].(string), gone).must(t, 201)
		put := patient("Order2")
		put["id"] = "tx-order-" + uniq
		r := c.do("POST", "/fhir", bundleOf("transaction",
			request("GET", "Patient/tx-order-"+uniq, nil),
			request("PUT", "Patient/tx-order-"+uniq, put),
			request("DELETE", "Patient/"+gone["id"].(string), nil),
		)).must(t, 200)
		es := r.entries(t)
		// DELETE first, then PUT creates, then GET reads what PUT made.
		if entryStatus(es[2]) != "204 No Content" || entryStatus(es[1]) != "201 Created" || entryStatus(es[0]) != "200 OK" {
			t.Fatalf("statuses %s %s %s", entryStatus(es[0]), entryStatus(es[1]), entryStatus(es[2]))
		}
		c.do("GET", "/fhir/Patient/"+gone["id"].(string), nil).must(t, 410)
		if v := es[0]["resource"].(map[string]any)["meta"].(map[string]any)["versionId"]; v != "1" {
			t.Errorf("GET saw version %v, want 1", v)
		}
	})

	t.Run("two entries changing one resource fail the transaction", func(t *testing.T) {
		put := patient("Twice")
		put["id"] = "tx-twice-" + uniq
		c.do("POST", "/fhir", bundleOf("transaction",
			request("PUT", "Patient/tx-twice-"+uniq, put),
			request("DELETE", "Patient/tx-twice-"+uniq, nil),
		)).must(t, 400).outcome(t, "Bundle.entry[0].request.url", "Bundle.entry[1].request.url")
		c.do("GET", "/fhir/Patient/tx-twice-"+uniq, nil).must(t, 404)

		// A conditional update that resolves to the resource another entry
		// deletes overlaps too.
		cond := patient("Twice")
		cond["id"] = "tx-twice-cond-" + uniq
		cond["identifier"] = []any{map[string]any{"system": "urn:hce:twice", "value": uniq}}
		c.do("PUT", "/fhir/Patient/tx-twice-cond-"+uniq, cond).must(t, 201)
		update := patient("Twice2")
		update["identifier"] = cond["identifier"]
		c.do("POST", "/fhir", bundleOf("transaction",
			request("DELETE", "Patient/tx-twice-cond-"+uniq, nil),
			request("PUT", "Patient?identifier=urn:hce:twice|"+uniq, update),
		)).must(t, 400).outcome(t, "Bundle.entry[0].request.url", "Bundle.entry[1].request.url", "tx-twice-cond-"+uniq)
		c.do("GET", "/fhir/Patient/tx-twice-cond-"+uniq, nil).must(t, 200)
	})

	t.Run("not a batch or transaction", func(t *testing.T) {
		c.do("POST", "/fhir", map[string]any{"resourceType": "Bundle", "type": "collection"}).must(t, 400).outcome(t, "Bundle.type")
		c.do("POST", "/fhir", patient("NotBundle")).must(t, 400).outcome(t, "Bundle")
		c.do("POST", "/fhir", bundleOf("transaction", map[string]any{"resource": patient("x")})).must(t, 400).outcome(t, "Bundle.entry[0].request")
	})
}

func TestBatch(t *testing.T) {
	c := testServer(t, rest.Options{})
	good := patient("Batch")
	good["id"] = "batch-good-" + uniq
	r := c.do("POST", "/fhir", bundleOf("batch",
		request("PUT", "Patient/batch-good-"+uniq, good),
		request("GET", "Patient/batch-missing-"+uniq, nil),
		request("PUT", "Patient/batch-bad-"+uniq, map[string]any{"resourceType": "Patient", "id": "other"}),
	)).must(t, 200)
	if r.str("type") != "batch-response" {
		t.Fatalf("type %q", r.str("type"))
	}
	es := r.entries(t)
	want := []string{"201 Created", "404 Not Found", "400 Bad Request"}
	for i, w := range want {
		if got := entryStatus(es[i]); got != w {
			t.Errorf("entry %d: %q, want %q", i, got, w)
		}
	}
	if oo := es[2]["response"].(map[string]any)["outcome"]; oo == nil {
		t.Error("failed entry has no outcome")
	}
	c.do("GET", "/fhir/Patient/batch-good-"+uniq, nil).must(t, 200)

	// Entries are written together at the end; two that write the same new
	// resource cannot be, and the batch runs them one by one instead.
	twice := patient("Twice")
	twice["id"] = "batch-twice-" + uniq
	obs := map[string]any{"resourceType": "Observation", "id": "batch-twice-o-" + uniq, "status": "final",
		"code": map[string]any{"text": "x"}, "subject": map[string]any{"reference": "Patient/batch-twice-" + uniq}}
	r = c.do("POST", "/fhir", bundleOf("batch",
		request("PUT", "Patient/batch-twice-"+uniq, twice),
		request("PUT", "Patient/batch-twice-"+uniq, twice),
		request("PUT", "Observation/batch-twice-o-"+uniq, obs),
		request("PUT", "Observation/batch-twice-o-"+uniq, obs),
	)).must(t, 200)
	es = r.entries(t)
	for i, w := range []string{"201 Created", "200 OK", "201 Created", "200 OK"} {
		if got := entryStatus(es[i]); got != w {
			t.Errorf("same resource twice, entry %d: %q, want %q", i, got, w)
		}
	}
	if v := c.do("GET", "/fhir/Patient/batch-twice-"+uniq, nil).must(t, 200).str("meta.versionId"); v != "2" {
		t.Errorf("Patient written twice is at version %s, want 2", v)
	}
	c.do("GET", "/fhir/Observation/batch-twice-o-"+uniq+"/_history/2", nil).must(t, 200)
}

func TestConditional(t *testing.T) {
	c := testServer(t, rest.Options{})
	mrn := func(v string) map[string]any {
		p := patient("Cond")
		p["identifier"] = []any{map[string]any{"system": "http://example.org/mrn", "value": v + uniq}}
		return p
	}

	t.Run("If-None-Exist creates once", func(t *testing.T) {
		first := c.do("POST", "/fhir/Patient", mrn("c-1"), "If-None-Exist", "identifier=http://example.org/mrn|c-1"+uniq).must(t, 201).str("id")
		again := c.do("POST", "/fhir/Patient", mrn("c-1"), "If-None-Exist", "identifier=http://example.org/mrn|c-1"+uniq).must(t, 200).str("id")
		if first != again {
			t.Errorf("second create returned %s, want the match %s", again, first)
		}
	})

	t.Run("concurrent conditional creates make one resource", func(t *testing.T) {
		var wg sync.WaitGroup
		ids := make([]string, 8)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := c.do("POST", "/fhir/Patient", mrn("c-race"), "If-None-Exist", "identifier=http://example.org/mrn|c-race"+uniq)
				if r.status != 201 && r.status != 200 {
					t.Errorf("status %d: %s", r.status, r.raw)
				}
				ids[i] = r.str("id")
			}()
		}
		wg.Wait()
		for _, id := range ids[1:] {
			if id != ids[0] {
				t.Fatalf("ids differ: %v", ids)
			}
		}
		r := c.do("GET", "/fhir/Patient?identifier=http://example.org/mrn|c-race"+uniq+"&_total=accurate", nil).must(t, 200)
		if r.str("total") != "1" {
			t.Errorf("total %s, want 1", r.str("total"))
		}
	})

	t.Run("conditional update", func(t *testing.T) {
		r := c.do("PUT", "/fhir/Patient?identifier=http://example.org/mrn|c-2"+uniq, mrn("c-2")).must(t, 201)
		id := r.str("id")
		r = c.do("PUT", "/fhir/Patient?identifier=http://example.org/mrn|c-2"+uniq, mrn("c-2")).must(t, 200)
		if r.str("id") != id || r.str("meta.versionId") != "2" {
			t.Errorf("update went to %s version %s, want %s version 2", r.str("id"), r.str("meta.versionId"), id)
		}
		c.do("POST", "/fhir/Patient", mrn("c-2")).must(t, 201)
		c.do("PUT", "/fhir/Patient?identifier=http://example.org/mrn|c-2"+uniq, mrn("c-2")).must(t, 412)
	})

	t.Run("conditional delete", func(t *testing.T) {
		id := c.do("POST", "/fhir/Patient", mrn("c-3")).must(t, 201).str("id")
		c.do("DELETE", "/fhir/Patient?identifier=http://example.org/mrn|c-3"+uniq, nil).must(t, 204)
		c.do("GET", "/fhir/Patient/"+id, nil).must(t, 410)
		c.do("DELETE", "/fhir/Patient?identifier=http://example.org/mrn|c-3"+uniq, nil).must(t, 204) // no match
		c.do("DELETE", "/fhir/Patient?identifier=http://example.org/mrn|c-2"+uniq, nil).must(t, 412) // two matches
		c.do("DELETE", "/fhir/Patient", nil).must(t, 400)
	})

	t.Run("conditional delete of several when allowed", func(t *testing.T) {
		many := testServer(t, rest.Options{DeleteMultiple: true})
		for range 3 {
			many.do("POST", "/fhir/Patient", mrn("c-many")).must(t, 201)
		}
		many.do("DELETE", "/fhir/Patient?identifier=http://example.org/mrn|c-many"+uniq, nil).must(t, 204)
		r := many.do("GET", "/fhir/Patient?identifier=http://example.org/mrn|c-many"+uniq+"&_total=accurate", nil).must(t, 200)
		if r.str("total") != "0" {
			t.Errorf("total %s after deleting all", r.str("total"))
		}
	})

	t.Run("conditional references in a transaction", func(t *testing.T) {
		c.do("POST", "/fhir/Patient", mrn("c-ref")).must(t, 201)
		r := c.do("POST", "/fhir", bundleOf("transaction",
			post("urn:uuid:o-ref", observation("Patient?identifier=http://example.org/mrn|c-ref"+uniq)),
		)).must(t, 200)
		obs := c.do("GET", "/fhir/"+entryLocation(r.entries(t)[0]), nil).must(t, 200)
		ref := obs.body["subject"].(map[string]any)["reference"].(string)
		if !strings.HasPrefix(ref, "Patient/") {
			t.Errorf("subject %q", ref)
		}
		c.do("POST", "/fhir", bundleOf("transaction",
			post("urn:uuid:o-none", observation("Patient?identifier=http://example.org/mrn|nobody"+uniq)),
		)).must(t, 404).outcome(t, "Bundle.entry[0]", "matches no resource")
		c.do("POST", "/fhir", bundleOf("transaction",
			post("urn:uuid:o-two", observation("Patient?identifier=http://example.org/mrn|c-2"+uniq)),
		)).must(t, 412).outcome(t, "more than one")
	})

	t.Run("ifNoneExist in a batch twice creates no duplicate", func(t *testing.T) {
		org := func() map[string]any {
			return post("urn:uuid:org-1", map[string]any{"resourceType": "Organization", "name": "Clinic",
				"identifier": []any{map[string]any{"system": "http://example.org/org", "value": "org-1" + uniq}}},
				"ifNoneExist", "identifier=http://example.org/org|org-1"+uniq)
		}
		first := c.do("POST", "/fhir", bundleOf("batch", org())).must(t, 200).entries(t)
		second := c.do("POST", "/fhir", bundleOf("batch", org())).must(t, 200).entries(t)
		if entryStatus(first[0]) != "201 Created" || entryStatus(second[0]) != "200 OK" {
			t.Errorf("statuses %s then %s", entryStatus(first[0]), entryStatus(second[0]))
		}
		if entryLocation(first[0]) != entryLocation(second[0]) {
			t.Errorf("locations %s and %s differ", entryLocation(first[0]), entryLocation(second[0]))
		}
	})
	_ = fmt.Sprint
}
