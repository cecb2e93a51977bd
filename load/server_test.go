package load_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fhirServer is a small but real FHIR endpoint for the loader's tests: it
// decodes each Bundle and answers with a transaction-response or
// batch-response, and takes NDJSON. A resource whose id is "bad" is refused:
// in a transaction with a 400 OperationOutcome naming Bundle.entry[i], in a
// batch with that entry's status, in NDJSON with an issue naming the line.
type fhirServer struct {
	*httptest.Server
	// ndjsonBundle answers NDJSON with a batch-response Bundle instead of
	// an OperationOutcome.
	ndjsonBundle bool
	// gather holds the first transactions until this many requests are in
	// flight (or a second has passed), so that a test can observe whether the
	// client really runs that many streams.
	gather int
	// fail answers requests for these Bundle ids with a plain-text 500.
	fail map[string]bool

	mu          sync.Mutex
	inFlight    int
	maxInFlight map[string]int // by "batch", "transaction", "ndjson"
	gathered    bool
	requests    []request
	chunkLines  []int // lines in each NDJSON request, in arrival order
	chunkBytes  []int
	created     int
}

// request is one Bundle or NDJSON request as the server saw it.
type request struct {
	kind       string // batch, transaction or ndjson
	id         string // Bundle.id
	start, end int    // sequence numbers of arrival and answer
}

func newFHIRServer(t testing.TB) *fhirServer {
	s := &fhirServer{maxInFlight: map[string]int{}, fail: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /fhir", s.handle)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// base is the FHIR base URL.
func (s *fhirServer) base() string { return s.URL + "/fhir" }

var seq struct {
	sync.Mutex
	n int
}

func next() int {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return seq.n
}

func (s *fhirServer) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch ct := r.Header.Get("Content-Type"); ct {
	case "application/fhir+json":
		s.bundle(w, body)
	case "application/fhir+ndjson":
		s.ndjson(w, body)
	default:
		writeJSON(w, http.StatusUnsupportedMediaType, outcome(issue{"error", "unsupported Content-Type " + ct, nil}))
	}
}

// enter counts a request in flight; the returned function ends it.
func (s *fhirServer) enter(kind string, id string) func() {
	s.mu.Lock()
	s.inFlight++
	s.maxInFlight[kind] = max(s.maxInFlight[kind], s.inFlight)
	i := len(s.requests)
	s.requests = append(s.requests, request{kind: kind, id: id, start: next()})
	s.mu.Unlock()
	if kind == "transaction" && s.gather > 0 {
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			s.mu.Lock()
			if s.inFlight >= s.gather {
				s.gathered = true
			}
			done := s.gathered
			s.mu.Unlock()
			if done {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	return func() {
		s.mu.Lock()
		s.inFlight--
		s.requests[i].end = next()
		s.mu.Unlock()
	}
}

type bundleIn struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Type         string `json:"type"`
	Entry        []struct {
		Resource map[string]any `json:"resource"`
	} `json:"entry"`
}

type issue struct {
	Severity    string   `json:"severity"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

func outcome(issues ...issue) map[string]any {
	return map[string]any{"resourceType": "OperationOutcome", "issue": issues}
}

type entryOut struct {
	Response map[string]any `json:"response"`
}

func created() entryOut { return entryOut{map[string]any{"status": "201 Created"}} }

func refused(diag string) entryOut {
	return entryOut{map[string]any{"status": "400 Bad Request", "outcome": outcome(issue{"error", diag, nil})}}
}

func (s *fhirServer) bundle(w http.ResponseWriter, body []byte) {
	var b bundleIn
	if err := json.Unmarshal(body, &b); err != nil || b.ResourceType != "Bundle" {
		writeJSON(w, http.StatusBadRequest, outcome(issue{"error", fmt.Sprintf("not a Bundle: %v", err), nil}))
		return
	}
	defer s.enter(b.Type, b.ID)()
	if s.fail[b.ID] {
		http.Error(w, "the database is on fire", http.StatusInternalServerError)
		return
	}
	var entries []entryOut
	for i, e := range b.Entry {
		if e.Resource["id"] != "bad" {
			entries = append(entries, created())
			continue
		}
		where := fmt.Sprintf("Bundle.entry[%d]", i)
		switch b.Type {
		case "transaction":
			writeJSON(w, http.StatusBadRequest, outcome(issue{"error", where + " POST Patient: bad resource", []string{where + ".resource"}}))
			return
		case "batch":
			entries = append(entries, refused("bad resource"))
		}
	}
	if b.Type != "batch" && b.Type != "transaction" {
		writeJSON(w, http.StatusBadRequest, outcome(issue{"error", "not a batch or transaction", []string{"Bundle.type"}}))
		return
	}
	s.mu.Lock()
	for _, e := range entries {
		if e.Response["status"] == "201 Created" {
			s.created++
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"resourceType": "Bundle", "type": b.Type + "-response", "entry": entries})
}

func (s *fhirServer) ndjson(w http.ResponseWriter, body []byte) {
	defer s.enter("ndjson", "")()
	var issues []issue
	var entries []entryOut
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		lines++
		var res map[string]any
		err := json.Unmarshal(sc.Bytes(), &res)
		switch {
		case err != nil:
			issues = append(issues, issue{"error", fmt.Sprintf("line %d: %v", lines, err), nil})
			entries = append(entries, refused(err.Error()))
		case res["id"] == "bad":
			issues = append(issues, issue{"error", "bad resource", []string{fmt.Sprintf("line[%d]", lines)}})
			entries = append(entries, refused("bad resource"))
		default:
			entries = append(entries, created())
		}
	}
	s.mu.Lock()
	s.chunkLines = append(s.chunkLines, lines)
	s.chunkBytes = append(s.chunkBytes, len(body))
	s.created += lines - len(issues)
	s.mu.Unlock()
	if s.ndjsonBundle {
		writeJSON(w, http.StatusOK, map[string]any{"resourceType": "Bundle", "type": "batch-response", "entry": entries})
		return
	}
	issues = append(issues, issue{"information", fmt.Sprintf("%d of %d lines loaded", lines-len(issues), lines), nil})
	writeJSON(w, http.StatusOK, outcome(issues...))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// ids returns the Bundle ids the server saw, in arrival order.
func (s *fhirServer) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, r := range s.requests {
		if r.kind != "ndjson" {
			ids = append(ids, r.id)
		}
	}
	return ids
}

// testBundle is a Bundle of n Patients with the given id; the entry at bad
// (if 0 <= bad < n) has id "bad". The JSON is pretty-printed with type
// after entry, so that sniffing must look past the entries.
func testBundle(id, typ string, n, bad int) []byte {
	var entries []map[string]any
	for i := range n {
		pid := fmt.Sprintf("%s-%d", id, i)
		if i == bad {
			pid = "bad"
		}
		entries = append(entries, map[string]any{
			"fullUrl":  "urn:uuid:" + pid,
			"resource": map[string]any{"resourceType": "Patient", "id": pid},
			"request":  map[string]any{"method": "POST", "url": "Patient"},
		})
	}
	entryJSON, _ := json.MarshalIndent(entries, "  ", "  ")
	return fmt.Appendf(nil, "{\n  \"resourceType\": \"Bundle\",\n  \"id\": %q,\n  \"entry\": %s,\n  \"type\": %q\n}\n", id, entryJSON, typ)
}

// testNDJSON is n one-line Patients; the lines in bad (1-based) have id
// "bad", the lines in blank are empty.
func testNDJSON(n int, bad, blank []int) []byte {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		switch {
		case contains(blank, i):
		case contains(bad, i):
			b.WriteString(`{"resourceType":"Patient","id":"bad"}`)
		default:
			fmt.Fprintf(&b, `{"resourceType":"Patient","id":"p%d","name":[{"family":"Line%d"}]}`, i, i)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func contains(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

func gz(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// writeFile writes data at dir/name, creating directories.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// base names of paths, for readable comparisons.
func baseNames(paths []string) string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return strings.Join(out, " ")
}
