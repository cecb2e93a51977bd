package rest

import (
	"context"
	"fmt"
	"strings"

	"github.com/hce-fhir/hce/fhir"
)

// checkOverlap rejects a Bundle whose entries collide: two entries with
// the same fullUrl (bdl-7; both kinds of Bundle), or, in a transaction, two
// deletes, updates or patches of the same Type/id (http.html#trules: "If
// any resource identities overlap … the transaction SHALL fail"). The
// issue names both entries.
func checkOverlap(entries []*entry, transaction bool) error {
	byFullURL := map[string]*entry{}
	byTarget := map[string]*entry{}
	for _, e := range entries {
		if e.fullURL != "" {
			if prev, ok := byFullURL[e.fullURL]; ok {
				return overlapError(prev, e, "have the same fullUrl "+e.fullURL, "fullUrl")
			}
			byFullURL[e.fullURL] = e
		}
		if !transaction || e.method == "POST" || e.method == "GET" || e.method == "HEAD" || strings.Contains(e.url, "?") {
			continue
		}
		target := e.url
		if parts := strings.Split(target, "/"); len(parts) >= 2 {
			target = parts[0] + "/" + parts[1]
		}
		if prev, ok := byTarget[target]; ok {
			return overlapError(prev, e, "both change "+target, "request.url")
		}
		byTarget[target] = e
	}
	return nil
}

func overlapError(a, b *entry, what, field string) error {
	pa := fmt.Sprintf("Bundle.entry[%d].%s", a.index, field)
	pb := fmt.Sprintf("Bundle.entry[%d].%s", b.index, field)
	return fhir.Errorf(fhir.ErrInvalid, "duplicate", fmt.Sprintf("entries %d and %d %s", a.index, b.index, what), pa, pb)
}

// checkResolvedOverlap extends checkOverlap to the conditional deletes,
// updates and patches of a transaction (http.html#trules: "including
// resolved identities from conditional update/delete"): each one's criteria
// are resolved, and one that matches the resource another entry changes
// fails the transaction. Criteria that match nothing or several resources
// are left for the entry itself to answer.
func (h *Handler) checkResolvedOverlap(ctx context.Context, repo Repository, entries []*entry) error {
	byTarget := map[string]*entry{}
	var conditional []*entry
	for _, e := range entries {
		if e.method != "PUT" && e.method != "PATCH" && e.method != "DELETE" {
			continue
		}
		if strings.Contains(e.url, "?") {
			conditional = append(conditional, e)
			continue
		}
		if parts := strings.Split(e.url, "/"); len(parts) >= 2 {
			byTarget[parts[0]+"/"+parts[1]] = e
		}
	}
	for _, e := range conditional {
		typ, criteria, _ := strings.Cut(e.url, "?")
		ids, err := h.match(ctx, repo, typ, criteria, 2)
		if err != nil || len(ids) != 1 {
			continue
		}
		target := typ + "/" + ids[0]
		if prev, ok := byTarget[target]; ok {
			a, b := prev, e
			if a.index > b.index {
				a, b = b, a
			}
			return overlapError(a, b, "both change "+target, "request.url")
		}
		byTarget[target] = e
	}
	return nil
}
