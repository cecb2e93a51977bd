package rest

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

// read implements https://hl7.org/fhir/R4/http.html#read: 404 for an unknown
// resource, 410 for a deleted one, and 304 when If-None-Match or
// If-Modified-Since show the client's copy is current.
func (h *Handler) read(c echo.Context) error {
	typ, err := resourceType(c)
	if err != nil {
		return err
	}
	id, err := resourceID(c)
	if err != nil {
		return err
	}
	v, err := h.repoOf(c).Read(c.Request().Context(), typ, id)
	return h.renderRead(c, v, err)
}

// vread implements https://hl7.org/fhir/R4/http.html#vread.
func (h *Handler) vread(c echo.Context) error {
	typ, err := resourceType(c)
	if err != nil {
		return err
	}
	id, err := resourceID(c)
	if err != nil {
		return err
	}
	if strings.Contains(c.Param("vid"), "/") {
		// The router hands the rest of a longer path to the last parameter.
		return echo.ErrNotFound
	}
	vid, err := strconv.ParseInt(c.Param("vid"), 10, 64)
	if err != nil || vid < 1 {
		return fhir.Invalid("invalid version id " + c.Param("vid"))
	}
	v, err := h.repoOf(c).VRead(c.Request().Context(), typ, id, vid)
	return h.renderRead(c, v, err)
}

func (h *Handler) renderRead(c echo.Context, v *fhir.Version, err error) error {
	if errors.Is(err, fhir.ErrGone) && v != nil {
		setVersionHeaders(c, v)
	}
	if err != nil {
		return err
	}
	setVersionHeaders(c, v)
	if notModified(c.Request(), v) {
		return c.NoContent(http.StatusNotModified)
	}
	return writeJSON(c, http.StatusOK, v.Content)
}
