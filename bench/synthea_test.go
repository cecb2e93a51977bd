package bench

import (
	"os"
	"path/filepath"
	"testing"
)

// syntheaDir is the shared Synthea sample beside the repository
// (../shared/data/synthea from the module root); tests that need it skip
// without it.
func syntheaDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(moduleRoot(t), "..", "shared", "data", "synthea")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("Synthea sample not found at ../shared/data/synthea beside the repository (%v); skipping", err)
	}
	return d
}

// moduleRoot is the directory of go.mod, above the package directory.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package directory")
		}
		dir = parent
	}
}
