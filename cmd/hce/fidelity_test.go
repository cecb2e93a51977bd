package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hce-fhir/hce/fhir/rest"
)

// TestFidelity writes every official R4 example and reads it back: apart
// from meta.versionId and meta.lastUpdated the JSON must be equal, with
// primitive extensions, decimal precision, contained resources and
// extensions intact.
func TestFidelity(t *testing.T) {
	files, err := filepath.Glob("../../fhir/testdata/examples/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	c := testServer(t, rest.Options{})
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := decode(t, raw)
			typ, id := want["resourceType"].(string), want["id"].(string)
			// 201 on a fresh database; 200 when a shared test database
			// (HCE_TEST_DATABASE_URL) already holds it from an earlier run.
			if put := c.do("PUT", "/fhir/"+typ+"/"+id, raw); put.status != 201 && put.status != 200 {
				t.Fatalf("PUT status %d: %.300s", put.status, put.raw)
			}
			got := c.do("GET", "/fhir/"+typ+"/"+id, nil).must(t, 200)
			gotDoc := decode(t, got.raw)
			stripVersionMeta(want)
			stripVersionMeta(gotDoc)
			if !reflect.DeepEqual(want, gotDoc) {
				w, _ := json.Marshal(want)
				g, _ := json.Marshal(gotDoc)
				t.Errorf("read back differs\nwant %s\n got %s", w, g)
			}
		})
	}
	t.Run("decimal precision is kept", func(t *testing.T) {
		obs := `{"resourceType":"Observation","id":"decimals-` + uniq + `","status":"final","code":{"text":"x"},
"valueQuantity":{"value":1.50,"unit":"mg"},"component":[{"code":{"text":"y"},"valueQuantity":{"value":0.000100}}]}`
		c.do("PUT", "/fhir/Observation/decimals-"+uniq, obs).must(t, 201)
		got := c.do("GET", "/fhir/Observation/decimals-"+uniq, nil).must(t, 200)
		for _, lit := range []string{"1.50", "0.000100"} {
			if !bytes.Contains(got.raw, []byte(lit)) {
				t.Errorf("%s lost in %s", lit, got.raw)
			}
		}
	})
}

func decode(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// stripVersionMeta removes what the server sets: meta.versionId and
// meta.lastUpdated (and meta itself when nothing else is left).
func stripVersionMeta(doc map[string]any) {
	meta, _ := doc["meta"].(map[string]any)
	delete(meta, "versionId")
	delete(meta, "lastUpdated")
	if meta != nil && len(meta) == 0 {
		delete(doc, "meta")
	}
}
