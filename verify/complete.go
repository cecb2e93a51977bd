package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
)

// pageSize is the _count of the paged distributed search: small enough that
// 900 matches take several pages, so that paging itself is tested.
const pageSize = 100

// complete runs the data checks on the created test set.
func (v *runner) complete(ctx context.Context) {
	s := v.set
	v.step("search totals (_total=accurate)", Complete, func() (bool, string) {
		return v.searchTotals(ctx)
	})
	v.step("spread over workers", Complete, func() (bool, string) {
		return v.spread(ctx)
	})
	v.step("distributed search (paging)", Complete, func() (bool, string) {
		return v.pageAll(ctx)
	})
	v.step("_include join", Complete, func() (bool, string) {
		return v.include(ctx)
	})
	v.step("count (_summary=count)", Complete, func() (bool, string) {
		b, err := v.search(ctx, s.query("Observation", "&_summary=count"))
		if err != nil {
			return false, err.Error()
		}
		if b.Total == nil {
			return false, "the Bundle has no total"
		}
		n := len(matches(b))
		ok := *b.Total == s.wantObservations() && n == 0
		return ok, fmt.Sprintf("total %d (want %d), %d entries (want 0)", *b.Total, s.wantObservations(), n)
	})
}

// searchTotals counts the test set by type with _total=accurate.
func (v *runner) searchTotals(ctx context.Context) (bool, string) {
	s := v.set
	ok := true
	var parts []string
	for _, tc := range []struct {
		typ  string
		want int
	}{{"Patient", s.patients}, {"Observation", s.wantObservations()}} {
		b, err := v.search(ctx, s.query(tc.typ, "&_total=accurate&_count=1"))
		if err != nil {
			return false, err.Error()
		}
		if b.Total == nil {
			return false, tc.typ + ": the searchset has no total"
		}
		ok = ok && *b.Total == tc.want
		parts = append(parts, fmt.Sprintf("%s %d (want %d)", tc.typ, *b.Total, tc.want))
	}
	return ok, strings.Join(parts, ", ")
}

// pageAll follows next links through every Observation of the test set.
func (v *runner) pageAll(ctx context.Context) (bool, string) {
	s := v.set
	want := s.observationSet()
	seen := map[string]bool{}
	dups, strangers, pages := 0, 0, 0
	// A server that hands out next links forever is stopped here.
	maxPages := s.wantObservations()/pageSize + 10
	next := s.query("Observation", fmt.Sprintf("&_count=%d", pageSize))
	for next != "" {
		if pages == maxPages {
			return false, fmt.Sprintf("still a next link after %d pages (%d Observations seen)", pages, len(seen))
		}
		b, err := v.search(ctx, next)
		if err != nil {
			return false, fmt.Sprintf("page %d: %v", pages+1, err)
		}
		pages++
		for _, e := range matches(b) {
			var r resource
			if err := json.Unmarshal(e.Resource, &r); err != nil || r.ResourceType != "Observation" {
				strangers++
				continue
			}
			switch {
			case seen[r.ID]:
				dups++
			case !want[r.ID] || !r.tagged(s.run):
				strangers++
			}
			seen[r.ID] = true
		}
		next = rebase(b.next())
	}
	distinct := len(seen)
	ok := distinct == s.wantObservations() && dups == 0 && strangers == 0
	detail := fmt.Sprintf("%d distinct Observations (want %d) in %s of up to %d", distinct, s.wantObservations(), plural(pages, "page"), pageSize)
	if dups > 0 {
		detail += fmt.Sprintf("; %d repeated across pages", dups)
	}
	if strangers > 0 {
		detail += fmt.Sprintf("; %d not of the test set", strangers)
	}
	return ok, detail
}

// rebase turns the server's next link into a search relative to our base:
// behind a proxy the server may not know the address we reach it at.
func rebase(next string) string {
	if next == "" {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil {
		return next
	}
	p := strings.TrimSuffix(u.Path, "/_search") // a search by POST pages by GET
	return path.Base(p) + "?" + u.RawQuery
}

// include searches a page of Observations with their subjects included and
// checks that every subject is among the included Patients.
func (v *runner) include(ctx context.Context) (bool, string) {
	s := v.set
	b, err := v.search(ctx, s.query("Observation", "&_include=Observation:subject&_count=50"))
	if err != nil {
		return false, err.Error()
	}
	ours := s.patientSet()
	included := map[string]bool{}
	var problems []string
	nMatch := 0
	subjects := map[string]bool{}
	var missing []string
	for _, e := range b.Entry {
		var r resource
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			problems = append(problems, "an entry is not a resource")
			continue
		}
		mode := "match"
		if e.Search != nil && e.Search.Mode != "" {
			mode = e.Search.Mode
		}
		switch mode {
		case "include":
			if r.ResourceType != "Patient" || !ours[r.ID] {
				problems = append(problems, fmt.Sprintf("included %s/%s is not a Patient of the test set", r.ResourceType, r.ID))
			}
			included[r.ID] = true
		case "match":
			nMatch++
			if r.Subject == nil {
				problems = append(problems, "Observation/"+r.ID+" has no subject")
				continue
			}
			typ, id, ok := parseLocation(r.Subject.Reference)
			if !ok || typ != "Patient" {
				problems = append(problems, fmt.Sprintf("Observation/%s has subject %q", r.ID, r.Subject.Reference))
				continue
			}
			subjects[id] = true
		}
	}
	for id := range subjects {
		if !included[id] {
			missing = append(missing, "Patient/"+id)
		}
	}
	sort.Strings(missing)
	if nMatch == 0 {
		return false, "the search matched no Observation"
	}
	detail := fmt.Sprintf("%d Observations of %d Patients, %d Patients included", nMatch, len(subjects), len(included))
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("%d subjects not included (%s)", len(missing), summarize(missing, 3)))
	}
	if len(problems) > 0 {
		return false, detail + "; " + summarize(problems, 3)
	}
	return true, detail + "; every subject included"
}

// matches returns the entries of a searchset that are matches (not included
// resources or outcome messages).
func matches(b *bundle) []bundleEntry {
	var out []bundleEntry
	for _, e := range b.Entry {
		if e.Search == nil || e.Search.Mode == "" || e.Search.Mode == "match" {
			out = append(out, e)
		}
	}
	return out
}
