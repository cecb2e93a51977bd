package bulk

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// manifestServer answers a kick-off, one 202 poll, then a manifest whose
// Patient file claims claimed resources and holds two.
func manifestServer(t *testing.T, claimed int) *httptest.Server {
	polls := 0
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/fhir/Group/g1/$export":
			if r.Header.Get("Prefer") != "respond-async" || r.URL.Query().Get("_type") != "Patient" {
				http.Error(w, "bad kick-off", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Location", srv.URL+"/fhir/$export-status/j1")
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == "/fhir/$export-status/j1" && r.Method == http.MethodGet:
			if polls++; polls == 1 {
				w.Header().Set("X-Progress", "running: 1 resources exported")
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"transactionTime": "2026-01-01T00:00:00Z", "request": "x",
				"output": []any{map[string]any{"type": "Patient", "url": srv.URL + "/fhir/$export-file/j1/1", "count": claimed}}, "error": []any{}})
		case r.URL.Path == "/fhir/$export-status/j1" && r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == "/fhir/$export-file/j1/1":
			w.Header().Set("Content-Type", "application/fhir+ndjson")
			w.Write([]byte("{\"resourceType\":\"Patient\",\"id\":\"a\"}\n{\"resourceType\":\"Patient\",\"id\":\"b\"}\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRun(t *testing.T) {
	srv := manifestServer(t, 2)
	out := t.TempDir()
	var progress strings.Builder
	res, err := Run(context.Background(), Options{URL: srv.URL + "/fhir", Group: "g1", Types: []string{"Patient"}, Out: out,
		Progress: &progress, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts["Patient"] != 2 || len(res.Files) != 1 {
		t.Errorf("result %+v", res)
	}
	if b, err := os.ReadFile(filepath.Join(out, "Patient.1.ndjson")); err != nil || strings.Count(string(b), "\n") != 2 {
		t.Errorf("Patient.1.ndjson: %q, %v", b, err)
	}
	if !strings.Contains(progress.String(), "running: 1 resources exported") || !strings.Contains(progress.String(), "downloaded Patient.1.ndjson") {
		t.Errorf("progress: %q", progress.String())
	}
}

func TestRunCountMismatch(t *testing.T) {
	srv := manifestServer(t, 3)
	_, err := Run(context.Background(), Options{URL: srv.URL + "/fhir", Group: "g1", Types: []string{"Patient"}, Out: t.TempDir(), Poll: 10 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "2 resources downloaded, the manifest says 3") {
		t.Errorf("a file shorter than its count: %v", err)
	}
}

func TestRunBar(t *testing.T) {
	srv := manifestServer(t, 2)
	var progress strings.Builder
	if _, err := Run(context.Background(), Options{URL: srv.URL + "/fhir", Group: "g1", Types: []string{"Patient"}, Out: t.TempDir(),
		Progress: &progress, Bar: true, Poll: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if p := progress.String(); !strings.Contains(p, "\r\x1b[Kexport 0s: running: 1 resources exported\r\x1b[Kexport") || !strings.Contains(p, ": complete\n") {
		t.Errorf("a terminal's progress is not redrawn in place: %q", p)
	}
}
