package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hce-fhir/hce/load"
)

// Source is one Bundle of the Synthea sample.
type Source struct {
	// Path is the file.
	Path string
	// Kind is load.Batch for the shared Organizations, Locations and
	// Practitioners, load.Transaction for a patient.
	Kind load.Kind
	// Entries is the number of entries, so the resources one copy adds.
	Entries int
	// Size is the file's size on disk.
	Size int64
	// fullURLs are the entries' urn:uuid fullUrls without the prefix: the
	// uuids a copy rewrites wherever they appear whole.
	fullURLs map[string]bool
}

// uuidPrefix starts the fullUrl of every Synthea entry and every internal
// reference.
const uuidPrefix = "urn:uuid:"

// ReadSources lists the Bundles in dir (*.json and *.json.gz, not
// recursively), batches first, each group in lexical order of names. Every
// file is read once to count its entries and collect its fullUrls. A file
// that is neither a batch nor a transaction Bundle is an error, and so is a
// directory without a transaction Bundle.
func ReadSources(ctx context.Context, dir string) ([]Source, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json*"))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	slices.Sort(names)
	var batches, patients []Source
	for _, p := range names {
		if !strings.HasSuffix(p, ".json") && !strings.HasSuffix(p, ".json.gz") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := readSource(p)
		if err != nil {
			return nil, err
		}
		if s.Kind == load.Batch {
			batches = append(batches, s)
		} else {
			patients = append(patients, s)
		}
	}
	if len(patients) == 0 {
		return nil, fmt.Errorf("bench: no transaction Bundles in %s", dir)
	}
	return append(batches, patients...), nil
}

// readSource reads one Bundle's kind, entries and fullUrls.
func readSource(path string) (Source, error) {
	s := Source{Path: path, fullURLs: map[string]bool{}}
	fi, err := os.Stat(path)
	if err != nil {
		return s, fmt.Errorf("bench: %w", err)
	}
	s.Size = fi.Size()
	if s.Kind, err = sniffFile(path); err != nil {
		return s, err
	}
	rc, err := openBundle(path)
	if err != nil {
		return s, err
	}
	defer rc.Close()
	err = eachEntry(rc, func(dec *json.Decoder) error {
		var e struct {
			FullURL string `json:"fullUrl"`
		}
		if err := dec.Decode(&e); err != nil {
			return err
		}
		if id, ok := strings.CutPrefix(e.FullURL, uuidPrefix); ok {
			s.fullURLs[id] = true
		}
		s.Entries++
		return nil
	}, nil)
	if err != nil {
		return s, fmt.Errorf("bench: %s: %w", path, err)
	}
	return s, nil
}

// eachEntry walks a Bundle read from r: entry is called with the decoder
// positioned at each element of the entry array, and must decode exactly
// one value; other is called for every other top-level member (nil skips
// them).
func eachEntry(r io.Reader, entry func(*json.Decoder) error, other func(key string, v json.RawMessage) error) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if key != "entry" {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return err
			}
			if other != nil {
				if err := other(key, v); err != nil {
					return err
				}
			}
			continue
		}
		if err := expectDelim(dec, '['); err != nil {
			return err
		}
		for dec.More() {
			if err := entry(dec); err != nil {
				return err
			}
		}
		if err := expectDelim(dec, ']'); err != nil {
			return err
		}
	}
	return expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, found %v", want, tok)
	}
	return nil
}

// sniffFile tells a file's kind; only batch and transaction Bundles are
// sources.
func sniffFile(path string) (load.Kind, error) {
	rc, err := openBundle(path)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	k, err := load.Sniff(rc)
	if err != nil {
		return 0, fmt.Errorf("bench: %s: %w", path, err)
	}
	if k != load.Batch && k != load.Transaction {
		return 0, fmt.Errorf("bench: %s: a %v, want a batch or transaction Bundle", path, k)
	}
	return k, nil
}

// openBundle opens a Bundle file, gzip-compressed or not.
func openBundle(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	if head, _ := br.Peek(2); !bytes.Equal(head, []byte{0x1f, 0x8b}) {
		return &fileReader{Reader: br, f: f}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: %s: %w", path, err)
	}
	return &fileReader{Reader: zr, f: f}, nil
}

// fileReader closes the file under a (decompressing) reader.
type fileReader struct {
	io.Reader
	f *os.File
}

func (r *fileReader) Close() error { return r.f.Close() }
