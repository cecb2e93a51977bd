package rest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

// historyInstance, historyType and historySystem implement
// https://hl7.org/fhir/R4/http.html#history: a Bundle of type history, newest
// version first, with _count, _since and a next link.
func (h *Handler) historyInstance(c echo.Context) error {
	typ, err := resourceType(c)
	if err != nil {
		return err
	}
	id, err := resourceID(c)
	if err != nil {
		return err
	}
	return h.history(c, typ, id)
}

func (h *Handler) historyType(c echo.Context) error {
	typ, err := resourceType(c)
	if err != nil {
		return err
	}
	return h.history(c, typ, "")
}

func (h *Handler) historySystem(c echo.Context) error { return h.history(c, "", "") }

func (h *Handler) history(c echo.Context, typ, id string) error {
	q := fhir.HistoryQuery{Type: typ, ID: id, Cursor: c.QueryParam("_cursor")}
	var err error
	if q.Count, err = h.pageCount(c.QueryParams()); err != nil {
		return err
	}
	if q.Since, err = since(c.QueryParams()); err != nil {
		return err
	}
	versions, next, err := h.repoOf(c).History(c.Request().Context(), q)
	if err != nil {
		return err
	}
	base := baseURL(c)
	self := base + c.Request().URL.Path[len("/fhir"):]
	b := fhir.Bundle{ResourceType: "Bundle", Type: "history",
		Link: []fhir.BundleLink{{Relation: "self", URL: self + "?" + c.QueryParams().Encode()}}}
	if next != "" {
		p := url.Values{"_count": {strconv.Itoa(q.Count)}, "_cursor": {next}}
		if !q.Since.IsZero() {
			p.Set("_since", c.QueryParam("_since"))
		}
		b.Link = append(b.Link, fhir.BundleLink{Relation: "next", URL: self + "?" + p.Encode()})
	}
	for _, v := range versions {
		b.Entry = append(b.Entry, historyEntry(base, v))
	}
	return writeJSON(c, http.StatusOK, b)
}

// historyEntry describes one version: the interaction that wrote it (POST
// for version 1, DELETE for deletions, PUT otherwise) and its outcome.
func historyEntry(base string, v *fhir.Version) fhir.BundleEntry {
	e := fhir.BundleEntry{FullURL: base + "/" + v.Ref(),
		Response: &fhir.BundleResponse{Etag: v.ETag(), LastModified: fhir.FormatInstant(v.LastUpdated)}}
	switch {
	case v.Deleted:
		e.Request = &fhir.BundleRequest{Method: "DELETE", URL: v.Ref()}
		e.Response.Status = "204 No Content"
	case v.VersionID == 1:
		e.Request = &fhir.BundleRequest{Method: "POST", URL: v.Type}
		e.Response.Status = "201 Created"
	default:
		e.Request = &fhir.BundleRequest{Method: "PUT", URL: v.Ref()}
		e.Response.Status = "200 OK"
	}
	if !v.Deleted {
		e.Resource = json.RawMessage(v.Content)
	}
	return e
}

// pageCount reads _count for history and $everything: a positive integer,
// capped at Options.MaxCount; Options.DefaultCount when absent.
func (h *Handler) pageCount(params url.Values) (int, error) {
	s := params.Get("_count")
	if s == "" {
		return h.opt.DefaultCount, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fhir.Invalid("_count must be a positive integer, not "+strconv.Quote(s), "_count")
	}
	return min(n, h.opt.MaxCount), nil
}

// since reads _since, an instant; the zero time when absent.
func since(params url.Values) (time.Time, error) {
	s := params.Get("_since")
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fhir.Invalid("_since must be an instant such as 2024-01-02T03:04:05Z, not "+strconv.Quote(s), "_since")
	}
	return t, nil
}
