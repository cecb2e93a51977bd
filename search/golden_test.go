package search

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/fhir"
)

var update = flag.Bool("update", false, "rewrite testdata/parse.golden.json")

// testNow is the time of every test search, so that ap ranges are stable.
var testNow = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// goldenEntry is the outcome of one query in testdata/queries.txt.
type goldenEntry struct {
	Query     string       `json:"query"`
	Strict    bool         `json:"strict,omitempty"`
	Canonical string       `json:"canonical,omitempty"`
	AST       *Query       `json:"ast,omitempty"`
	Error     []fhir.Issue `json:"error,omitempty"`
}

// TestGolden parses every query of testdata/queries.txt and compares the
// syntax trees and errors with testdata/parse.golden.json.
func TestGolden(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "queries.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []goldenEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e := goldenEntry{Query: line}
		line, e.Strict = strings.CutPrefix(line, "strict ")
		typ, raw, _ := strings.Cut(line, "?")
		vals, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		q, err := Parse(typ, vals, Options{DefaultCount: 20, MaxCount: 1000, Strict: e.Strict, Now: testNow, Limits: DefaultLimits})
		if err != nil {
			var fe *fhir.Error
			if !errors.As(err, &fe) || !errors.Is(err, fhir.ErrInvalid) {
				t.Fatalf("%s: error %v is not an ErrInvalid *fhir.Error", line, err)
			}
			e.Error = fe.Issues
		} else {
			e.AST, e.Canonical = q, q.String()
			assertCanonical(t, q, Options{DefaultCount: 20, MaxCount: 1000, Now: testNow})
		}
		got = append(got, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "parse.golden.json")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		gotLines, wantLines := strings.Split(buf.String(), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gotLines) && i < len(wantLines); i++ {
			if gotLines[i] != wantLines[i] {
				t.Fatalf("golden mismatch at line %d:\n got: %s\nwant: %s\n(run with -update if the change is intended)", i+1, gotLines[i], wantLines[i])
			}
		}
		t.Fatalf("golden mismatch: %d lines, want %d (run with -update if the change is intended)", len(gotLines), len(wantLines))
	}
}

// assertCanonical checks that the canonical form parses back to itself.
func assertCanonical(t testing.TB, q *Query, opt Options) {
	t.Helper()
	enc := q.Encode()
	vals, err := url.ParseQuery(enc)
	if err != nil {
		t.Fatalf("canonical %q of %s does not parse as a query string: %v", enc, q.Type, err)
	}
	q2, err := Parse(q.Type, vals, opt)
	if err != nil {
		t.Fatalf("canonical %q of %s does not parse: %v", enc, q.Type, err)
	}
	if enc2 := q2.Encode(); enc2 != enc {
		t.Fatalf("canonical form is not stable:\n first: %s\nsecond: %s", enc, enc2)
	}
	if len(q2.Warnings) > 0 {
		t.Fatalf("canonical %q gives warnings %v", enc, q2.Warnings)
	}
}
