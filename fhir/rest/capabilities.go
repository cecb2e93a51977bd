package rest

import (
	"net/http"
	"time"

	"github.com/hce-fhir/hce/fhir"
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

func (h *Handler) capabilityStatement() map[string]any {
	interactions := []map[string]string{}
	for _, code := range []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create"} {
		interactions = append(interactions, map[string]string{"code": code})
	}
	resources := make([]map[string]any, 0, len(fhir.ResourceTypes))
	for _, t := range fhir.ResourceTypes {
		resources = append(resources, map[string]any{
			"type":              t,
			"interaction":       interactions,
			"versioning":        "versioned-update",
			"readHistory":       true,
			"updateCreate":      true,
			"conditionalCreate": false,
			"conditionalUpdate": false,
			"conditionalRead":   "full-support",
			"conditionalDelete": "not-supported",
		})
	}
	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         startTime.Format("2006-01-02T15:04:05Z"),
		"publisher":    "HCE",
		"kind":         "instance",
		"software":     map[string]any{"name": "HCE", "version": h.opt.Version},
		"fhirVersion":  "4.0.1",
		"format":       []string{"json", mimeFHIRJSON, mimeJSON},
		"patchFormat":  []string{mimeJSONPatch},
		"rest": []map[string]any{{
			"mode":        "server",
			"resource":    resources,
			"interaction": []map[string]string{{"code": "history-system"}},
		}},
	}
}
