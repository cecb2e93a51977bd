package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// StdinPath is the argument that stands for standard input.
const StdinPath = "-"

// Input is one file (or standard input) to load.
type Input struct {
	// Path is the file's path as found, or StdinPath.
	Path string
	// Kind is what the file holds; 0 when Err is set.
	Kind Kind
	// Size is the number of bytes to read: the file's size on disk, which
	// for a gzip file is its compressed size.
	Size int64
	// Err says why the file cannot be loaded, for example that it is a
	// collection Bundle. Load reports it as a Failure.
	Err error

	// data is standard input, read once because it cannot be read twice.
	data []byte
}

// loadable reports whether a file found while walking a directory is one
// Load reads. Files named on the command line are read whatever their name.
func loadable(name string) bool {
	name = strings.TrimSuffix(name, ".gz")
	return strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".ndjson")
}

// isNDJSONName reports whether the name alone says the file is NDJSON.
func isNDJSONName(name string) bool {
	return strings.HasSuffix(strings.TrimSuffix(name, ".gz"), ".ndjson")
}

// Plan lists the inputs that paths name, in the order Load posts them:
// every batch Bundle first, then everything else. Within each group the
// order is that of the arguments, and a directory contributes its *.json,
// *.json.gz, *.ndjson and *.ndjson.gz files (recursively) in lexical order
// of their paths. StdinPath reads stdin, once.
//
// Every file is opened to tell its kind, reading only as far as needed. A
// file that is neither a batch or transaction Bundle nor NDJSON gets an Err
// rather than failing the plan; a path that does not exist fails it.
func Plan(ctx context.Context, paths []string, stdin io.Reader) ([]Input, error) {
	var found []Input
	seenStdin := false
	for _, p := range paths {
		if p == StdinPath {
			if seenStdin {
				return nil, errors.New("load: standard input (-) can be read only once")
			}
			seenStdin = true
			if stdin == nil {
				return nil, errors.New("load: no standard input")
			}
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("load: read standard input: %w", err)
			}
			found = append(found, Input{Path: StdinPath, Size: int64(len(data)), data: data})
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		if !fi.IsDir() {
			found = append(found, Input{Path: p, Size: fi.Size()})
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !loadable(d.Name()) {
				return nil
			}
			fi, err := os.Stat(path) // follows a symbolic link to a file
			if err != nil {
				return err
			}
			if fi.Mode().IsRegular() {
				found = append(found, Input{Path: path, Size: fi.Size()})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
	}
	for i := range found {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		found[i].Kind, found[i].Err = found[i].sniff()
	}
	plan := make([]Input, 0, len(found))
	for _, in := range found {
		if in.Kind == Batch {
			plan = append(plan, in)
		}
	}
	for _, in := range found {
		if in.Kind != Batch {
			plan = append(plan, in)
		}
	}
	return plan, nil
}

// sniff opens the input and tells its kind; a name ending in .ndjson or
// .ndjson.gz is taken at its word.
func (in *Input) sniff() (Kind, error) {
	if isNDJSONName(in.Path) {
		return NDJSON, nil
	}
	rc, err := in.open(nil)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return Sniff(rc)
}
