package rest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hce-fhir/hce/auth"
	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/search"
	"github.com/labstack/echo/v4"
)

// Exporter runs FHIR Bulk Data exports (https://hl7.org/fhir/uv/bulkdata/STU2/export.html):
// jobs kept in the database, so that any replica answers for any job.
type Exporter interface {
	// StartExport records a job unless maxJobs are active
	// (fhir.ErrTooManyJobs); it returns the job id and transaction time.
	StartExport(ctx context.Context, req fhir.ExportRequest, maxJobs int) (string, time.Time, error)
	// ExportStatus returns a job; fhir.ErrNotFound when there is none.
	ExportStatus(ctx context.Context, id string) (*fhir.ExportJob, error)
	// CancelExport removes a job and its files.
	CancelExport(ctx context.Context, id string) error
	// WriteExportFile streams file n of a complete job to w.
	WriteExportFile(ctx context.Context, id string, n int, w io.Writer) error
}

// exportFormats are the _outputFormat values HCE writes: all NDJSON.
var exportFormats = []string{"application/fhir+ndjson", "application/ndjson", "ndjson"}

// exportParams are the kick-off parameters HCE implements.
var exportParams = []string{"_outputFormat", "_since", "_type", "_typeFilter", "patient", "_elements"}

// exportKickoff implements the $export kick-off request at level
// (fhir.ExportSystem, ExportPatient or ExportGroup): GET with the
// parameters in the query string, or POST with a Parameters body. It
// answers 202 with Content-Location, the status URL.
func (h *Handler) exportKickoff(level string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if h.opt.Exports == nil {
			return fhir.Errorf(fhir.ErrNotSupported, "not-supported", "$export is not enabled on this server")
		}
		r := c.Request()
		async, lenient := exportPrefer(r)
		if !async {
			return fhir.Errorf(fhir.ErrInvalid, "invalid", "$export is asynchronous: send Prefer: respond-async")
		}
		params, err := exportRequestParams(c)
		if err != nil {
			return err
		}
		req, err := h.exportRequest(c, level, params, lenient)
		if err != nil {
			return err
		}
		req.Request = baseURL(c) + strings.TrimPrefix(r.URL.Path, "/fhir")
		if q := r.URL.RawQuery; q != "" {
			req.Request += "?" + q
		}
		id, at, err := h.opt.Exports.StartExport(r.Context(), req, h.opt.MaxExportJobs)
		if errors.Is(err, fhir.ErrTooManyJobs) {
			c.Response().Header().Set("Retry-After", "30")
			return statusError(http.StatusTooManyRequests, "throttled", err.Error())
		}
		if err != nil {
			return err
		}
		c.Response().Header().Set("Content-Location", baseURL(c)+"/$export-status/"+id)
		return writeJSON(c, http.StatusAccepted, fhir.NewOperationOutcome(fhir.Issue{Severity: "information", Code: "informational",
			Diagnostics: "export job " + id + " accepted; transaction time " + fhir.FormatInstant(at)}))
	}
}

// exportPrefer reads Prefer: respond-async and handling=lenient.
func exportPrefer(r *http.Request) (async, lenient bool) {
	for _, h := range r.Header.Values("Prefer") {
		for _, part := range strings.FieldsFunc(h, func(r rune) bool { return r == ',' || r == ';' }) {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch {
			case strings.EqualFold(k, "respond-async"):
				async = true
			case strings.EqualFold(k, "handling") && strings.EqualFold(strings.Trim(v, `"`), "lenient"):
				lenient = true
			}
		}
	}
	return async, lenient
}

// exportRequestParams returns the kick-off parameters: the query string,
// and for POST those of the Parameters body, where patient is a
// valueReference.
func exportRequestParams(c echo.Context) (url.Values, error) {
	params := url.Values{}
	if c.Request().Method == http.MethodPost {
		body, err := readOptionalBody(c, resourceTypes...)
		if err != nil {
			return nil, err
		}
		if body != nil {
			if params, err = exportBody(body); err != nil {
				return nil, err
			}
		}
	}
	for k, v := range c.QueryParams() {
		if k == "_format" {
			continue // the status answer's format, negotiated
		}
		params[k] = append(params[k], v...)
	}
	return params, nil
}

// exportBody reads a kick-off's Parameters resource: primitive values in
// query form, and valueReference as its reference.
func exportBody(body []byte) (url.Values, error) {
	r, err := fhir.Parse(body)
	if err != nil {
		return nil, err
	}
	if r.Type != "Parameters" {
		return nil, fhir.Invalid("$export takes a Parameters resource, not "+r.Type, "resourceType")
	}
	list, _ := r.Content["parameter"].([]any)
	rest := map[string]any{"resourceType": "Parameters"}
	var others []any
	out := url.Values{}
	for i, item := range list {
		p, _ := item.(map[string]any)
		if ref, ok := p["valueReference"].(map[string]any); ok {
			name, _ := p["name"].(string)
			s, _ := ref["reference"].(string)
			if s == "" {
				return nil, fhir.Invalid("parameter "+strconv.Quote(name)+": valueReference has no reference",
					"Parameters.parameter["+strconv.Itoa(i)+"].valueReference")
			}
			out.Add(name, s)
			continue
		}
		others = append(others, item)
	}
	rest["parameter"] = others
	prim, err := parametersValues(rest)
	if err != nil {
		return nil, err
	}
	for k, v := range prim {
		out[k] = append(out[k], v...)
	}
	return out, nil
}

// exportRequest checks the parameters of a kick-off and resolves them
// against the token's scopes into the job's request.
func (h *Handler) exportRequest(c echo.Context, level string, params url.Values, lenient bool) (fhir.ExportRequest, error) {
	req := fhir.ExportRequest{Level: level, Compartment: level != fhir.ExportSystem}
	for k := range params {
		if slices.Contains(exportParams, k) {
			continue
		}
		if !lenient {
			return req, fhir.Errorf(fhir.ErrNotSupported, "not-supported", "$export parameter "+k+" is not supported (Prefer: handling=lenient ignores it)", k)
		}
		delete(params, k)
	}
	for _, f := range params["_outputFormat"] {
		if !slices.Contains(exportFormats, f) {
			return req, fhir.Errorf(fhir.ErrNotSupported, "not-supported", "_outputFormat "+strconv.Quote(f)+" is not supported; HCE writes application/fhir+ndjson", "_outputFormat")
		}
	}
	var err error
	if req.Since, err = since(params); err != nil {
		return req, err
	}
	if !req.Since.IsZero() && len(params["_since"]) > 1 {
		return req, fhir.Invalid("_since given more than once", "_since")
	}
	var asked []string
	for _, t := range splitValues(params["_type"]) {
		if !fhir.IsResourceType(t) {
			return req, fhir.Invalid("_type: unknown resource type "+t, "_type")
		}
		if req.Compartment && !auth.InPatientCompartment(t) {
			return req, fhir.Invalid("_type: "+t+" is not in the Patient compartment, which a "+level+"-level export holds", "_type")
		}
		if !slices.Contains(asked, t) {
			asked = append(asked, t)
		}
	}
	if req.TypeFilters, err = typeFilters(params["_typeFilter"], asked); err != nil {
		return req, err
	}
	for _, e := range splitValues(params["_elements"]) {
		typ, el, dotted := strings.Cut(e, ".")
		if !dotted {
			typ, el = "", typ
		}
		if typ != "" && !fhir.IsResourceType(typ) || !validElement(el) {
			return req, fhir.Invalid("_elements: "+strconv.Quote(e)+" is not an element such as Observation.code or code", "_elements")
		}
		req.Elements = append(req.Elements, e)
	}
	if patients := params["patient"]; len(patients) > 0 {
		if level == fhir.ExportSystem {
			if !lenient {
				return req, fhir.Errorf(fhir.ErrNotSupported, "not-supported", "patient is a parameter of Patient- and Group-level $export", "patient")
			}
		} else {
			for _, ref := range patients {
				id := strings.TrimPrefix(ref, "Patient/")
				if !fhir.ValidID(id) {
					return req, fhir.Invalid("patient: "+strconv.Quote(ref)+" is not a reference such as Patient/123", "patient")
				}
				req.Patients = append(req.Patients, id)
			}
		}
	}
	if level == fhir.ExportGroup {
		members, err := h.groupMembers(c)
		if err != nil {
			return req, err
		}
		if req.Patients != nil {
			members = slices.DeleteFunc(members, func(m string) bool { return !slices.Contains(req.Patients, m) })
		}
		req.Group, req.Patients = c.Param("id"), members
	}
	if err := h.authorizeExport(c, &req, asked); err != nil {
		return req, err
	}
	if level == fhir.ExportGroup && len(req.Patients) == 0 {
		req.Types = nil // a Group without patients: an empty export
	}
	return req, nil
}

// splitValues splits comma-separated parameter values.
func splitValues(values []string) []string {
	var out []string
	for _, list := range values {
		for _, v := range strings.Split(list, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// validElement reports whether el is an element name.
func validElement(el string) bool {
	if el == "" || len(el) > 64 {
		return false
	}
	for _, r := range el {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '[' || r == ']') {
			return false
		}
	}
	return true
}

// typeFilters checks each _typeFilter value, Type?search, with the search
// parser in strict mode; its type must be among the asked types, if any.
func typeFilters(values, asked []string) (map[string][]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	for _, v := range values {
		// A filter's query holds commas of its own: one filter per value.
		typ, query, ok := strings.Cut(v, "?")
		if !ok || !fhir.IsResourceType(typ) || query == "" {
			return nil, fhir.Invalid("_typeFilter: "+strconv.Quote(v)+" is not a search such as Observation?code=1234-5", "_typeFilter")
		}
		if len(asked) > 0 && !slices.Contains(asked, typ) {
			return nil, fhir.Invalid("_typeFilter: "+typ+" is not among the types of _type", "_typeFilter")
		}
		criteria, err := url.ParseQuery(query)
		if err != nil {
			return nil, fhir.Invalid("_typeFilter: "+strconv.Quote(v)+": "+err.Error(), "_typeFilter")
		}
		for k := range criteria {
			if strings.HasPrefix(k, "_") && k != "_id" && k != "_lastUpdated" && k != "_tag" && k != "_profile" && k != "_security" && k != "_source" {
				return nil, fhir.Invalid("_typeFilter: "+k+" is a result parameter, not a filter", "_typeFilter")
			}
		}
		if _, err := search.Parse(typ, criteria, search.Options{Strict: true, MaxCount: search.MaxCount}); err != nil {
			return nil, fhir.Invalid("_typeFilter: "+typ+"?"+query+": "+err.Error(), "_typeFilter")
		}
		out[typ] = append(out[typ], query)
	}
	return out, nil
}

// groupMembers reads the Group of the request (with the token's read
// permission) and returns the ids of its Patient members.
func (h *Handler) groupMembers(c echo.Context) ([]string, error) {
	id, err := resourceID(c)
	if err != nil {
		return nil, err
	}
	v, err := h.repoOf(c).Read(c.Request().Context(), "Group", id)
	if err != nil {
		return nil, err
	}
	var g struct {
		Member []struct {
			Entity   struct{ Reference string } `json:"entity"`
			Inactive bool                       `json:"inactive"`
		} `json:"member"`
	}
	if err := json.Unmarshal(v.Content, &g); err != nil {
		return nil, err
	}
	var out []string
	for _, m := range g.Member {
		typ, pid, ok := fhir.SplitReference(m.Entity.Reference)
		if !ok || typ != "Patient" || m.Inactive || slices.Contains(out, pid) {
			continue
		}
		out = append(out, pid)
	}
	return out, nil
}

// authorizeExport fills req.Types with the types the export holds: those
// asked for (all but AuditEvent when none are), each of which the token
// must be allowed to read, or, when none are asked for, those it may read.
// A type the token reads only in its patient's compartment restricts the
// export's compartment types to that compartment. _typeFilter needs the search
// permission on its type.
func (h *Handler) authorizeExport(c echo.Context, req *fhir.ExportRequest, asked []string) error {
	g := &guarded{p: principalOf(c.Request().Context())}
	if g.p != nil {
		req.Owner = owner(g.p)
	}
	candidates := asked
	if len(candidates) == 0 {
		for _, t := range fhir.ResourceTypes {
			if t != "AuditEvent" && (!req.Compartment || auth.InPatientCompartment(t)) {
				candidates = append(candidates, t)
			}
		}
	}
	bound := ""
	for _, t := range candidates {
		patient, err := g.authorize(auth.Read, t)
		if err != nil {
			if len(asked) > 0 {
				return err
			}
			continue
		}
		if patient != "" {
			bound = patient
		}
		req.Types = append(req.Types, t)
	}
	for t := range req.TypeFilters {
		if _, err := g.authorize(auth.Search, t); err != nil {
			return err
		}
	}
	if bound == "" {
		return nil
	}
	// Patient-bound access: the export holds the patient's compartment.
	if req.Patients != nil && !slices.Contains(req.Patients, bound) || req.Level == fhir.ExportGroup && len(req.Patients) == 0 {
		return auth.Forbidden("a token bound to Patient/" + bound + " exports that patient's compartment only")
	}
	// Shared types (Medication, Organization …) stay: the token reads
	// them all.
	req.Patients = []string{bound}
	return nil
}

// owner names the principal a job belongs to.
func owner(p *auth.Principal) string {
	return p.Issuer + "|" + p.Subject + "|" + p.ClientID
}
