package migrations

import (
	"io/fs"
	"strconv"
	"strings"
)

// Latest returns the version of the newest embedded migration: the number
// that begins its file name (00005_statistics.sql is version 5). A server
// needs the schema at this version to serve.
func Latest() int64 {
	files, _ := fs.Glob(FS, "*.sql")
	var latest int64
	for _, f := range files {
		digits, _, _ := strings.Cut(f, "_")
		if v, err := strconv.ParseInt(digits, 10, 64); err == nil && v > latest {
			latest = v
		}
	}
	return latest
}
