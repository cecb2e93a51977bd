package rest

import (
	"errors"
	"net/http"

	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

// delete implements https://hl7.org/fhir/R4/http.html#delete. It is
// idempotent: deleting a deleted or unknown resource also answers 204.
func (h *Handler) delete(c echo.Context) error {
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
	v, err := h.repoOf(c).Delete(c.Request().Context(), typ, id, match)
	if errors.Is(err, fhir.ErrNotFound) && match == 0 {
		return c.NoContent(http.StatusNoContent)
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", v.ETag())
	return c.NoContent(http.StatusNoContent)
}
