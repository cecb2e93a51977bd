package load_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/load"
)

// syntheaDir is the shared Synthea sample beside the repository
// (../shared/data/synthea from the module root).
func syntheaDir(t testing.TB) string {
	t.Helper()
	dir := pkgDir
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package directory")
		}
		dir = parent
	}
	d := filepath.Join(dir, "..", "shared", "data", "synthea")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("Synthea sample not found at ../shared/data/synthea beside the repository (%v); skipping", err)
	}
	return d
}

// TestPlanSynthea checks the plan over the real Synthea sample: the two
// batch Bundles that create the shared Organizations, Locations and
// Practitioners come first, then the 40 patient transactions.
func TestPlanSynthea(t *testing.T) {
	dir := syntheaDir(t)
	plan, err := load.Plan(context.Background(), []string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 42 {
		t.Fatalf("plan has %d files, want 42", len(plan))
	}
	for i, in := range plan {
		if in.Err != nil {
			t.Errorf("%s: %v", in.Path, in.Err)
		}
		want := load.Transaction
		if i < 2 {
			want = load.Batch
		}
		if in.Kind != want {
			t.Errorf("plan[%d] %s is a %v, want a %v", i, filepath.Base(in.Path), in.Kind, want)
		}
	}
	first := filepath.Base(plan[0].Path) + " " + filepath.Base(plan[1].Path)
	if !strings.Contains(first, "hospitalInformation") || !strings.Contains(first, "practitionerInformation") {
		t.Errorf("first two files %s, want the hospital and practitioner batches", first)
	}
}

// BenchmarkPlanSynthea measures sniffing the sample: each file is opened
// and read only up to its Bundle.type.
func BenchmarkPlanSynthea(b *testing.B) {
	dir := syntheaDir(b)
	for b.Loop() {
		if _, err := load.Plan(context.Background(), []string{dir}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadSynthea posts the whole sample (about 59 MB of Bundles once
// decompressed) to the test server on 4 streams: the client's overhead plus
// the test server's JSON decoding.
func BenchmarkLoadSynthea(b *testing.B) {
	dir := syntheaDir(b)
	srv := newFHIRServer(b)
	var resources int64
	for b.Loop() {
		sum, err := load.Load(context.Background(), []string{dir}, load.Options{URL: srv.base()})
		if err != nil {
			b.Fatal(err)
		}
		resources = sum.Resources
	}
	b.ReportMetric(float64(resources)*float64(b.N)/b.Elapsed().Seconds(), "resources/s")
}
