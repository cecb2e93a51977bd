package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/audit"
	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
	"github.com/jackc/pgx/v5/pgxpool"
)

// exportEnv is a test server with the export runner, and its database.
type exportEnv struct {
	c    *client
	st   *store.Store
	pool *pgxpool.Pool
}

// fastExports are runner options for tests: short polls, leases and
// clock margin.
var fastExports = store.ExportOptions{Poll: 50 * time.Millisecond, Settle: 200 * time.Millisecond, Lease: 2 * time.Second}

// exportServer starts a test server and, when runner, an export runner
// with eopt beside it, stopped when the test ends.
func exportServer(t *testing.T, opt rest.Options, eopt store.ExportOptions, runner bool) *exportEnv {
	t.Helper()
	pool := testdb.Pool(t, store.MigrateUp)
	st := store.New(pool)
	env := &exportEnv{c: testServerWith(t, st, nil, opt), st: st, pool: pool}
	if runner {
		env.startRunner(t, eopt)
	}
	return env
}

// startRunner runs an export runner until the test ends; the returned
// function stops it earlier.
func (e *exportEnv) startRunner(t *testing.T, eopt store.ExportOptions) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.st.RunExports(ctx, eopt)
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// kickoff starts an export and returns its status path (under the base).
func (c *client) kickoff(method, path string, body any, headers ...string) string {
	c.t.Helper()
	r := c.do(method, path, body, append([]string{"Prefer", "respond-async", "Accept", "application/fhir+json"}, headers...)...).must(c.t, http.StatusAccepted)
	loc := r.header.Get("Content-Location")
	if !strings.HasPrefix(loc, c.base+"/fhir/$export-status/") {
		c.t.Fatalf("Content-Location %q is not a status URL of %s", loc, c.base)
	}
	return strings.TrimPrefix(loc, c.base)
}

// exportManifest is the decoded complete status.
type exportManifest struct {
	TransactionTime     string `json:"transactionTime"`
	Request             string `json:"request"`
	RequiresAccessToken bool   `json:"requiresAccessToken"`
	Output              []struct {
		Type  string `json:"type"`
		URL   string `json:"url"`
		Count int64  `json:"count"`
	} `json:"output"`
	Error []struct {
		Type  string `json:"type"`
		URL   string `json:"url"`
		Count int64  `json:"count"`
	} `json:"error"`
}

// waitExport polls status until the job is done, checking the 202 answers
// on the way, and returns the manifest.
func (c *client) waitExport(status string) *exportManifest {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		r := c.do(http.MethodGet, status, nil)
		switch r.status {
		case http.StatusAccepted:
			if !strings.Contains(r.header.Get("X-Progress"), "resources exported") || r.header.Get("Retry-After") == "" {
				c.t.Fatalf("202 without X-Progress and Retry-After: %v", r.header)
			}
			time.Sleep(50 * time.Millisecond)
			continue
		case http.StatusOK:
			var m exportManifest
			if err := json.Unmarshal(r.raw, &m); err != nil {
				c.t.Fatalf("manifest: %v: %s", err, r.raw)
			}
			return &m
		}
		c.t.Fatalf("status: %d %s", r.status, r.raw)
	}
	c.t.Fatal("the export did not finish in 2 minutes")
	return nil
}

// download fetches every output file of m and returns the resources by
// reference, checking each file against the manifest's count and that no
// resource comes twice.
func (c *client) download(m *exportManifest) map[string]map[string]any {
	c.t.Helper()
	out := map[string]map[string]any{}
	for _, f := range m.Output {
		r := c.do(http.MethodGet, strings.TrimPrefix(f.URL, c.base), nil, "Accept", "application/fhir+ndjson").must(c.t, http.StatusOK)
		if ct := r.header.Get("Content-Type"); ct != "application/fhir+ndjson" {
			c.t.Errorf("file Content-Type %q", ct)
		}
		if cl := r.header.Get("Content-Length"); cl != strconv.Itoa(len(r.raw)) {
			c.t.Errorf("file Content-Length %q, body of %d bytes", cl, len(r.raw))
		}
		var n int64
		sc := bufio.NewScanner(bytes.NewReader(r.raw))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var res map[string]any
			d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			d.UseNumber()
			if err := d.Decode(&res); err != nil {
				c.t.Fatalf("%s: line %d: %v", f.URL, n+1, err)
			}
			if res["resourceType"] != f.Type {
				c.t.Fatalf("%s: a %v in the %s file", f.URL, res["resourceType"], f.Type)
			}
			ref := f.Type + "/" + res["id"].(string)
			if out[ref] != nil {
				c.t.Errorf("%s exported twice", ref)
			}
			out[ref] = res
			n++
		}
		if n != f.Count {
			c.t.Errorf("%s: %d lines, the manifest says %d", f.URL, n, f.Count)
		}
	}
	return out
}

// refs returns the sorted keys.
func refs(m map[string]map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// seedPatient creates a patient with n Observations and returns the
// patient's id and the Observations' references.
func seedPatient(t *testing.T, c *client, family string, n int) (string, []string) {
	t.Helper()
	pid := c.do(http.MethodPost, "/fhir/Patient", patient(family)).must(t, http.StatusCreated).str("id")
	var obs []string
	for i := range n {
		o := map[string]any{"resourceType": "Observation", "status": "final", "subject": map[string]any{"reference": "Patient/" + pid},
			"code":          map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "8867-4"}}, "text": family},
			"valueQuantity": map[string]any{"value": json.Number("72.50"), "unit": "/min"}, "effectiveDateTime": "2024-01-0" + string(rune('1'+i%9))}
		obs = append(obs, "Observation/"+c.do(http.MethodPost, "/fhir/Observation", o).must(t, http.StatusCreated).str("id"))
	}
	return pid, obs
}

func TestExportKickoffParameters(t *testing.T) {
	env := exportServer(t, rest.Options{}, fastExports, false)
	c := env.c
	pid, _ := seedPatient(t, c, "Kick"+uniq, 1)
	bad := []struct {
		name, method, path string
		body               any
		headers            []string
		status             int
		words              []string
	}{
		{"no Prefer", "GET", "/fhir/$export", nil, []string{"Prefer", ""}, 400, []string{"respond-async"}},
		{"unknown parameter", "GET", "/fhir/$export?_until=2024-01-01T00:00:00Z", nil, nil, 400, []string{"_until", "lenient"}},
		{"output format", "GET", "/fhir/$export?_outputFormat=text/csv", nil, nil, 400, []string{"_outputFormat"}},
		{"unknown type", "GET", "/fhir/$export?_type=Observation,Nonsense", nil, nil, 400, []string{"Nonsense"}},
		{"shared type at Patient level", "GET", "/fhir/Patient/$export?_type=Medication", nil, nil, 400, []string{"Medication"}},
		{"bad since", "GET", "/fhir/$export?_since=yesterday", nil, nil, 400, []string{"_since"}},
		{"type filter without query", "GET", "/fhir/$export?_typeFilter=Observation", nil, nil, 400, []string{"_typeFilter"}},
		{"type filter on another type", "GET", "/fhir/$export?_type=Patient&_typeFilter=Observation%3Fcode%3D1", nil, nil, 400, []string{"_type"}},
		{"type filter unknown parameter", "GET", "/fhir/$export?_typeFilter=Observation%3Fnonsense%3D1", nil, nil, 400, []string{"nonsense"}},
		{"type filter bad value", "GET", "/fhir/$export?_typeFilter=Observation%3Fdate%3Dlater", nil, nil, 400, []string{"date"}},
		{"patient at system level", "GET", "/fhir/$export?patient=Patient/" + pid, nil, nil, 400, []string{"patient"}},
		{"bad patient", "GET", "/fhir/Patient/$export?patient=Patient/a%20b", nil, nil, 400, []string{"patient"}},
		{"bad elements", "GET", "/fhir/$export?_elements=Observation.", nil, nil, 400, []string{"_elements"}},
		{"not Parameters", "POST", "/fhir/Patient/$export", patient("x"), nil, 400, []string{"Parameters"}},
		{"unknown group", "GET", "/fhir/Group/nope" + uniq + "/$export", nil, nil, 404, nil},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			h := append([]string{"Prefer", "respond-async"}, tc.headers...)
			c.do(tc.method, tc.path, tc.body, h...).must(t, tc.status).outcome(t, tc.words...)
		})
	}
	good := []struct {
		name, method, path string
		body               any
		headers            []string
	}{
		{"system", "GET", "/fhir/$export", nil, nil},
		{"every parameter", "GET", "/fhir/$export?_outputFormat=application/fhir%2Bndjson&_type=Patient,Observation&_since=2020-01-01T00:00:00Z&_typeFilter=Observation%3Fcode%3D8867-4&_elements=Observation.code,id", nil, nil},
		{"ndjson short format", "GET", "/fhir/Patient/$export?_outputFormat=ndjson", nil, nil},
		{"application/ndjson", "GET", "/fhir/$export?_outputFormat=application/ndjson", nil, nil},
		{"lenient ignores unknown", "GET", "/fhir/$export?_until=x&patient=Patient/" + pid, nil, []string{"Prefer", "respond-async, handling=lenient"}},
		{"POST Parameters", "POST", "/fhir/Patient/$export", map[string]any{"resourceType": "Parameters", "parameter": []any{
			map[string]any{"name": "_type", "valueString": "Patient,Observation"},
			map[string]any{"name": "patient", "valueReference": map[string]any{"reference": "Patient/" + pid}},
			map[string]any{"name": "_outputFormat", "valueString": "application/fhir+ndjson"}}}, nil},
		{"POST without body", "POST", "/fhir/$export", nil, nil},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			status := c.kickoff(tc.method, tc.path, tc.body, tc.headers...)
			r := c.do(http.MethodGet, status, nil).must(t, http.StatusAccepted)
			if !strings.HasPrefix(r.header.Get("X-Progress"), "accepted") {
				t.Errorf("X-Progress %q of a job no runner took", r.header.Get("X-Progress"))
			}
			c.do(http.MethodDelete, status, nil).must(t, http.StatusAccepted)
			c.do(http.MethodGet, status, nil).must(t, http.StatusNotFound)
		})
	}
}

// TestExportLifecycle runs a Patient-level export of one patient: kick-off,
// polling, manifest, download (contents equal to reads), cancel.
func TestExportLifecycle(t *testing.T) {
	env := exportServer(t, rest.Options{}, fastExports, true)
	c := env.c
	pid, obs := seedPatient(t, c, "Life"+uniq, 5)
	other, _ := seedPatient(t, c, "Other"+uniq, 2)
	c.do(http.MethodDelete, "/fhir/"+obs[4], nil).must(t, http.StatusNoContent)
	status := c.kickoff(http.MethodPost, "/fhir/Patient/$export", map[string]any{"resourceType": "Parameters", "parameter": []any{
		map[string]any{"name": "patient", "valueReference": map[string]any{"reference": "Patient/" + pid}}}})
	m := c.waitExport(status)
	if !m.RequiresAccessToken || !strings.HasSuffix(m.Request, "/fhir/Patient/$export") {
		t.Errorf("manifest request %q, requiresAccessToken %v", m.Request, m.RequiresAccessToken)
	}
	if _, err := time.Parse(time.RFC3339Nano, m.TransactionTime); err != nil {
		t.Errorf("transactionTime %q: %v", m.TransactionTime, err)
	}
	exp, err := http.ParseTime(c.do(http.MethodGet, status, nil).must(t, http.StatusOK).header.Get("Expires"))
	if err != nil || exp.Before(time.Now().Add(50*time.Minute)) {
		t.Errorf("Expires %v (%v), want about an hour from now", exp, err)
	}
	got := c.download(m)
	want := append([]string{"Patient/" + pid}, obs[:4]...)
	sort.Strings(want)
	if g := refs(got); strings.Join(g, " ") != strings.Join(want, " ") {
		t.Fatalf("exported %v, want %v (not %s's, nor the deleted %s)", g, want, other, obs[4])
	}
	for _, ref := range want {
		var stored map[string]any
		d := json.NewDecoder(bytes.NewReader(c.do(http.MethodGet, "/fhir/"+ref, nil).must(t, http.StatusOK).raw))
		d.UseNumber()
		if err := d.Decode(&stored); err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(stored)
		b, _ := json.Marshal(got[ref])
		if !bytes.Equal(a, b) {
			t.Errorf("%s exported as %s, stored as %s", ref, b, a)
		}
	}
	if q := got[obs[0]]["valueQuantity"].(map[string]any)["value"]; q != json.Number("72.50") {
		t.Errorf("a decimal exported as %v", q)
	}
	c.do(http.MethodDelete, status, nil).must(t, http.StatusAccepted)
	c.do(http.MethodGet, status, nil).must(t, http.StatusNotFound).outcome(t)
	c.do(http.MethodGet, strings.TrimPrefix(m.Output[0].URL, c.base), nil).must(t, http.StatusNotFound)
	var left int
	if err := env.pool.QueryRow(context.Background(), `SELECT count(*) FROM export_chunks WHERE job_id = $1`,
		strings.TrimPrefix(status, "/fhir/$export-status/")).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d chunks left after the cancel (%v)", left, err)
	}
}

// TestExportCapabilities checks that the CapabilityStatement lists the
// three $export operations.
func TestExportCapabilities(t *testing.T) {
	env := exportServer(t, rest.Options{}, fastExports, false)
	cs := env.c.do(http.MethodGet, "/fhir/metadata", nil).must(t, http.StatusOK)
	text := string(cs.raw)
	for _, def := range []string{"bulkdata/OperationDefinition/export", "bulkdata/OperationDefinition/patient-export",
		"bulkdata/OperationDefinition/group-export", "bulkdata/CapabilityStatement/bulk-data"} {
		if !strings.Contains(text, def) {
			t.Errorf("the CapabilityStatement does not list %s", def)
		}
	}
}

// TestExportAuditEvents checks that a system export leaves AuditEvents out
// unless _type names them.
func TestExportAuditEvents(t *testing.T) {
	env := exportServer(t, rest.Options{}, fastExports, true)
	c := env.c
	ev := audit.Event{Time: time.Now().Add(-time.Minute), Interaction: "read", Method: "GET", Path: "/fhir/Patient/x", Status: 200,
		Type: "Patient", ID: "x-" + uniq}
	if err := auditSink(env.st)(context.Background(), []audit.Record{ev.Record()}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query string
		want  bool
	}{{"", false}, {"?_type=AuditEvent", true}} {
		m := c.waitExport(c.kickoff(http.MethodGet, "/fhir/$export"+tc.query, nil))
		has := false
		for _, f := range m.Output {
			has = has || f.Type == "AuditEvent"
		}
		if has != tc.want {
			t.Errorf("$export%s: an AuditEvent file %v, want %v", tc.query, has, tc.want)
		}
	}
}
