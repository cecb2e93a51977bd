package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hce-fhir/hce/rest"
)

// countingBundleServer answers every Bundle with a transaction-response of
// as many 201 entries as the Bundle has, and counts them.
func countingBundleServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Entry []json.RawMessage `json:"entry"`
		}
		if r.URL.Path != "/fhir" || json.NewDecoder(r.Body).Decode(&b) != nil {
			http.Error(w, "not a Bundle at the base", http.StatusBadRequest)
			return
		}
		entries := make([]map[string]any, len(b.Entry))
		for i := range entries {
			entries[i] = map[string]any{"response": map[string]any{"status": "201 Created"}}
		}
		n.Add(int64(len(b.Entry)))
		w.Header().Set("Content-Type", "application/fhir+json")
		json.NewEncoder(w).Encode(map[string]any{"resourceType": "Bundle", "type": "transaction-response", "entry": entries})
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

const twoPatients = `{"resourceType":"Bundle","type":"transaction","entry":[
 {"request":{"method":"POST","url":"Patient"},"resource":{"resourceType":"Patient"}},
 {"request":{"method":"POST","url":"Patient"},"resource":{"resourceType":"Patient"}}]}`

func TestLoadCmdFlags(t *testing.T) {
	srv, created := countingBundleServer(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "two.json")
	if err := os.WriteFile(file, []byte(twoPatients), 0o644); err != nil {
		t.Fatal(err)
	}
	dashFile := filepath.Join(dir, "-dash.json")
	if err := os.WriteFile(dashFile, []byte(twoPatients), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     string // HCE_URL
		stdin   string
		usage   bool  // want errUsage
		want    int64 // resources the server created
		wantErr string
	}{
		{name: "no paths", args: []string{"--url", srv.URL + "/fhir"}, usage: true},
		{name: "unknown flag", args: []string{"--nope", file}, usage: true},
		{name: "url flag", args: []string{"--url", srv.URL + "/fhir", file}, want: 2},
		{name: "flags after paths", args: []string{file, "-c", "2", "--url", srv.URL + "/fhir/", "--continue"}, want: 2},
		{name: "HCE_URL", args: []string{dir}, env: srv.URL + "/fhir", want: 4},
		{name: "flag beats HCE_URL", args: []string{"--url", srv.URL + "/fhir", file}, env: "http://127.0.0.1:1/fhir", want: 2},
		{name: "stdin", args: []string{"--url", srv.URL + "/fhir", "-"}, stdin: twoPatients, want: 2},
		{name: "paths after --", args: []string{"--url", srv.URL + "/fhir", "--", dashFile}, want: 2},
		{name: "bad -c", args: []string{"-c", "many", file}, usage: true},
		{name: "missing file", args: []string{"--url", srv.URL + "/fhir", filepath.Join(dir, "nope.json")}, wantErr: "no such file"},
		{name: "server down", args: []string{"--url", "http://127.0.0.1:1/fhir", file}, wantErr: "two.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("HCE_URL", tt.env)
			}
			created.Store(0)
			var stderr bytes.Buffer
			err := loadCmd(context.Background(), tt.args, strings.NewReader(tt.stdin), &stderr)
			switch {
			case tt.usage:
				if err != errUsage {
					t.Fatalf("err = %v, want the usage error", err)
				}
				return
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatalf("err = %v; output:\n%s", err, stderr.String())
			}
			if created.Load() != tt.want {
				t.Errorf("server created %d resources, want %d", created.Load(), tt.want)
			}
			if !strings.Contains(stderr.String(), "loaded "+strconv.FormatInt(tt.want, 10)+" resources") {
				t.Errorf("no summary line in the output:\n%s", stderr.String())
			}
		})
	}
}

// TestLoadCmdServer loads Bundles into a real HCE server: a batch that
// creates an Organization conditionally, then a transaction whose Patient
// points at it with a conditional reference, as Synthea's data does.
func TestLoadCmdServer(t *testing.T) {
	c := testServer(t, rest.Options{})
	dir := t.TempDir()
	files := map[string]string{
		"0-orgs.json": `{"resourceType":"Bundle","type":"batch","entry":[
 {"fullUrl":"urn:uuid:0b6b1d4e-9d0a-4c61-8e43-4a5c51b8f001",
  "request":{"method":"POST","url":"Organization","ifNoneExist":"identifier=urn:hce:test:load|org-1"},
  "resource":{"resourceType":"Organization","identifier":[{"system":"urn:hce:test:load","value":"org-1"}],"name":"Load Test Clinic"}}]}`,
		"1-patient.json": `{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:0b6b1d4e-9d0a-4c61-8e43-4a5c51b8f002",
  "request":{"method":"PUT","url":"Patient/load-cmd-1"},
  "resource":{"resourceType":"Patient","id":"load-cmd-1","managingOrganization":{"reference":"Organization?identifier=urn:hce:test:load|org-1"}}},
 {"fullUrl":"urn:uuid:0b6b1d4e-9d0a-4c61-8e43-4a5c51b8f003",
  "request":{"method":"POST","url":"Observation"},
  "resource":{"resourceType":"Observation","status":"final","code":{"text":"weight"},"subject":{"reference":"urn:uuid:0b6b1d4e-9d0a-4c61-8e43-4a5c51b8f002"}}}]}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stderr bytes.Buffer
	if err := loadCmd(context.Background(), []string{"--url", c.base + "/fhir", dir}, nil, &stderr); err != nil {
		t.Fatalf("load: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "loaded 3 resources from 2 files") {
		t.Errorf("output:\n%s", stderr.String())
	}
	p := c.do("GET", "/fhir/Patient/load-cmd-1", nil).must(t, http.StatusOK)
	if ref := p.str("managingOrganization.reference"); !strings.HasPrefix(ref, "Organization/") {
		t.Errorf("managingOrganization = %q, want the conditional reference resolved", ref)
	}

	// A transaction with an invalid entry fails, naming the file and entry.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"resourceType":"Bundle","type":"transaction","entry":[
 {"request":{"method":"POST","url":"Patient"},"resource":{"resourceType":"Patient"}},
 {"request":{"method":"POST","url":"Patient"},"resource":{"resourceType":"Patient","gender":"nope"}}]}`), 0o644)
	err := loadCmd(context.Background(), []string{"--url", c.base + "/fhir", bad}, nil, &stderr)
	if err == nil || !strings.Contains(err.Error(), "bad.json: Bundle.entry[1]: 400") {
		t.Errorf("err = %v, want bad.json: Bundle.entry[1]: 400 ...", err)
	}
}

// TestLoadCmdSynthea loads the two Synthea batch Bundles and the smallest
// patient into a real HCE server, when the sample is beside the repository.
func TestLoadCmdSynthea(t *testing.T) {
	if testing.Short() {
		t.Skip("loads Synthea data into a database")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil; _, err = os.Stat(filepath.Join(root, "go.mod")) {
		if filepath.Dir(root) == root {
			t.Fatal("no go.mod above the package directory")
		}
		root = filepath.Dir(root)
	}
	dir := filepath.Join(root, "..", "shared", "data", "synthea")
	batches, _ := filepath.Glob(filepath.Join(dir, "0-*.json.gz"))
	if len(batches) != 2 {
		t.Skipf("Synthea sample not found at ../shared/data/synthea beside the repository; skipping")
	}
	c := testServer(t, rest.Options{})
	patient := filepath.Join(dir, "6c8f3e83-c351-ed33-c38d-6be101c275d2.json.gz")
	var stderr bytes.Buffer
	// The patient is named first: the batches must still go before it.
	args := append([]string{"--url", c.base + "/fhir", patient}, batches...)
	if err := loadCmd(context.Background(), args, nil, &stderr); err != nil {
		t.Fatalf("load: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "Information") || !strings.Contains(lines[1], "Information") ||
		!strings.Contains(lines[2], "6c8f3e83") || !strings.Contains(lines[3], "from 3 files") || !strings.HasSuffix(lines[3], ", 0 failed") {
		t.Errorf("output:\n%s", stderr.String())
	}
}
