package load_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/load"
)

// mixedDir writes a directory with every kind of input and returns it with
// the resources it holds.
func mixedDir(t *testing.T) (string, int64) {
	dir := t.TempDir()
	writeFile(t, dir, "a-tx.json", testBundle("a-tx", "transaction", 3, -1))
	writeFile(t, dir, "b-batch.json.gz", gz(testBundle("b-batch", "batch", 2, -1)))
	writeFile(t, dir, "c-tx.json.gz", gz(testBundle("c-tx", "transaction", 4, -1)))
	writeFile(t, dir, "d-batch.json", testBundle("d-batch", "batch", 5, -1))
	writeFile(t, dir, "e.ndjson", testNDJSON(7, nil, nil))
	// gzip content without the .gz suffix: found by its magic bytes.
	writeFile(t, dir, "f-tx.json", gz(testBundle("f-tx", "transaction", 2, -1)))
	// NDJSON without the .ndjson suffix: found by its first line.
	writeFile(t, dir, "g.json", testNDJSON(3, nil, nil))
	writeFile(t, dir, "sub/h-tx.json", testBundle("h-tx", "transaction", 1, -1))
	writeFile(t, dir, "notes.txt", []byte("not loaded"))
	return dir, 3 + 2 + 4 + 5 + 7 + 2 + 3 + 1
}

func TestPlan(t *testing.T) {
	dir, _ := mixedDir(t)
	plan, err := load.Plan(context.Background(), []string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range plan {
		if in.Err != nil {
			t.Errorf("%s: %v", in.Path, in.Err)
		}
		got = append(got, filepath.Base(in.Path)+":"+in.Kind.String())
	}
	want := "b-batch.json.gz:batch d-batch.json:batch a-tx.json:transaction c-tx.json.gz:transaction " +
		"e.ndjson:ndjson f-tx.json:transaction g.json:ndjson h-tx.json:transaction"
	if strings.Join(got, " ") != want {
		t.Errorf("plan\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

func TestPlanErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content []byte
		want    string // in Input.Err
	}{
		{"collection.json", []byte(`{"resourceType":"Bundle","type":"collection"}`), `a Bundle of type "collection"`},
		{"pretty-patient.json", []byte("{\n \"resourceType\": \"Patient\"\n}\n"), "a single Patient resource spread over several lines"},
		{"empty.json", nil, "the input is empty"},
		{"binary.json.gz", []byte{0x1f, 0x8b, 0, 1, 2}, "gzip"},
		{"array.json", []byte(`[{"resourceType":"Patient"}]`), "does not start with a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, tt.name, tt.content)
			plan, err := load.Plan(context.Background(), []string{p}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan) != 1 || plan[0].Err == nil || !strings.Contains(plan[0].Err.Error(), tt.want) {
				t.Fatalf("plan = %+v, want one input with an error containing %q", plan, tt.want)
			}
		})
	}
	t.Run("missing path", func(t *testing.T) {
		if _, err := load.Plan(context.Background(), []string{filepath.Join(dir, "nope")}, nil); err == nil {
			t.Fatal("no error for a path that does not exist")
		}
	})
	t.Run("stdin twice", func(t *testing.T) {
		if _, err := load.Plan(context.Background(), []string{"-", "-"}, strings.NewReader("")); err == nil {
			t.Fatal("no error for standard input named twice")
		}
	})
}

func TestLoadMixed(t *testing.T) {
	for _, c := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("c=%d", c), func(t *testing.T) {
			dir, want := mixedDir(t)
			srv := newFHIRServer(t)
			sum, err := load.Load(context.Background(), []string{dir}, load.Options{URL: srv.base(), Concurrency: c})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Resources != want || sum.Files != 8 || len(sum.Failures) != 0 {
				t.Errorf("summary = %+v, want %d resources from 8 files", sum, want)
			}
			if srv.created != int(want) {
				t.Errorf("server created %d resources, want %d", srv.created, want)
			}
			// Batches first, one at a time, and each finished before any
			// transaction started.
			ids := srv.ids()
			if got := strings.Join(ids[:2], " "); got != "b-batch d-batch" {
				t.Errorf("first requests %q, want the batches", got)
			}
			batchEnd := 0
			for _, r := range srv.requests {
				if r.kind == "batch" {
					batchEnd = max(batchEnd, r.end)
				}
			}
			for _, r := range srv.requests {
				if r.kind != "batch" && r.start < batchEnd {
					t.Errorf("%s %q started before the batches ended", r.kind, r.id)
				}
			}
			if srv.maxInFlight["batch"] != 1 {
				t.Errorf("%d batches in flight at once, want 1", srv.maxInFlight["batch"])
			}
			for kind, n := range srv.maxInFlight {
				if n > c {
					t.Errorf("%d requests in flight during %s, want at most %d", n, kind, c)
				}
			}
		})
	}
}

func TestConcurrency(t *testing.T) {
	for _, c := range []int{1, 3, 4} {
		t.Run(fmt.Sprintf("c=%d", c), func(t *testing.T) {
			dir := t.TempDir()
			for i := range 9 {
				name := string(rune('a'+i)) + ".json"
				writeFile(t, dir, name, testBundle(name, "transaction", 2, -1))
			}
			writeFile(t, dir, "z-batch.json", testBundle("z", "batch", 2, -1))
			srv := newFHIRServer(t)
			srv.gather = c
			sum, err := load.Load(context.Background(), []string{dir}, load.Options{URL: srv.base(), Concurrency: c})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Resources != 20 {
				t.Errorf("loaded %d resources, want 20", sum.Resources)
			}
			// The server holds the first transactions until c are in flight:
			// exactly c shows the client runs c streams and no more.
			if got := srv.maxInFlight["transaction"]; got != c {
				t.Errorf("max transactions in flight = %d, want %d", got, c)
			}
		})
	}
}

func TestFailures(t *testing.T) {
	files := func(t *testing.T) string {
		dir := t.TempDir()
		writeFile(t, dir, "0-batch.json", testBundle("0-batch", "batch", 2, -1))
		writeFile(t, dir, "1-tx.json", testBundle("1-tx", "transaction", 3, -1))
		writeFile(t, dir, "2-tx.json.gz", gz(testBundle("2-tx", "transaction", 3, 1)))
		writeFile(t, dir, "3-tx.json", testBundle("3-tx", "transaction", 3, -1))
		return dir
	}
	t.Run("stop at the first", func(t *testing.T) {
		dir := files(t)
		srv := newFHIRServer(t)
		sum, err := load.Load(context.Background(), []string{dir}, load.Options{URL: srv.base(), Concurrency: 1})
		var f *load.Failure
		if !errors.As(err, &f) || !errors.Is(err, load.ErrFailed) {
			t.Fatalf("err = %v, want a *Failure wrapping ErrFailed", err)
		}
		if filepath.Base(f.File) != "2-tx.json.gz" || f.Entry != 1 || f.Status != "400 Bad Request" ||
			!strings.Contains(f.Diagnostics, "bad resource") {
			t.Errorf("failure = %+v", f)
		}
		if got := strings.Join(srv.ids(), " "); got != "0-batch 1-tx 2-tx" {
			t.Errorf("server saw %q; nothing after the failure should be sent", got)
		}
		if sum.Resources != 5 || sum.Files != 3 || len(sum.Failures) != 1 {
			t.Errorf("summary = %+v, want 5 resources from 3 files, 1 failure", sum)
		}
	})
	t.Run("continue", func(t *testing.T) {
		dir := files(t)
		writeFile(t, dir, "4-batch.json", testBundle("4-batch", "batch", 4, 2))
		writeFile(t, dir, "5-collection.json", []byte(`{"resourceType":"Bundle","type":"collection"}`))
		srv := newFHIRServer(t)
		var out bytes.Buffer
		sum, err := load.Load(context.Background(), []string{dir},
			load.Options{URL: srv.base(), Concurrency: 2, Continue: true, Progress: &out})
		var f *load.Failure
		if !errors.Is(err, load.ErrFailed) || errors.As(err, &f) {
			t.Fatalf("err = %v, want ErrFailed and no single *Failure", err)
		}
		if sum.Resources != 2+3+3+3 || sum.Files != 6 {
			t.Errorf("summary = %+v, want 11 resources from 6 files", sum)
		}
		var got []string
		for _, f := range sum.Failures {
			got = append(got, fmt.Sprintf("%s@%d", filepath.Base(f.File), f.Entry))
		}
		// The plan's failure first, then the batch, then the transaction.
		if strings.Join(got, " ") != "5-collection.json@-1 4-batch.json@2 2-tx.json.gz@1" {
			t.Errorf("failures (file@entry) = %v", got)
		}
		if len(srv.ids()) != 5 {
			t.Errorf("server saw %v, want all 5 loadable files", srv.ids())
		}
		for _, want := range []string{"3 failed:", "4-batch.json: Bundle.entry[2]: 400 Bad Request: bad resource",
			"2-tx.json.gz: Bundle.entry[1]: 400 Bad Request", ", 3 failed"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})
	t.Run("server error that is not FHIR", func(t *testing.T) {
		dir := files(t)
		srv := newFHIRServer(t)
		srv.fail["1-tx"] = true
		_, err := load.Load(context.Background(), []string{dir}, load.Options{URL: srv.base(), Concurrency: 1})
		var f *load.Failure
		if !errors.As(err, &f) || f.Entry != -1 || f.Status != "500 Internal Server Error" ||
			f.Diagnostics != "the database is on fire" {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("no server", func(t *testing.T) {
		dir := files(t)
		srv := newFHIRServer(t)
		srv.Close()
		_, err := load.Load(context.Background(), []string{dir}, load.Options{URL: srv.base()})
		var f *load.Failure
		if !errors.As(err, &f) || filepath.Base(f.File) != "0-batch.json" || f.Status != "" {
			t.Fatalf("err = %v, want a failure of the first batch without a status", err)
		}
	})
	t.Run("plan failure stops before posting", func(t *testing.T) {
		dir := files(t)
		writeFile(t, dir, "5-collection.json", []byte(`{"resourceType":"Bundle","type":"collection"}`))
		srv := newFHIRServer(t)
		_, err := load.Load(context.Background(), []string{dir}, load.Options{URL: srv.base()})
		if !errors.Is(err, load.ErrFormat) && !strings.Contains(err.Error(), "collection") {
			t.Fatalf("err = %v", err)
		}
		if len(srv.requests) != 0 {
			t.Errorf("server saw %d requests, want none", len(srv.requests))
		}
	})
}

func TestNDJSON(t *testing.T) {
	// 12 lines: line 8 blank, lines 5 and 10 refused. With 5 lines a chunk
	// the chunks are lines 1-5, 6-11 (without 8) and 12.
	data := testNDJSON(12, []int{5, 10}, []int{8})
	tests := []struct {
		name       string
		file       string
		content    []byte
		bundle     bool
		chunkLines int
		chunkBytes int
		wantChunks string
	}{
		{"outcome", "x.ndjson", data, false, 5, 0, "[5 5 1]"},
		{"batch-response", "x.ndjson", data, true, 5, 0, "[5 5 1]"},
		{"gzip", "x.ndjson.gz", gz(data), false, 5, 0, "[5 5 1]"},
		{"sniffed", "x.json", data, false, 5, 0, "[5 5 1]"},
		{"default chunks", "x.ndjson", data, true, 0, 0, "[11]"},
		// Lines are 63-65 bytes: 140 bytes hold two.
		{"byte bound", "x.ndjson", data, false, 0, 140, "[2 2 2 2 2 1]"},
		// A line longer than the bound goes alone.
		{"line over the byte bound", "x.ndjson", data, false, 0, 10, "[1 1 1 1 1 1 1 1 1 1 1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), tt.file, tt.content)
			srv := newFHIRServer(t)
			srv.ndjsonBundle = tt.bundle
			sum, err := load.Load(context.Background(), []string{p}, load.Options{URL: srv.base(),
				Concurrency: 1, Continue: true, ChunkLines: tt.chunkLines, ChunkBytes: tt.chunkBytes})
			if !errors.Is(err, load.ErrFailed) {
				t.Fatalf("err = %v, want ErrFailed", err)
			}
			if sum.Resources != 9 || sum.Files != 1 {
				t.Errorf("summary = %+v, want 9 resources from 1 file", sum)
			}
			var lines []int
			for _, f := range sum.Failures {
				lines = append(lines, f.Line)
			}
			if len(lines) != 2 || lines[0] != 5 || lines[1] != 10 {
				t.Errorf("failed lines = %v, want [5 10]; failures %+v", lines, sum.Failures)
			}
			if got := fmt.Sprint(srv.chunkLines); got != tt.wantChunks {
				t.Errorf("chunks = %s, want %s", got, tt.wantChunks)
			}
			for _, n := range srv.chunkBytes {
				if tt.chunkBytes > 0 && n > max(tt.chunkBytes, 70) {
					t.Errorf("a chunk of %d bytes, bound %d", n, tt.chunkBytes)
				}
			}
		})
	}
}

func TestStdin(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  int64
	}{
		{"transaction", testBundle("in", "transaction", 4, -1), 4},
		{"gzip batch", gz(testBundle("in", "batch", 3, -1)), 3},
		{"ndjson", testNDJSON(6, nil, []int{2}), 5},
		{"gzip ndjson", gz(testNDJSON(6, nil, nil)), 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFHIRServer(t)
			sum, err := load.Load(context.Background(), []string{"-"},
				load.Options{URL: srv.base(), Stdin: bytes.NewReader(tt.input)})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Resources != tt.want || sum.Files != 1 || srv.created != int(tt.want) {
				t.Errorf("summary = %+v, server created %d; want %d", sum, srv.created, tt.want)
			}
		})
	}
}

func TestBadURL(t *testing.T) {
	for _, u := range []string{"ftp://host/fhir", "127.0.0.1:8080/fhir", "http://"} {
		if _, err := load.Load(context.Background(), nil, load.Options{URL: u}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
}

// TestBatchInParts checks that a large batch Bundle is posted in parts, so
// that its progress advances entry by entry, with failures named by their
// index in the whole Bundle.
func TestBatchInParts(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "big.json", testBundle("big", "batch", 25, 13))
	srv := newFHIRServer(t)
	var out bytes.Buffer
	sum, err := load.Load(context.Background(), []string{filepath.Join(dir, "big.json")},
		load.Options{URL: srv.base(), Continue: true, Progress: &out, BatchEntries: 10})
	if !errors.Is(err, load.ErrFailed) {
		t.Fatalf("err = %v, want the failed entry", err)
	}
	if got := strings.Join(srv.ids(), " "); got != "big big big" {
		t.Errorf("server saw %q, want three parts of the Bundle", got)
	}
	if sum.Resources != 24 || len(sum.Failures) != 1 || sum.Failures[0].Entry != 13 || sum.Files != 1 {
		t.Errorf("summary %+v, want 24 resources and Bundle.entry[13] failed", sum)
	}
	for _, want := range []string{"big.json: entries 0-9: 10 resources\n", "big.json: entries 10-19: 9 resources, 1 failed\n",
		"big.json: entries 20-24: 5 resources\n", "big.json: 24 resources, 1 failed (batch,"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
