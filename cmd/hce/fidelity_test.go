package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/rest"
)

// TestFidelity writes every official R4 example and reads it back: apart
// from meta.versionId and meta.lastUpdated the JSON must be equal, with
// primitive extensions, decimal precision, contained resources and
// extensions intact. Content is jsonb, which keeps a decimal's value and
// digits but writes 1E-22 as 0.0000000000000000000001: decimals compare by
// value and precision.
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
			canonicalDecimals(want)
			canonicalDecimals(gotDoc)
			if !reflect.DeepEqual(want, gotDoc) {
				w, _ := json.Marshal(want)
				g, _ := json.Marshal(gotDoc)
				t.Errorf("read back differs\nwant %s\n got %s", w, g)
			}
		})
	}
	t.Run("decimal precision is kept", func(t *testing.T) {
		obs := `{"resourceType":"Observation","id":"decimals-` + uniq + `","status":"final","code":{"text":"x"},
"valueQuantity":{"value":1.50,"unit":"mg"},"component":[{"code":{"text":"y"},"valueQuantity":{"value":0.000100}},
{"code":{"text":"a"},"valueQuantity":{"value":72.50}},{"code":{"text":"b"},"valueQuantity":{"value":0.000000001}},
{"code":{"text":"c"},"valueQuantity":{"value":12345678901234567890.10}}]}`
		c.do("PUT", "/fhir/Observation/decimals-"+uniq, obs).must(t, 201)
		got := c.do("GET", "/fhir/Observation/decimals-"+uniq, nil).must(t, 200)
		for _, lit := range []string{"1.50", "0.000100", "72.50", "0.000000001", "12345678901234567890.10"} {
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

// canonicalDecimals replaces every number in v by its sign, significant
// digits (trailing zeros included: they are precision) and the exponent of
// its last digit, so that 1E-22 and 0.0000000000000000000001 compare equal
// and 1.5 and 1.50 do not. An integer's trailing zeros are folded into the
// exponent: jsonb keeps no precision marker for integers.
func canonicalDecimals(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if n, ok := val.(json.Number); ok {
				x[k] = canonicalDecimal(string(n))
			} else {
				canonicalDecimals(val)
			}
		}
	case []any:
		for i, val := range x {
			if n, ok := val.(json.Number); ok {
				x[i] = canonicalDecimal(string(n))
			} else {
				canonicalDecimals(val)
			}
		}
	}
}

func canonicalDecimal(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, _ = strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		s = s[:i]
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		exp -= len(s) - i - 1
		s = s[:i] + s[i+1:]
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		s, sign, exp = "0", "", 0
	}
	// jsonb writes a number without fraction in full (1E+3 as 1000), so
	// trailing zeros of an integer say nothing of its precision.
	for exp >= 0 && len(s) > 1 && strings.HasSuffix(s, "0") {
		s, exp = s[:len(s)-1], exp+1
	}
	return sign + s + "e" + strconv.Itoa(exp)
}
