package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
)

// syntheaDir finds ../shared/data/synthea beside the repository.
func syntheaDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	syn := filepath.Join(dir, "..", "shared", "data", "synthea")
	if _, err := os.Stat(syn); err != nil {
		t.Skip("Synthea data not found at ../shared/data/synthea beside the repository; skipping the end-to-end load")
	}
	return syn
}

func readGzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countEntries counts a Bundle's entries by resource type.
func countEntries(t *testing.T, body []byte, into map[string]int) {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	for _, e := range b.Entry {
		into[e.Resource.ResourceType]++
	}
}

// TestSynthea loads the Synthea sample (two batch bundles of shared
// resources, then 40 patient transaction bundles with urn:uuid and
// conditional references) over HTTP and checks that nothing is duplicated,
// every resource arrived, and every reference names a stored resource.
func TestSynthea(t *testing.T) {
	dir := syntheaDir(t)
	if testing.Short() {
		t.Skip("-short: skipping the Synthea load")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json.gz"))
	if err != nil || len(files) < 42 {
		t.Fatalf("want 42 Synthea bundles, found %d (%v)", len(files), err)
	}
	sort.Strings(files)
	var batches, patients []string
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "0-") {
			batches = append(batches, f)
		} else {
			patients = append(patients, f)
		}
	}
	c := testServer(t, rest.Options{})
	want := map[string]int{}
	for _, f := range files {
		countEntries(t, readGzip(t, f), want)
	}
	before := totals(t, c, want)

	var mu sync.Mutex
	var loadedTypes, loadedIDs []string
	postBundle := func(t *testing.T, path string) []byte {
		req, _ := http.NewRequest("POST", c.base+"/fhir", bytes.NewReader(readGzip(t, path)))
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d: %.500s", filepath.Base(path), resp.StatusCode, body)
		}
		var out struct {
			Entry []struct {
				Response struct{ Location string } `json:"response"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(body, &out)
		mu.Lock()
		for _, e := range out.Entry {
			if typ, rest, ok := strings.Cut(e.Response.Location, "/"); ok {
				loadedTypes, loadedIDs = append(loadedTypes, typ), append(loadedIDs, strings.Split(rest, "/")[0])
			}
		}
		mu.Unlock()
		return body
	}
	for _, f := range batches {
		postBundle(t, f)
	}
	// Patient bundles, four at a time.
	work := make(chan string)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				postBundle(t, f)
			}
		}()
	}
	for _, f := range patients {
		work <- f
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	after := totals(t, c, want)
	for typ, n := range want {
		if sys, ok := sharedIdentifiers[typ]; ok {
			// Created only if absent: count them by their identifier system,
			// which also holds when an earlier test loaded them already.
			r := c.do("GET", "/fhir/"+typ+"?identifier="+sys+"|&_summary=count", nil).must(t, 200)
			if r.str("total") != strconv.Itoa(n) {
				t.Errorf("%s: %s stored with identifiers of %s, %d in the files", typ, r.str("total"), sys, n)
			}
			continue
		}
		if got := after[typ] - before[typ]; got != n {
			t.Errorf("%s: %d stored, %d in the files", typ, got, n)
		}
	}
	total := 0
	for _, n := range want {
		total += n
	}
	if len(loadedIDs) < total {
		t.Errorf("%d entries answered with a location, %d in the files", len(loadedIDs), total)
	}
	checkReferences(t, loadedTypes, loadedIDs)

	// Loading the batch bundles again: every entry with ifNoneExist
	// (Practitioner, Organization, Location) matches what is stored and
	// creates nothing. Synthea's PractitionerRole entries carry no
	// condition, so FHIR's create semantics add them again.
	conditional := map[string]bool{}
	for _, f := range batches {
		var resp struct {
			Entry []struct {
				Response struct{ Status string } `json:"response"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(postBundle(t, f), &resp); err != nil {
			t.Fatal(err)
		}
		var sent struct {
			Entry []struct {
				Resource struct{ ResourceType string } `json:"resource"`
				Request  struct{ IfNoneExist string }  `json:"request"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(readGzip(t, f), &sent); err != nil {
			t.Fatal(err)
		}
		for i, e := range sent.Entry {
			if e.Request.IfNoneExist == "" {
				continue
			}
			conditional[e.Resource.ResourceType] = true
			if st := resp.Entry[i].Response.Status; !strings.HasPrefix(st, "200") {
				t.Errorf("%s entry %d (%s) loaded again: %s, want 200 (matched)", filepath.Base(f), i, e.Request.IfNoneExist, st)
			}
		}
	}
	again := totals(t, c, want)
	for typ := range conditional {
		if again[typ] != after[typ] {
			t.Errorf("%s: %d after loading the batch bundles twice, %d after once", typ, again[typ], after[typ])
		}
	}
	if len(conditional) != 3 {
		t.Errorf("conditional types %v, want Practitioner, Organization and Location", conditional)
	}
}

// sharedIdentifiers are the identifier systems of the resources that
// Synthea's batch bundles create with ifNoneExist.
var sharedIdentifiers = map[string]string{
	"Practitioner": "http://hl7.org/fhir/sid/us-npi",
	"Organization": "https://github.com/synthetichealth/synthea",
	"Location":     "https://github.com/synthetichealth/synthea",
}

// totals counts the stored resources of each type.
func totals(t *testing.T, c *client, types map[string]int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for typ := range types {
		r := c.do("GET", "/fhir/"+typ+"?_summary=count", nil).must(t, 200)
		var n int
		if err := json.Unmarshal([]byte(r.str("total")), &n); err != nil {
			t.Fatalf("%s total %q", typ, r.str("total"))
		}
		out[typ] = n
	}
	return out
}

// checkReferences reads every stored Synthea resource and checks that each
// reference is Type/id of a stored resource (or a #contained one).
func checkReferences(t *testing.T, types, ids []string) {
	t.Helper()
	ctx := context.Background()
	pool := testdb.Pool(t, store.MigrateUp)
	// Compartment resources and shared ones live in two tables.
	const all = `(SELECT type, id, deleted, content FROM resources UNION ALL SELECT type, id, deleted, content FROM shared_resources) r`
	rows, err := pool.Query(ctx, `SELECT type || '/' || id FROM `+all+` WHERE NOT deleted`)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			t.Fatal(err)
		}
		known[ref] = true
	}
	rows.Close()
	rows, err = pool.Query(ctx, `SELECT type, id, content::text FROM `+all+`
WHERE NOT deleted AND (type, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, types, ids)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked, bad, resources := 0, 0, 0
	for rows.Next() {
		var typ, id, content string
		if err := rows.Scan(&typ, &id, &content); err != nil {
			t.Fatal(err)
		}
		resources++
		var doc any
		if err := json.Unmarshal([]byte(content), &doc); err != nil {
			t.Fatal(err)
		}
		walkRefs(doc, func(ref string) {
			checked++
			if strings.HasPrefix(ref, "#") || known[ref] {
				return
			}
			if bad++; bad <= 5 {
				t.Errorf("%s/%s references %q, which is not a stored resource", typ, id, ref)
			}
		})
	}
	if resources != len(ids) || checked == 0 {
		t.Errorf("read %d of the %d loaded resources, %d references", resources, len(ids), checked)
	}
	t.Logf("%d resources, %d references checked, %d bad", resources, checked, bad)
}

func walkRefs(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "reference" {
				fn(s)
				continue
			}
			walkRefs(val, fn)
		}
	case []any:
		for _, item := range x {
			walkRefs(item, fn)
		}
	}
}
