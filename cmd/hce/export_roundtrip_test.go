package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
	"github.com/jackc/pgx/v5/pgxpool"
)

// freshDatabase is a database of its own with the schema, dropped when
// the test ends: an empty server.
func freshDatabase(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := testdb.EmptyPool(t)
	if err := store.MigrateUp(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

// readExport reads the NDJSON files of dir: per reference, the resource
// without meta.lastUpdated, and its versionId.
func readExport(t *testing.T, dir string) (map[string]string, map[string]string, map[string]int) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no NDJSON files in %s (%v)", dir, err)
	}
	content, versions, counts := map[string]string{}, map[string]string{}, map[string]int{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var r map[string]any
			d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			d.UseNumber()
			if err := d.Decode(&r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			ref := r["resourceType"].(string) + "/" + r["id"].(string)
			meta, _ := r["meta"].(map[string]any)
			versions[ref], _ = meta["versionId"].(string)
			delete(meta, "versionId")
			delete(meta, "lastUpdated")
			b, _ := json.Marshal(r) // map keys sorted: a canonical form
			if _, dup := content[ref]; dup {
				t.Errorf("%s twice in %s", ref, dir)
			}
			content[ref] = string(b)
			counts[r["resourceType"].(string)]++
		}
	}
	return content, versions, counts
}

// TestExportRoundTrip loads the Synthea bundles into an empty server,
// exports it with hce export, loads the export with hce load into another
// empty server and exports that: both exports hold the same resources
// (ids, contents, references), per-type counts equal the bundles', and
// every version on the second server is 1.
func TestExportRoundTrip(t *testing.T) {
	dir := syntheaDir(t)
	if testing.Short() {
		t.Skip("-short: skipping the Synthea round trip")
	}
	ctx := context.Background()
	server := func() *client {
		st := store.New(freshDatabase(t))
		c := testServerWith(t, st, nil, rest.Options{})
		(&exportEnv{st: st}).startRunner(t, fastExports)
		return c
	}
	var progress bytes.Buffer
	hce := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		progress.Reset()
		if code := run(ctx, args, &out, &progress); code != 0 {
			t.Fatalf("hce %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out.String(), progress.String())
		}
		return out.String()
	}
	src := server()
	hce("load", "--url", src.base+"/fhir", dir)
	out1 := filepath.Join(t.TempDir(), "first")
	summary := hce("export", "--url", src.base+"/fhir", "--out", out1, "--poll", "200ms")
	if !strings.Contains(summary, "counts match the manifest") || !strings.Contains(progress.String(), "downloaded Observation.1.ndjson") {
		t.Errorf("hce export: %s\n%s", summary, progress.String())
	}
	dst := server()
	hce("load", "--url", dst.base+"/fhir", out1)
	out2 := filepath.Join(t.TempDir(), "second")
	hce("export", "--url", dst.base+"/fhir", "--out", out2, "--poll", "200ms")

	first, _, counts := readExport(t, out1)
	second, versions, _ := readExport(t, out2)
	want := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json.gz"))
	for _, f := range files {
		countEntries(t, readGzip(t, f), want)
	}
	for typ, n := range want {
		if counts[typ] != n {
			t.Errorf("%s: %d exported, the bundles hold %d", typ, counts[typ], n)
		}
	}
	if len(first) != len(second) {
		t.Errorf("%d resources exported from the first server, %d from the second", len(first), len(second))
	}
	diff := 0
	for ref, c := range first {
		if second[ref] != c {
			if diff++; diff <= 3 {
				t.Errorf("%s differs after the round trip:\n%s\n%s", ref, c, second[ref])
			}
		}
		if v := versions[ref]; v != "1" {
			t.Errorf("%s is version %q on the second server, want 1", ref, v)
		}
	}
	if diff > 0 {
		t.Errorf("%d of %d resources differ", diff, len(first))
	}
	t.Logf("round trip of %d resources of %d types", len(first), len(counts))
}
