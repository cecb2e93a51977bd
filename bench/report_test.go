package bench

import (
	"strings"
	"testing"
	"time"
)

func TestReportMarkdown(t *testing.T) {
	rep := &Report{
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), URL: "http://127.0.0.1:8080/fhir",
		DataSet:      &DataSetSummary{Seed: 1, Target: 1_000_000, Resources: 1_000_123, Bundles: 1563, Patients: 1561, Seconds: 40},
		Load:         &LoadSummary{Resources: 1_000_123, Files: 1563, Concurrency: 4, Seconds: 400, PerSecond: 2500.3},
		DatabaseNote: "skipped: no --database-url",
		PeakRSSBytes: 300 << 20,
		Counts:       map[string]int{"Patient": 1561, "Observation": 450000},
		Requests:     200, DurationSeconds: 20,
		Clients: []int{1, 16},
		Results: []Result{
			{Pattern: "obs-value", Example: "Observation?value-quantity=le10||kg", Clients: 1, Requests: 200, P50: 1.26, P95: 140.4, P99: 200, PerSecond: 512.4},
			{Pattern: "page5", Example: "Observation?code=1", Pages: 5, Clients: 1, Requests: 3},
			{Pattern: "gone", Clients: 1, Skipped: "nothing to build it from"},
			{Pattern: "obs-value", Example: "Observation?value-quantity=le10||kg", Clients: 16, Requests: 200, Errors: 2,
				ErrorSamples: []string{"GET Observation?x: 503: statement timeout"}, PerSecond: 7.26},
			{Pattern: "gone", Clients: 16, Skipped: "nothing to build it from"},
		},
	}
	md := rep.Markdown()
	for _, want := range []string{
		"| data set | 1,000,123 resources in 1,563 Bundles (1,561 patients), seed 1, target 1,000,000; generated in 40.0 s |",
		"**2,500 resources/s** (4 streams), 0 failed",
		"| ANALYZE, database size | skipped: no --database-url |",
		"| server peak RSS | 300 MiB |",
		"| server holds | Patient 1,561, Observation 450,000 |",
		"## 1 client\n",
		"## 16 clients\n",
		"| obs-value | `Observation?value-quantity=le10\\|\\|kg` | 200 | 0 | 0 | 1.3 | 140 | 200 | 512 |",
		"| page5 | `Observation?code=1`, page 5 by next links | 3 |",
		"| obs-value | `Observation?value-quantity=le10\\|\\|kg` | 200 | 2 | 0 | 0.0 | 0.0 | 0.0 | 7.3 |",
		"- obs-value, 16 clients: GET Observation?x: 503: statement timeout",
		"## Skipped\n\n- gone: nothing to build it from\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "- gone:") != 1 {
		t.Errorf("a skipped pattern is listed once:\n%s", md)
	}
	if rep.Errors() != 2 {
		t.Errorf("Errors() = %d", rep.Errors())
	}
}

func TestNum(t *testing.T) {
	for in, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := num(in); got != want {
			t.Errorf("num(%d) = %s, want %s", in, got, want)
		}
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"search", `{"resourceType":"Bundle","type":"searchset","entry":[{"search":{"mode":"match"}},{"search":{"mode":"match"}}]}`, 2},
		{"includes do not count", `{"resourceType":"Bundle","entry":[{"search":{"mode":"match"}},{"search":{"mode":"include"}}]}`, 1},
		{"only includes", `{"resourceType":"Bundle","entry":[{"search":{"mode":"include"}}]}`, 0},
		{"everything", `{"resourceType":"Bundle","entry":[{},{}]}`, 2},
		{"count", `{"resourceType":"Bundle","total":42}`, 42},
		{"empty", `{"resourceType":"Bundle","total":0}`, 0},
		{"read", `{"resourceType":"Patient","id":"1"}`, 1},
		{"outcome", `{"resourceType":"OperationOutcome"}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := matches([]byte(tc.body))
			if err != nil || got != tc.want {
				t.Errorf("matches = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	if _, err := matches([]byte("<html>")); err == nil {
		t.Error("not JSON: no error")
	}
}

func TestMetricValue(t *testing.T) {
	text := "# HELP hce_process_peak_rss_bytes Peak.\n# TYPE hce_process_peak_rss_bytes gauge\n" +
		"hce_process_peak_rss_bytes_other 1\nhce_process_peak_rss_bytes 7.340032e+07\n"
	if v, err := metricValue([]byte(text), PeakRSSMetric); err != nil || v != 73400320 {
		t.Errorf("metricValue = %d, %v", v, err)
	}
	if _, err := metricValue([]byte("go_goroutines 5\n"), PeakRSSMetric); err == nil {
		t.Error("a missing metric: no error")
	}
}
