package rest

import (
	"net/http"

	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

// create implements https://hl7.org/fhir/R4/http.html#create: the server
// assigns the id (any id in the body is ignored) and answers 201 with
// Location, ETag and Last-Modified.
func (h *Handler) create(c echo.Context) error {
	typ, err := resourceType(c)
	if err != nil {
		return err
	}
	r, err := h.parseResource(c, typ)
	if err != nil {
		return err
	}
	if cond := c.Request().Header.Get("If-None-Exist"); cond != "" {
		return h.conditionalCreate(c, r, cond)
	}
	// The server assigns the id: one in the body is ignored, except the one
	// a transaction assigned in advance to resolve urn:uuid references.
	r.ID, _ = c.Request().Context().Value(assignedID{}).(string)
	v, err := h.repoOf(c).Create(c.Request().Context(), r)
	if err != nil {
		return err
	}
	return respondVersion(c, http.StatusCreated, v, true)
}

// parseResource reads and validates the body as a resource of type typ,
// with the validator every write path shares.
func (h *Handler) parseResource(c echo.Context, typ string) (*fhir.Resource, error) {
	if r, ok := c.Request().Context().Value(parsedResource{}).(*fhir.Resource); ok {
		if r.Type != typ {
			return nil, fhir.Invalid("resourceType "+r.Type+" does not match the URL's type "+typ, "resourceType")
		}
		return r, nil
	}
	body, err := readBody(c, resourceTypes...)
	if err != nil {
		return nil, err
	}
	r, err := h.validator.Parse(body)
	if err != nil {
		return nil, err
	}
	if r.Type != typ {
		return nil, fhir.Invalid("resourceType "+r.Type+" does not match the URL's type "+typ, "resourceType")
	}
	return r, nil
}
