package validate

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// realData is the validator of the official examples and the Synthea
// bundles: with a tenth of the default bound on JSON values, so that the
// default stays far above what real resources hold.
var realData = New(Options{MaxValues: DefaultMaxValues / 10})

// TestOfficialExamples checks that every official R4 example HCE keeps in
// fhir/testdata is valid, unchanged.
func TestOfficialExamples(t *testing.T) {
	files, err := filepath.Glob("../fhir/testdata/examples/*/*.json")
	if err != nil || len(files) != 150 {
		t.Fatalf("want the 150 R4 examples, found %d (%v)", len(files), err)
	}
	v := realData
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if issues := v.Check(body); len(issues) > 0 {
				t.Errorf("rejected: %+v", issues)
			}
		})
	}
}

// syntheaBundles returns the Synthea bundles beside the repository, or
// skips.
func syntheaBundles(tb testing.TB) []string {
	files, _ := filepath.Glob("../../shared/data/synthea/*.json.gz")
	if len(files) == 0 {
		tb.Skip("no Synthea data in ../shared/data/synthea")
	}
	return files
}

func readGzip(tb testing.TB, path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestSynthea checks that the Synthea sample bundles are valid.
func TestSynthea(t *testing.T) {
	v := realData
	for _, f := range syntheaBundles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if issues := v.Check(readGzip(t, f)); len(issues) > 0 {
				t.Errorf("rejected: %+v", issues)
			}
		})
	}
}
