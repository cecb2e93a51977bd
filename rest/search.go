package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/search"
	"github.com/labstack/echo/v4"
)

// SearchResult is one page of matches and what _include and _revinclude added.
type SearchResult struct {
	Matches  []*fhir.Version
	Included []*fhir.Version
	Total    *int   // set when counted, estimated or evident
	Next     string // cursor of the next page; "" on the last
}

// searchType implements https://hl7.org/fhir/R4/http.html#search: GET on the
// type, or POST to _search with a form body.
func (h *Handler) searchType(c echo.Context) error {
	typ, err := resourceType(c)
	if err != nil {
		return err
	}
	return h.search(c, typ, "")
}

// searchCompartment implements Patient/{id}/{type}: search in the Patient
// compartment (https://hl7.org/fhir/R4/compartmentdefinition.html).
func (h *Handler) searchCompartment(c echo.Context) error {
	comp, err := resourceType(c)
	if err != nil {
		return err
	}
	id, err := resourceID(c)
	if err != nil {
		return err
	}
	if comp != "Patient" {
		return fhir.Errorf(fhir.ErrNotFound, "not-supported", "only the Patient compartment is supported, not "+comp)
	}
	typ := c.Param("comp")
	if !fhir.IsResourceType(typ) {
		return fhir.Errorf(fhir.ErrNotFound, "not-supported", "unknown resource type "+typ)
	}
	return h.search(c, typ, id)
}

// searchParams merges the query string with a form body (POST _search).
func searchParams(c echo.Context) (url.Values, error) {
	q := url.Values{}
	for k, v := range c.QueryParams() {
		q[k] = append(q[k], v...)
	}
	if c.Request().Method == http.MethodPost && c.Request().ContentLength != 0 {
		body, err := readBody(c, "application/x-www-form-urlencoded")
		if err != nil {
			return nil, err
		}
		form, perr := url.ParseQuery(string(body))
		if perr != nil {
			return nil, fhir.Invalid("malformed form body: " + perr.Error())
		}
		for k, v := range form {
			q[k] = append(q[k], v...)
		}
	}
	return q, nil
}

func (h *Handler) search(c echo.Context, typ, patient string) error {
	params, err := searchParams(c)
	if err != nil {
		return err
	}
	q, err := search.Parse(typ, params, h.searchOptions(preferHandling(c.Request()) == "strict"))
	if err != nil {
		return err
	}
	var res *SearchResult
	err = h.withinBudget(c, func(ctx context.Context) error {
		res, err = h.repoOf(c).Search(ctx, q, patient)
		return err
	})
	if err != nil {
		return err
	}
	base := baseURL(c)
	self := base + strings.TrimPrefix(c.Request().URL.Path, "/fhir")
	b := fhir.Bundle{ResourceType: "Bundle", ID: uuid.NewString(), Type: "searchset", Total: res.Total,
		Meta: &fhir.BundleMeta{LastUpdated: fhir.FormatInstant(time.Now())}}
	// The links carry the parameters as the server understood them, ignored
	// ones left out (R4 search.html: the self link holds what was used).
	// Compartment searches keep their path, and POST _search pages by GET.
	path := strings.TrimSuffix(self, "/_search")
	b.Link = append(b.Link, fhir.BundleLink{Relation: "self", URL: path + "?" + q.Encode()})
	if res.Next != "" {
		next := *q
		next.Cursor = res.Next
		b.Link = append(b.Link, fhir.BundleLink{Relation: "next", URL: path + "?" + next.Encode()})
	}
	for _, v := range res.Matches {
		b.Entry = append(b.Entry, h.searchEntry(base, v, "match", q))
	}
	for _, v := range res.Included {
		b.Entry = append(b.Entry, h.searchEntry(base, v, "include", q))
	}
	if len(q.Warnings) > 0 {
		oo, _ := json.Marshal(fhir.NewOperationOutcome(q.Warnings...))
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: oo, Search: &fhir.BundleSearch{Mode: "outcome"}})
	}
	return writeJSON(c, http.StatusOK, b)
}

// searchOptions are the parse options of every search: page sizes and
// limits.
func (h *Handler) searchOptions(strict bool) search.Options {
	return search.Options{DefaultCount: h.opt.DefaultCount, MaxCount: h.opt.MaxCount, Limits: h.opt.Limits, Strict: strict}
}

func (h *Handler) searchEntry(base string, v *fhir.Version, mode string, q *search.Query) fhir.BundleEntry {
	return fhir.BundleEntry{FullURL: base + "/" + v.Ref(), Resource: shape(v.Content, q.Summary, q.Elements),
		Search: &fhir.BundleSearch{Mode: mode}}
}

// preferHandling reads Prefer: handling=strict|lenient.
func preferHandling(r *http.Request) string {
	for _, h := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(h, ";") {
			if k, v, _ := strings.Cut(strings.TrimSpace(part), "="); strings.EqualFold(k, "handling") {
				return strings.Trim(v, `"`)
			}
		}
	}
	return "lenient"
}

// shape applies _summary and _elements to a resource. A shaped resource is
// marked SUBSETTED in meta.tag, as R4 requires.
func shape(content []byte, summary search.Summary, elements []string) json.RawMessage {
	if (summary == "" || summary == search.SummaryFalse) && len(elements) == 0 {
		return content
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(content, &m); err != nil {
		return content
	}
	keep := map[string]bool{"resourceType": true, "id": true, "meta": true}
	switch {
	case len(elements) > 0:
		for _, e := range elements {
			keep[e] = true
		}
	case summary == search.SummaryText:
		keep["text"] = true
	case summary == search.SummaryData:
		for k := range m {
			keep[k] = k != "text"
		}
	default: // _summary=true: without the element definitions' isSummary
		// flags, HCE keeps every element but the narrative and contained resources.
		for k := range m {
			keep[k] = k != "text" && k != "contained"
		}
	}
	out := map[string]json.RawMessage{}
	for k, v := range m {
		if keep[k] {
			out[k] = v
		}
	}
	var meta map[string]any
	_ = json.Unmarshal(out["meta"], &meta)
	if meta == nil {
		meta = map[string]any{}
	}
	tags, _ := meta["tag"].([]any)
	meta["tag"] = append(tags, map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"})
	out["meta"], _ = json.Marshal(meta)
	b, err := json.Marshal(out)
	if err != nil {
		return content
	}
	return b
}

// withQuery appends a query string, if any, to a URL.
func withQuery(u string, q url.Values) string {
	if len(q) == 0 {
		return u
	}
	return u + "?" + q.Encode()
}
