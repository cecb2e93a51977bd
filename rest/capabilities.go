package rest

import (
	"net/http"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
	"github.com/labstack/echo/v4"
)

// capabilities implements https://hl7.org/fhir/R4/http.html#capabilities. The
// statement claims exactly the interactions routes.go serves.
func (h *Handler) capabilities(c echo.Context) error {
	cs := h.capabilityStatement()
	cs["implementation"] = map[string]any{"description": "HCE FHIR server", "url": baseURL(c)}
	return writeJSON(c, http.StatusOK, cs)
}

var startTime = time.Now().UTC()

// validateCapability advertises $validate, at the base, per type and per
// instance.
var validateCapability = map[string]string{"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
	"documentation": "POST the resource, or a Parameters with resource and mode (create, update, delete); 200 with an OperationOutcome, nothing stored"}

func (h *Handler) capabilityStatement() map[string]any {
	interactions := []map[string]string{}
	for _, code := range []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"} {
		interactions = append(interactions, map[string]string{"code": code})
	}
	conditionalDelete := "single"
	if h.opt.DeleteMultiple {
		conditionalDelete = "multiple"
	}
	resources := make([]map[string]any, 0, len(fhir.ResourceTypes))
	for _, t := range fhir.ResourceTypes {
		params, includes := searchCapabilities(t)
		res := map[string]any{
			"type":              t,
			"interaction":       interactions,
			"versioning":        "versioned-update",
			"readHistory":       true,
			"updateCreate":      true,
			"conditionalCreate": true,
			"conditionalUpdate": true,
			"conditionalRead":   "full-support",
			"conditionalDelete": conditionalDelete,
			"searchInclude":     includes,
			"searchRevInclude":  []string{"*"},
			"searchParam":       params,
		}
		ops := []map[string]string{validateCapability}
		if t == "Patient" {
			ops = append(ops, map[string]string{"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
				"documentation": "GET with _since, _type and _count in the query string, or POST with them in a Parameters body; paged by next links"})
		}
		if h.opt.Exports != nil && t == "Patient" {
			ops = append(ops, map[string]string{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
				"documentation": "Bulk Data export of every patient's compartment, or of those named by patient (" + exportDoc + ")"})
		}
		if h.opt.Exports != nil && t == "Group" {
			ops = append(ops, map[string]string{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
				"documentation": "Bulk Data export of the compartments of the Group's member.entity patients (" + exportDoc + ")"})
		}
		res["operation"] = ops
		resources = append(resources, res)
	}
	rest := map[string]any{
		"mode":        "server",
		"resource":    resources,
		"operation":   []map[string]string{validateCapability},
		"interaction": []map[string]string{{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"}},
	}
	if h.opt.Exports != nil {
		rest["operation"] = []map[string]string{validateCapability, {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
			"documentation": "Bulk Data export of the whole server (" + exportDoc + ")"}}
	}
	if sec := h.security(); sec != nil {
		rest["security"] = sec
	}
	cs := map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         startTime.Format("2006-01-02T15:04:05Z"),
		"publisher":    "HCE",
		"kind":         "instance",
		"software":     map[string]any{"name": "HCE", "version": h.opt.Version},
		"fhirVersion":  "4.0.1",
		"format":       []string{"json", mimeFHIRJSON, mimeJSON},
		"patchFormat":  []string{mimeJSONPatch},
		"rest":         []map[string]any{rest},
	}
	if h.opt.Exports != nil {
		cs["instantiates"] = []string{"http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"}
	}
	return cs
}

// exportDoc summarises the $export parameters in the CapabilityStatement.
const exportDoc = "Prefer: respond-async; GET, or POST with a Parameters body; _outputFormat application/fhir+ndjson, _since, _type, _typeFilter, _elements, patient; status at $export-status/{job}, NDJSON files at $export-file/{job}/{n}"

// searchCapabilities lists the search parameters of typ that HCE indexes and
// the _include values it accepts.
func searchCapabilities(typ string) (params []map[string]string, includes []string) {
	includes = []string{"*"}
	for _, p := range spec.Params(typ) {
		if p.Type == "special" || (p.Expression == "" && p.Code != "_id" && p.Code != "_lastUpdated") {
			continue
		}
		params = append(params, map[string]string{"name": p.Code, "definition": p.URL, "type": p.Type})
		if p.Type == "reference" {
			includes = append(includes, typ+":"+p.Code)
		}
	}
	return params, includes
}
