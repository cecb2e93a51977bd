package rest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

// ndjsonTypes are the media types of newline-delimited resources, as FHIR
// Bulk Data writes them.
var ndjsonTypes = []string{"application/fhir+ndjson", "application/ndjson", "application/x-ndjson"}

// ndjsonChunk is how many resources one database transaction stores.
const ndjsonChunk = 500

// isNDJSON reports whether the request carries NDJSON.
func isNDJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	return contains(ndjsonTypes, mt)
}

// ndjson loads newline-delimited resources posted to the base: the fast path
// of bulk loading. Every line is validated like a create; a resource with an
// id is stored under it (created or updated), one without gets a new id.
// Valid lines are stored in chunks of ndjsonChunk per transaction; the
// answer is a batch-response Bundle with one entry per line, so a bad line
// is reported without losing the others.
func (h *Handler) ndjson(c echo.Context) error {
	sc := bufio.NewScanner(c.Request().Body)
	sc.Buffer(make([]byte, 0, 1<<20), int(h.opt.MaxBodyBytes))
	var entries []fhir.BundleEntry
	var chunk []*fhir.Resource
	var at []int // entry index of each resource in chunk
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		versions, err := h.repoOf(c).Load(c.Request().Context(), chunk)
		if err != nil {
			code, issues := status(err)
			if code >= 500 {
				return err
			}
			oo, _ := json.Marshal(fhir.NewOperationOutcome(issues...))
			for _, i := range at {
				entries[i].Response = &fhir.BundleResponse{Status: strconv.Itoa(code) + " " + http.StatusText(code), Outcome: oo}
			}
		} else {
			for n, v := range versions {
				entries[at[n]].Response = &fhir.BundleResponse{Status: "201 Created",
					Location: v.Ref() + "/_history/" + strconv.FormatInt(v.VersionID, 10), Etag: v.ETag(),
					LastModified: fhir.FormatInstant(v.LastUpdated)}
			}
		}
		chunk, at = chunk[:0], at[:0]
		return nil
	}
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		r, err := h.validator.Parse(raw)
		if err != nil {
			code, issues := status(err)
			for i := range issues {
				issues[i].Diagnostics = fmt.Sprintf("line %d: %s", line, issues[i].Diagnostics)
			}
			oo, _ := json.Marshal(fhir.NewOperationOutcome(issues...))
			entries = append(entries, fhir.BundleEntry{Response: &fhir.BundleResponse{
				Status: strconv.Itoa(code) + " " + http.StatusText(code), Outcome: oo}})
			continue
		}
		entries = append(entries, fhir.BundleEntry{})
		chunk, at = append(chunk, r), append(at, len(entries)-1)
		if len(chunk) == ndjsonChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return statusError(http.StatusRequestEntityTooLarge, "too-costly", fmt.Sprintf("line %d exceeds the body limit", line+1))
		}
		return bodyError(err)
	}
	if err := flush(); err != nil {
		return err
	}
	if len(entries) == 0 {
		return statusError(http.StatusBadRequest, "required", "request body has no resources")
	}
	return writeBundle(c, http.StatusOK, fhir.Bundle{ResourceType: "Bundle", Type: "batch-response", Entry: entries})
}
