package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/verify"
)

func TestVerifyCmdFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		usage   bool   // want errUsage
		wantErr string // else an error containing this
		stderr  string // and this on stderr
		stdout  string // and this on stdout
	}{
		{name: "unknown flag", args: []string{"--nope"}, usage: true},
		{name: "bad level", args: []string{"--level", "full"}, usage: true, stderr: "want basic, complete or ha"},
		{name: "argument", args: []string{"--level", "basic", "extra"}, usage: true, stderr: `unexpected argument "extra"`},
		{name: "ha without commands", args: []string{"--level", "ha"}, usage: true, stderr: "stop-worker"},
		{name: "HCE_LEVEL", env: map[string]string{"HCE_LEVEL": "sideways"}, wantErr: "HCE_LEVEL"},
		{name: "bad url", args: []string{"--url", "127.0.0.1:8080/fhir"}, usage: true, stderr: "not an http(s) URL"},
		{name: "server down", args: []string{"--url", "http://127.0.0.1:1/fhir", "--timeout", "20s"},
			wantErr: "checks failed", stdout: "| server up (/healthz) | **FAIL** |"},
		{name: "server down by HCE_URL", env: map[string]string{"HCE_URL": "http://127.0.0.1:1/fhir"},
			wantErr: "checks failed", stdout: "- **Target:** http://127.0.0.1:1/fhir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			err := verifyCmd(context.Background(), tt.args, &stdout, &stderr)
			switch {
			case tt.usage:
				if err != errUsage {
					t.Fatalf("err = %v, want the usage error", err)
				}
			case err == nil || !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout.String())
			}
		})
	}
}

// clusterMode asks a server for its /admin/cluster mode: plain or citus.
func clusterMode(t *testing.T, c *client) string {
	t.Helper()
	return c.do("GET", "/admin/cluster", nil).must(t, 200).str("mode")
}

// TestVerifyBasic runs `hce verify` against a real server. On plain
// PostgreSQL the Citus checks do not apply, the report says so and passes,
// and the exit status is 0; the connectivity checks pass.
func TestVerifyBasic(t *testing.T) {
	c := testServer(t, rest.Options{})
	citus := clusterMode(t, c) == "citus"
	report := filepath.Join(t.TempDir(), "verify.md")
	var stdout, stderr bytes.Buffer
	err := verifyCmd(context.Background(), []string{"--url", c.base + "/fhir", "--report", report}, &stdout, &stderr)
	raw, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatalf("no report: %v; stderr:\n%s", rerr, stderr.String())
	}
	md := string(raw)
	if stdout.Len() != 0 {
		t.Errorf("with --report, stdout should stay empty:\n%s", stdout.String())
	}
	for _, want := range []string{
		"# HCE deployment verification", "- **Level:** basic", "| check | result | detail | time |",
		"| server up (/healthz) | pass |", "| database ready (/readyz) | pass |",
		"| FHIR API (/metadata) | pass | CapabilityStatement, FHIR 4.0.1",
		"| cluster info (/admin/cluster) | pass |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	if citus {
		if !strings.Contains(md, "| Citus extension | pass |") {
			t.Errorf("on Citus the extension check should pass:\n%s", md)
		}
		return
	}
	for _, want := range []string{
		"| Citus extension | n/a | not installed: plain PostgreSQL",
		"the Citus checks do not apply",
		"| workers registered and active | n/a | none: plain PostgreSQL",
		"**Verdict: PASS** — 4 of 6 checks passed, the other 2 do not apply.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	if err != nil {
		t.Errorf("err = %v, want none on plain PostgreSQL (exit status 0)", err)
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"verify", "--url", c.base + "/fhir"}, &stdout, &stderr); code != 0 {
		t.Errorf("hce verify exit status %d, want 0; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "| Citus extension | n/a |") {
		t.Errorf("without --report the report goes to stdout:\n%s", stdout.String())
	}
	if code := run(context.Background(), []string{"verify", "--level", "nonsense"}, &stdout, &stderr); code != 2 {
		t.Errorf("a bad level gave exit status %d, want 2", code)
	}
}

// testSetLeft counts, by search, the resources of a run's test set that are
// still there.
func testSetLeft(t *testing.T, c *client, run string) int {
	t.Helper()
	n := 0
	for _, typ := range []string{"Patient", "Observation"} {
		r := c.do("GET", "/fhir/"+typ+"?_tag="+url.QueryEscape(verify.TagSystem+"|"+run)+"&_total=accurate&_count=1", nil).must(t, 200)
		var b struct{ Total int }
		if err := json.Unmarshal(r.raw, &b); err != nil {
			t.Fatal(err)
		}
		n += b.Total
	}
	return n
}

// dataChecks are the checks of the complete level that do not depend on
// Citus: on plain PostgreSQL they must pass too.
var dataChecks = []string{"create test set", "search totals (_total=accurate)", "spread over workers",
	"distributed search (paging)", "_include join", "count (_summary=count)", "cleanup"}

// TestVerifyComplete runs the complete level, with its 1,000 resources,
// against a real server and checks that every data check passed and that
// nothing of the test set is left.
func TestVerifyComplete(t *testing.T) {
	c := testServer(t, rest.Options{})
	citus := clusterMode(t, c) == "citus"
	rep := verify.Run(context.Background(), verify.Config{BaseURL: c.base + "/fhir", DatabaseURL: testdb.URL(t), Level: verify.Complete, Token: c.token}, t.Logf)
	if rep.RunID == "" {
		t.Fatalf("no test set was made:\n%s", rep.Markdown())
	}
	for _, name := range append(dataChecks, "coordinator connection (--database-url)") {
		ch, ok := rep.Check(name)
		if !ok || !ch.OK {
			t.Errorf("check %q: present %t, %+v", name, ok, ch)
		}
	}
	if ch, _ := rep.Check("create test set"); !strings.HasPrefix(ch.Detail, "1000 of 1000 resources (100 Patient, 900 Observation)") {
		t.Errorf("create test set: %s", ch.Detail)
	}
	if ch, _ := rep.Check("distributed search (paging)"); !strings.HasPrefix(ch.Detail, "900 distinct Observations (want 900) in 9 pages") {
		t.Errorf("distributed search: %s", ch.Detail)
	}
	for _, m := range []string{"resources created", "create rate", "search p50", "search p95", "cleanup"} {
		if rep.Metric(m) == "" {
			t.Errorf("metric %q missing", m)
		}
	}
	if citus {
		if !rep.OK() {
			t.Errorf("on Citus every check should pass:\n%s", rep.Markdown())
		}
		perWorker := 0
		for _, m := range rep.Metrics {
			if strings.HasPrefix(m.Name, "spread ") {
				perWorker++
			}
		}
		if perWorker == 0 {
			t.Errorf("no spread per worker in %+v", rep.Metrics)
		}
	} else {
		if !rep.OK() {
			t.Errorf("on plain PostgreSQL the report should pass, the Citus checks not applying:\n%s", rep.Markdown())
		}
		if got := rep.Metric("spread"); got != "not applicable (plain PostgreSQL)" {
			t.Errorf("spread metric %q", got)
		}
	}
	if n := testSetLeft(t, c, rep.RunID); n != 0 {
		t.Errorf("%d resources of the test set are left", n)
	}
	if t.Failed() {
		t.Log("\n" + rep.Markdown())
	}
}

// TestVerifyCompleteCmd runs a small complete verification through the
// command line: the report goes to stdout.
func TestVerifyCompleteCmd(t *testing.T) {
	c := testServer(t, rest.Options{})
	var stdout, stderr bytes.Buffer
	err := verifyCmd(context.Background(), []string{"--url", c.base + "/fhir", "--level", "complete", "--patients", "5", "--per-patient", "2"}, &stdout, &stderr)
	md := stdout.String()
	if err != nil {
		t.Errorf("err = %v, want none", err)
	}
	for _, want := range []string{
		"- **Level:** complete",
		"| create test set | pass | 15 of 15 resources (5 Patient, 10 Observation) in 1 transaction Bundle",
		"| search totals (_total=accurate) | pass | Patient 5 (want 5), Observation 10 (want 10)",
		"| distributed search (paging) | pass | 10 distinct Observations (want 10) in 1 page of up to 100",
		"| _include join | pass | 10 Observations of 5 Patients, 5 Patients included; every subject included",
		"| count (_summary=count) | pass | total 10 (want 10)",
		"| cleanup | pass | deleted 15 resources",
		"| resources created | 15 (5 Patient, 10 Observation) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	_, after, ok := strings.Cut(md, "tagged `"+verify.TagSystem+"|")
	runID, _, _ := strings.Cut(after, "`")
	if !ok || runID == "" {
		t.Fatalf("no test set tag in the report:\n%s", md)
	}
	if n := testSetLeft(t, c, runID); n != 0 {
		t.Errorf("%d resources of the test set are left", n)
	}
	if !strings.Contains(stderr.String(), "verify: creating 15 resources") {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}
}

var patientRead = regexp.MustCompile(`^/fhir/Patient/[^/]+$`)

// outageProxy stands in for a worker outage in front of a real server:
// while the flag file exists, every read of a Patient by id answers 503 with
// an OperationOutcome and Retry-After, as HCE does when the worker holding
// the patient is down; everything else goes to the server.
func outageProxy(t *testing.T, target, flag string) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat(flag); err == nil && r.Method == http.MethodGet && patientRead.MatchString(r.URL.Path) {
			w.Header().Set("Content-Type", "application/fhir+json")
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient","diagnostics":"worker unreachable"}]}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestVerifyHA runs the ha level against a real server behind outageProxy,
// with operator commands that create and remove the flag file: the failover
// is measured, every resource is read back, and the test set is removed.
func TestVerifyHA(t *testing.T) {
	c := testServer(t, rest.Options{})
	flag := filepath.Join(t.TempDir(), "worker-down")
	base := outageProxy(t, c.base, flag)
	cfg := verify.Config{BaseURL: base + "/fhir", Level: verify.HA, Patients: 20, PerPatient: 4, Timeout: 2 * time.Minute, Token: c.token,
		StopWorkerCmd: "touch '" + flag + "'", StartWorkerCmd: "sleep 0.3; rm -f '" + flag + "'"}
	rep := verify.Run(context.Background(), cfg, t.Logf)
	for _, name := range append(dataChecks, "reads before the stop", "stop worker (--stop-worker-cmd)",
		"reads fail while the worker is down", "failure answer (503, OperationOutcome, Retry-After)",
		"start worker (--start-worker-cmd)", "recovery", "no resource lost") {
		ch, ok := rep.Check(name)
		if !ok || !ch.OK {
			t.Errorf("check %q: present %t, %+v", name, ok, ch)
		}
	}
	if ch, _ := rep.Check("no resource lost"); ch.Detail != "all 100 resources of the test set read back by id" {
		t.Errorf("no resource lost: %s", ch.Detail)
	}
	for _, m := range []string{"failover: first failure after stop", "failover: fail duration", "failover: recovery time", "failover: reads during the outage"} {
		if rep.Metric(m) == "" {
			t.Errorf("metric %q missing", m)
		}
	}
	if _, err := os.Stat(flag); !os.IsNotExist(err) {
		t.Errorf("the worker was left down: %v", err)
	}
	if n := testSetLeft(t, c, rep.RunID); n != 0 {
		t.Errorf("%d resources of the test set are left", n)
	}
	if t.Failed() {
		t.Log("\n" + rep.Markdown())
	}
}
