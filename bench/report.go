package bench

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Report is what a benchmark run measured.
type Report struct {
	Started time.Time `json:"started"`
	URL     string    `json:"url"`
	// DataSet describes the generated data; nil when nothing was loaded.
	DataSet *DataSetSummary `json:"dataSet,omitempty"`
	// Load is the load through the API; nil when nothing was loaded.
	Load *LoadSummary `json:"load,omitempty"`
	// AnalyzeSeconds is how long ANALYZE took; DatabaseBytes the database's
	// size after it. Both are zero, and DatabaseNote says why, without a
	// database URL.
	AnalyzeSeconds float64 `json:"analyzeSeconds,omitempty"`
	DatabaseBytes  int64   `json:"databaseBytes,omitempty"`
	DatabaseNote   string  `json:"databaseNote,omitempty"`
	// PeakRSSBytes is the server's peak resident set size at the end of the
	// run (its hce_process_peak_rss_bytes); PeakRSSNote says why it is
	// missing.
	PeakRSSBytes int64  `json:"peakRssBytes,omitempty"`
	PeakRSSNote  string `json:"peakRssNote,omitempty"`
	// Counts are the server's totals of a few resource types after the load.
	Counts map[string]int `json:"counts,omitempty"`
	// Facts are the values the mix was built from.
	Facts *Facts `json:"facts,omitempty"`
	// Limits bound each pattern's run at each concurrency.
	Requests        int     `json:"requestsPerRun"`
	DurationSeconds float64 `json:"secondsPerRun"`
	// Results are the runs, every pattern at Clients[0], then at Clients[1]…
	Clients []int    `json:"clients"`
	Results []Result `json:"results"`
}

// DataSetSummary describes the data set of a run.
type DataSetSummary struct {
	Dir       string         `json:"dir"`
	Seed      int64          `json:"seed"`
	Target    int            `json:"target"`
	Resources int            `json:"resources"`
	Bundles   int            `json:"bundles"`
	Patients  int            `json:"patients"`
	Types     map[string]int `json:"types"`
	Reused    bool           `json:"reused"`
	Seconds   float64        `json:"seconds"`
}

// LoadSummary is the load through the FHIR API.
type LoadSummary struct {
	Resources   int64   `json:"resources"`
	Files       int     `json:"files"`
	Failed      int     `json:"failed"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"perSecond"`
}

// JSON is the report for machines.
func (r *Report) JSON() ([]byte, error) {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return append(raw, '\n'), nil
}

// Errors counts the failed requests of every run.
func (r *Report) Errors() int {
	n := 0
	for _, res := range r.Results {
		n += res.Errors
	}
	return n
}

// Markdown is the report for people: a summary, then one table per
// concurrency, then the failures.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# HCE volume benchmark\n\n| | |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, v) }
	row("server", r.URL)
	row("started", r.Started.UTC().Format(time.RFC3339))
	if d := r.DataSet; d != nil {
		how := fmt.Sprintf("generated in %.1f s", d.Seconds)
		if d.Reused {
			how = "reused from " + d.Dir
		}
		row("data set", fmt.Sprintf("%s resources in %s Bundles (%s patients), seed %d, target %s; %s",
			num(d.Resources), num(d.Bundles), num(d.Patients), d.Seed, num(d.Target), how))
	} else {
		row("data set", "not loaded by this run")
	}
	if l := r.Load; l != nil {
		row("load", fmt.Sprintf("%s resources in %.1f s: **%s resources/s** (%d streams), %d failed",
			num(int(l.Resources)), l.Seconds, num(int(l.PerSecond+0.5)), l.Concurrency, l.Failed))
	}
	if r.DatabaseNote != "" {
		row("ANALYZE, database size", r.DatabaseNote)
	} else {
		row("ANALYZE", fmt.Sprintf("%.1f s", r.AnalyzeSeconds))
		row("database size", bytesText(r.DatabaseBytes))
	}
	if r.PeakRSSNote != "" {
		row("server peak RSS", r.PeakRSSNote)
	} else {
		row("server peak RSS", bytesText(r.PeakRSSBytes))
	}
	if len(r.Counts) > 0 {
		var parts []string
		for _, t := range countedTypes {
			if n, ok := r.Counts[t]; ok {
				parts = append(parts, t+" "+num(n))
			}
		}
		row("server holds", strings.Join(parts, ", "))
	}
	if f := r.Facts; f != nil {
		row("values", fmt.Sprintf("%d sampled patients; most common code %s (%s Observations)", len(f.Patients), f.CommonCode, num(f.CommonTotal)))
	}
	row("each run", fmt.Sprintf("at most %d requests or %.0f s per pattern and concurrency; percentiles of every request", r.Requests, r.DurationSeconds))

	var failed, skipped []string
	for _, clients := range r.Clients {
		fmt.Fprintf(&b, "\n## %d %s\n\n", clients, plural(clients, "client", "clients"))
		b.WriteString("| pattern | example query | requests | errors | empty | p50 ms | p95 ms | p99 ms | req/s |\n")
		b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, res := range r.Results {
			if res.Clients != clients {
				continue
			}
			if res.Skipped != "" {
				if clients == r.Clients[0] {
					skipped = append(skipped, fmt.Sprintf("- %s: %s", res.Pattern, res.Skipped))
				}
				continue
			}
			example := code(res.Example)
			if res.Pages > 1 {
				example += fmt.Sprintf(", page %d by next links", res.Pages)
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %s | %s | %s | %s |\n", res.Pattern, example,
				res.Requests, res.Errors, res.Empty, ms(res.P50), ms(res.P95), ms(res.P99), rate(res.PerSecond))
			for _, e := range res.ErrorSamples {
				failed = append(failed, fmt.Sprintf("- %s, %d %s: %s", res.Pattern, clients, plural(clients, "client", "clients"), e))
			}
		}
	}
	if len(failed) > 0 {
		b.WriteString("\n## Errors (first of each run)\n\n" + strings.Join(failed, "\n") + "\n")
	}
	if len(skipped) > 0 {
		b.WriteString("\n## Skipped\n\n" + strings.Join(skipped, "\n") + "\n")
	}
	return b.String()
}

// countedTypes are the types whose totals the report gives.
var countedTypes = []string{"Patient", "Encounter", "Observation"}

// code writes a query as inline code that a Markdown table cell can hold.
func code(s string) string { return "`" + strings.ReplaceAll(s, "|", `\|`) + "`" }

func ms(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func rate(v float64) string {
	if v >= 10 {
		return num(int(v + 0.5))
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// num writes an integer with thousands separators: 1,000,000.
func num(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
