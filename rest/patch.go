package rest

import (
	"errors"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

// patch implements https://hl7.org/fhir/R4/http.html#patch with JSON Patch
// (RFC 6902). The patched resource is validated like an update and written
// with If-Match on the version it was computed from, so a concurrent write
// makes it retry instead of being lost.
func (h *Handler) patch(c echo.Context) error {
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
	body, err := readBody(c, mimeJSONPatch)
	if err != nil {
		return err
	}
	// The patch document itself: UTF-8, no NUL, no duplicate keys.
	if err := h.validator.Bytes(body); err != nil {
		return err
	}
	ops, err := jsonpatch.DecodePatch(body)
	if err != nil {
		return fhir.Invalid("malformed JSON Patch: " + err.Error())
	}
	ctx := c.Request().Context()
	for attempt := 0; ; attempt++ {
		cur, err := h.repoOf(c).Read(ctx, typ, id)
		if err != nil {
			return err
		}
		if match != 0 && match != cur.VersionID {
			return fhir.Errorf(fhir.ErrPreconditionFailed, "conflict", "If-Match does not name the current version "+cur.ETag())
		}
		patched, err := ops.Apply(cur.Content)
		if err != nil {
			return fhir.Invalid("JSON Patch cannot be applied: " + err.Error())
		}
		r, err := h.validator.Parse(patched)
		if err != nil {
			return err
		}
		if r.Type != typ || r.ID != id {
			return fhir.Invalid("a patch may not change resourceType or id")
		}
		err = h.store(c, r, cur.VersionID)
		// Without the client's If-Match, losing a race to another writer only
		// means the patch must be applied to the newer version.
		if match == 0 && errors.Is(err, fhir.ErrPreconditionFailed) && attempt < 5 {
			continue
		}
		return err
	}
}
