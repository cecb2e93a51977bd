package load_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hce-fhir/hce/load"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestPlainOutput checks the lines printed when stderr is not a terminal:
// one per file in load order, the failures (with --continue), the summary.
// Times and rates vary, so they are masked before the comparison.
func TestPlainOutput(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.json", testBundle("a", "transaction", 3, -1))
	writeFile(t, dir, "b.json.gz", gz(testBundle("b", "batch", 4, 1)))
	writeFile(t, dir, "c.ndjson", testNDJSON(5, []int{2}, nil))
	writeFile(t, dir, "d.json", testBundle("d", "transaction", 2, 0))
	t.Chdir(dir)
	srv := newFHIRServer(t)
	var out bytes.Buffer
	_, err := load.Load(context.Background(), []string{"."},
		load.Options{URL: srv.base(), Concurrency: 1, Continue: true, Progress: &out})
	if err == nil {
		t.Fatal("no error for failed entries")
	}
	got := regexp.MustCompile(`\d+\.\ds\b`).ReplaceAll(out.Bytes(), []byte("T"))
	got = regexp.MustCompile(`\(\d+ resources/s\)`).ReplaceAll(got, []byte("(R resources/s)"))
	golden := filepath.Join(testdataDir(t), "plain-output.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output\n%s\nwant\n%s", got, want)
	}
}

// testdataDir is the package's testdata directory, whatever the working
// directory is now.
func testdataDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(pkgDir, "testdata")
}

// pkgDir is the package directory, where go test starts.
var pkgDir, _ = os.Getwd()

// TestBarOutput checks the progress bar's final state: every byte of every
// input is accounted for, NDJSON chunk by chunk included.
func TestBarOutput(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.json.gz", gz(testBundle("a", "transaction", 3, -1)))
	writeFile(t, dir, "b.json", testBundle("b", "batch", 2, -1))
	writeFile(t, dir, "c.ndjson.gz", gz(testNDJSON(500, nil, nil)))
	writeFile(t, dir, "d.ndjson", testNDJSON(40, nil, nil))
	srv := newFHIRServer(t)
	var out bytes.Buffer
	_, err := load.Load(context.Background(), []string{dir},
		load.Options{URL: srv.base(), Progress: &out, Bar: true, ChunkLines: 7})
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("want the bar and the summary on two lines, got:\n%q", out.String())
	}
	bar := lines[0][bytes.LastIndexByte(lines[0], '\r')+1:]
	if !regexp.MustCompile(`^\[=+\] 100%  4/4 files  545 resources  \d+/s  ETA 0s\x1b\[K$`).Match(bar) {
		t.Errorf("final bar %q", bar)
	}
	if !bytes.HasPrefix(lines[1], []byte("loaded 545 resources from 4 files in ")) {
		t.Errorf("summary %q", lines[1])
	}
}
