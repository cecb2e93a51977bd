package rest

import (
	"net/http"

	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

// update implements https://hl7.org/fhir/R4/http.html#update, including
// update as create (201 for a new id) and version-aware updates (If-Match,
// 412 when stale). The body's id must equal the URL's.
func (h *Handler) update(c echo.Context) error {
	typ, err := resourceType(c)
	if err != nil {
		return err
	}
	id, err := resourceID(c)
	if err != nil {
		return err
	}
	match, err := ifMatch(c)
	if err != nil {
		return err
	}
	r, err := h.parseResource(c, typ)
	if err != nil {
		return err
	}
	if r.ID == "" {
		return fhir.Invalid("the resource has no id; an update must carry the id of its URL, "+id, typ+".id")
	}
	if r.ID != id {
		return fhir.Invalid("the resource id "+r.ID+" does not match the URL's id "+id, typ+".id")
	}
	return h.store(c, r, match)
}

// store writes r as an update and answers 201 when it created the resource.
func (h *Handler) store(c echo.Context, r *fhir.Resource, match int64) error {
	v, created, err := h.repoOf(c).Update(c.Request().Context(), r, match)
	if err != nil {
		return err
	}
	if created {
		return respondVersion(c, http.StatusCreated, v, true)
	}
	return respondVersion(c, http.StatusOK, v, false)
}
