package verify

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./verify -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; run with -update if the change is intended\n--- got ---\n%s", path, got)
	}
}

var when = time.Date(2025, 3, 14, 9, 26, 53, 0, time.FixedZone("CLT", -3*3600))

func TestMarkdown(t *testing.T) {
	tests := []struct {
		name   string
		report Report
	}{
		{"complete-pass.md", Report{
			Target: "http://hce.example.org/fhir", Level: Complete, RunID: "20250314-122653-a1b2c3",
			Started: when, Elapsed: 8*time.Second + 420*time.Millisecond,
			Checks: []Check{
				{Name: "server up (/healthz)", Level: Basic, OK: true, Detail: "200 OK in 1.2 ms", Duration: 1200 * time.Microsecond},
				{Name: "Citus extension", Level: Basic, OK: true, Detail: "Citus 13.2-1 on PostgreSQL 16.4, coordinator coord"},
				{Name: "workers registered and active", Level: Basic, OK: true, Detail: "2 registered, 2 active: w1:5432 (32 shards, 4.0 MiB); w2:5432 (32 shards, 4.1 MiB)"},
				{Name: "create test set", Level: Complete, OK: true, Detail: "1000 of 1000 resources (100 Patient, 900 Observation) in 10 transaction Bundles", Duration: 2130 * time.Millisecond},
				{Name: "spread over workers", Level: Complete, OK: true, Detail: "test patients per node: w1:5432 48, w2:5432 52", Duration: 160 * time.Millisecond},
				{Name: "cleanup", Level: Complete, OK: true, Detail: "deleted 1000 resources", Duration: 4720 * time.Millisecond},
			},
			Metrics: []Metric{
				{"resources created", "1000 (100 Patient, 900 Observation)"},
				{"create rate", "469 resources/s (100 per transaction Bundle)"},
				{"spread w1:5432", "48 patients, 480 resources"},
				{"spread w2:5432", "52 patients, 520 resources"},
				{"search p50", "16 ms"},
				{"search p95", "43 ms"},
			},
		}},
		{"basic-plain-fail.md", Report{
			Target: "http://127.0.0.1:8080/fhir", Level: Basic, Started: when, Elapsed: 95 * time.Millisecond,
			Checks: []Check{
				{Name: "server up (/healthz)", Level: Basic, OK: true, Detail: "200 OK in 0.9 ms", Duration: 900 * time.Microsecond},
				{Name: "Citus extension", Level: Basic, OK: false, Detail: `not installed: the database is plain PostgreSQL 15.18 (/admin/cluster mode "plain"); HCE runs unsharded`},
				{Name: "workers registered and active", Level: Basic, OK: false, Detail: "none: plain PostgreSQL has no workers"},
			},
		}},
		{"ha-fail.md", Report{
			Target: "https://hce.example.org/fhir", Level: HA, RunID: "r1", Started: when, Elapsed: 3*time.Minute + 4600*time.Millisecond,
			Checks: []Check{
				{Name: "stop worker (--stop-worker-cmd)", Level: HA, OK: true, Detail: "exit status 0: worker2", Duration: 10200 * time.Millisecond},
				{Name: "failure answer (503, OperationOutcome, Retry-After)", Level: HA, OK: false,
					Detail: "40 failed reads: 38 × 503 with OperationOutcome and Retry-After, 2 × 500 without OperationOutcome, no Retry-After"},
				{Name: "recovery", Level: HA, OK: false, Detail: "reads still fail\n2m00s after the start command | began"},
			},
			Metrics: []Metric{{"failover: first failure after stop", "1.25 s"}, {"failover: recovery time", "not recovered"}},
		}},
		{"empty.md", Report{Target: "http://127.0.0.1:8080/fhir", Level: Basic, Started: when}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, tt.name, tt.report.Markdown())
		})
	}
}

func TestReportOK(t *testing.T) {
	pass := Check{Name: "a", OK: true}
	fail := Check{Name: "b"}
	tests := []struct {
		name   string
		checks []Check
		ok     bool
		failed int
	}{
		{"no checks is not a pass", nil, false, 0},
		{"all pass", []Check{pass, pass}, true, 0},
		{"one failure", []Check{pass, fail, pass}, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Report{Checks: tt.checks}
			if r.OK() != tt.ok || len(r.Failed()) != tt.failed {
				t.Errorf("OK() = %t with %d failed, want %t with %d", r.OK(), len(r.Failed()), tt.ok, tt.failed)
			}
			verdict := "**Verdict: PASS**"
			if !tt.ok {
				verdict = "**Verdict: FAIL**"
			}
			if md := r.Markdown(); !strings.Contains(md, verdict) {
				t.Errorf("the Markdown lacks %q:\n%s", verdict, md)
			}
		})
	}
}

func TestMetricReplaces(t *testing.T) {
	var r Report
	r.metric("recovery", "%s", "pending")
	r.metric("other", "%d", 1)
	r.metric("recovery", "%s", "1.2 s")
	if len(r.Metrics) != 2 || r.Metric("recovery") != "1.2 s" || r.Metrics[0].Name != "recovery" {
		t.Errorf("metrics %+v", r.Metrics)
	}
}

func TestCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"", "-"},
		{"a | b", `a \| b`},
		{"two\nlines\t tabbed", "two lines tabbed"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := cell(tt.in); got != tt.want {
				t.Errorf("cell(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0.0 ms"},
		{1234 * time.Microsecond, "1.2 ms"},
		{12 * time.Millisecond, "12 ms"},
		{999 * time.Millisecond, "999 ms"},
		{1250 * time.Millisecond, "1.25 s"},
		{99 * time.Second, "99.00 s"},
		{185 * time.Second, "3m05s"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := formatDuration(tt.d); got != tt.want {
				t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {4718592, "4.5 MiB"}, {3 << 30, "3.0 GiB"}}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := formatBytes(tt.n); got != tt.want {
				t.Errorf("formatBytes(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name string
		ds   []time.Duration
		p    int
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 95, 7 * time.Millisecond},
		{"median of unsorted", ms(30, 10, 20), 50, 20 * time.Millisecond},
		{"p95 of 20 is the 19th", ms(20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 95, 19 * time.Millisecond},
		{"p100 is the maximum", ms(1, 5, 3), 100, 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]time.Duration(nil), tt.ds...)
			if got := percentile(tt.ds, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %d) = %v, want %v", tt.ds, tt.p, got, tt.want)
			}
			for i := range before {
				if before[i] != tt.ds[i] {
					t.Fatal("percentile reordered its input")
				}
			}
		})
	}
}
