package verify

import (
	"fmt"
	"strings"
	"time"
)

// Check is the outcome of one verification step.
type Check struct {
	// Name says what was checked, e.g. "Citus extension".
	Name string
	// Level is the lowest level the check belongs to.
	Level Level
	// OK is true when the check passed, or does not apply.
	OK bool
	// NotApplicable marks a check that does not apply to this deployment,
	// such as the Citus checks on plain PostgreSQL; it counts as passed.
	NotApplicable bool
	// Detail says what was seen, in one line: enough to act on a failure.
	Detail string
	// Duration is how long the check took.
	Duration time.Duration
}

// Metric is one measured value, already formatted with its unit.
type Metric struct {
	Name  string
	Value string
}

// Report is the result of Run.
type Report struct {
	// Target is the FHIR base URL that was verified.
	Target string
	// Level is the level that was asked for.
	Level Level
	// RunID is the meta.tag code of the test set ("" at the basic level).
	RunID string
	// Started is when the run began, and Elapsed how long it took.
	Started time.Time
	Elapsed time.Duration
	// Checks in the order they ran, and Metrics in the order they were measured.
	Checks  []Check
	Metrics []Metric
}

// OK reports whether at least one check ran and every check passed.
func (r *Report) OK() bool {
	return len(r.Checks) > 0 && len(r.Failed()) == 0
}

// Failed returns the checks that did not pass.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Check returns the first check of that name, and whether there is one.
func (r *Report) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Metric returns the value of the first metric of that name, or "".
func (r *Report) Metric(name string) string {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m.Value
		}
	}
	return ""
}

// notApplicable counts the checks that do not apply.
func (r *Report) notApplicable() int {
	n := 0
	for _, c := range r.Checks {
		if c.NotApplicable {
			n++
		}
	}
	return n
}

// add records a check.
func (r *Report) add(c Check) { r.Checks = append(r.Checks, c) }

// metric records a metric; a later value of the same name replaces it.
func (r *Report) metric(name, format string, args ...any) {
	v := fmt.Sprintf(format, args...)
	for i := range r.Metrics {
		if r.Metrics[i].Name == name {
			r.Metrics[i].Value = v
			return
		}
	}
	r.Metrics = append(r.Metrics, Metric{Name: name, Value: v})
}

// Markdown renders the report: a header, the table of checks, the table of
// metrics and a final verdict line. The same report always renders to the
// same text.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# HCE deployment verification\n\n")
	fmt.Fprintf(&b, "- **Date:** %s\n", r.Started.UTC().Format("2006-01-02 15:04:05 UTC"))
	fmt.Fprintf(&b, "- **Target:** %s\n", cell(r.Target))
	fmt.Fprintf(&b, "- **Level:** %s\n", r.Level)
	if r.RunID != "" {
		fmt.Fprintf(&b, "- **Test set:** resources tagged `%s|%s`\n", TagSystem, r.RunID)
	}
	fmt.Fprintf(&b, "- **Run time:** %s\n", formatDuration(r.Elapsed))

	b.WriteString("\n## Checks\n\n| check | result | detail | time |\n|---|---|---|---|\n")
	for _, c := range r.Checks {
		result := "pass"
		switch {
		case !c.OK:
			result = "**FAIL**"
		case c.NotApplicable:
			result = "n/a"
		}
		t := "-"
		if c.Duration > 0 {
			t = formatDuration(c.Duration)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(c.Name), result, cell(c.Detail), t)
	}

	if len(r.Metrics) > 0 {
		b.WriteString("\n## Metrics\n\n| metric | value |\n|---|---|\n")
		for _, m := range r.Metrics {
			fmt.Fprintf(&b, "| %s | %s |\n", cell(m.Name), cell(m.Value))
		}
	}

	b.WriteString("\n")
	failed := r.Failed()
	switch {
	case len(r.Checks) == 0:
		b.WriteString("**Verdict: FAIL** — no check ran.\n")
	case len(failed) == 0 && r.notApplicable() > 0:
		n := r.notApplicable()
		fmt.Fprintf(&b, "**Verdict: PASS** — %d of %d checks passed, the other %d do not apply.\n", len(r.Checks)-n, len(r.Checks), n)
	case len(failed) == 0:
		fmt.Fprintf(&b, "**Verdict: PASS** — all %d checks passed.\n", len(r.Checks))
	default:
		names := make([]string, len(failed))
		for i, c := range failed {
			names[i] = c.Name
		}
		fmt.Fprintf(&b, "**Verdict: FAIL** — %d of %d checks failed: %s.\n", len(failed), len(r.Checks), cell(strings.Join(names, ", ")))
	}
	return b.String()
}

// cell makes text safe inside a Markdown table cell: one line, pipes escaped.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

// plural writes a count with its noun: 1 page, 9 pages.
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// formatDuration writes a duration for people: 0.4 ms, 12 ms, 1.25 s, 3m05s.
func formatDuration(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
}
