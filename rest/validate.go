package rest

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

// validateOperation implements $validate
// (https://hl7.org/fhir/R4/resource-operation-validate.html): POST
// [type]/$validate, [type]/[id]/$validate or /$validate with the resource
// as the body, or a Parameters body with the resource in "resource" and a
// "mode" of create, update or delete. It answers 200 with an
// OperationOutcome: the issues the same validator that guards create and
// update finds, or one information issue when there are none. Nothing is
// stored. 400 is for a request the operation cannot run on (an unknown mode,
// a resource of another type than the URL's, update without the id).
func (h *Handler) validateOperation(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if typ != "" && !fhir.IsResourceType(typ) {
		return fhir.Errorf(fhir.ErrNotFound, "not-found", "unknown resource type "+typ)
	}
	body, err := readBody(c, resourceTypes...)
	if err != nil {
		return err
	}
	if err := h.validator.Bytes(body); err != nil {
		return outcome(c, err)
	}
	resource, mode, err := validateInput(body, typ)
	if err != nil {
		return err
	}
	switch mode {
	case "", "create", "update", "delete":
	default:
		return fhir.Invalid(`mode must be create, update or delete, not "`+mode+`"`, "Parameters.parameter.mode")
	}
	if mode == "delete" {
		if typ == "" || id == "" {
			return fhir.Invalid("mode delete needs [type]/[id]/$validate")
		}
		return writeJSON(c, http.StatusOK, fhir.NewOperationOutcome(fhir.Issue{Severity: "information", Code: "informational",
			Diagnostics: "no rule prevents deleting " + typ + "/" + id}))
	}
	if resource == nil {
		return fhir.Invalid("$validate needs a resource: the body, or the resource parameter of a Parameters body")
	}
	r, _, err := h.validator.ParseEntries(resource)
	if err != nil {
		return outcome(c, err)
	}
	if typ != "" && r.Type != typ {
		return fhir.Invalid("resourceType "+r.Type+" does not match the URL's type "+typ, "resourceType")
	}
	if mode == "update" && r.ID == "" {
		return outcome(c, fhir.Errorf(fhir.ErrInvalid, "required", "an update needs the resource's id", r.Type+".id"))
	}
	if id != "" && r.ID != "" && r.ID != id {
		return outcome(c, fhir.Invalid("the resource's id "+r.ID+" does not match the URL's id "+id, r.Type+".id"))
	}
	return writeJSON(c, http.StatusOK, fhir.NewOperationOutcome(fhir.Issue{Severity: "information", Code: "informational",
		Diagnostics: "the " + r.Type + " is valid"}))
}

// outcome answers $validate's findings: 200 with the issues of a validation
// error; any other error goes to the error handler.
func outcome(c echo.Context, err error) error {
	fe, ok := err.(*fhir.Error)
	if !ok {
		return err
	}
	return writeJSON(c, http.StatusOK, fhir.NewOperationOutcome(fe.Issues...))
}

// validateInput finds the resource and mode of a $validate body: a
// Parameters with a resource parameter (unless Parameters itself is being
// validated at Parameters/$validate), or the body as it is.
func validateInput(body []byte, typ string) (resource []byte, mode string, err error) {
	if typ == "Parameters" {
		return body, "", nil
	}
	var head struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name      string          `json:"name"`
			ValueCode string          `json:"valueCode"`
			Resource  json.RawMessage `json:"resource"`
		} `json:"parameter"`
	}
	if json.Unmarshal(body, &head) != nil || head.ResourceType != "Parameters" {
		return body, "", nil // malformed JSON is the validator's to report
	}
	isInput := false
	for _, p := range head.Parameter {
		switch p.Name {
		case "resource":
			isInput = true
			resource = bytes.TrimSpace(p.Resource)
		case "mode":
			isInput = true
			mode = p.ValueCode
		case "profile":
			isInput = true
		}
	}
	if !isInput {
		return body, "", nil // a Parameters resource to validate
	}
	return resource, mode, nil
}
