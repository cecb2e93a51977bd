package validate

import "github.com/hce-fhir/hce/search"

// period checks per-1, "if present, start SHALL have a lower value than
// end", in Go: the FHIRPath evaluator has no date comparison. With the two
// at different precisions FHIRPath's start <= end can be empty, so a Period
// breaks the rule only when its start begins after its end is over
// (2020-02 after 2020-01-15, 2020-01-02 after 2020-01-01), whatever the
// precision. Values that are not valid dates are reported by their own check.
func (w *walker) period(m map[string]any, path string) {
	start, ok1 := m["start"].(string)
	end, ok2 := m["end"].(string)
	if !ok1 || !ok2 || dateTime(start, "dateTime") != "" || dateTime(end, "dateTime") != "" {
		return
	}
	lo, _, err1 := search.DateRange(start)
	_, hi, err2 := search.DateRange(end)
	if err1 == nil && err2 == nil && !lo.Before(hi) {
		w.add(path, "invariant", "per-1: the period starts (%s) after it ends (%s)", start, end)
	}
}
