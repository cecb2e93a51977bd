package migrations

import (
	"io/fs"
	"testing"
)

// TestLatest checks that Latest is the number of the last file in order.
func TestLatest(t *testing.T) {
	files, err := fs.Glob(FS, "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	if got := Latest(); got != int64(len(files)) {
		t.Errorf("Latest() = %d, want %d: versions are numbered 1, 2, … without gaps (%v)", got, len(files), files)
	}
}
