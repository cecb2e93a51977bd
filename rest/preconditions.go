package rest

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

// checkPreconditionHeaders rejects conditional headers that are present
// but empty or malformed, rather than acting as if they were absent (an
// empty If-Match would otherwise make an update unconditional): If-Match
// must be one version entity tag (W/"3"), If-None-Match entity tags or *,
// If-None-Exist a search query.
func checkPreconditionHeaders(h http.Header) error {
	if vals, ok := h["If-Match"]; ok {
		if len(vals) != 1 {
			return fhir.Invalid("If-Match must be given once", "If-Match")
		}
		if _, err := parseETag("If-Match", vals[0]); err != nil {
			return err
		}
	}
	if vals, ok := h["If-None-Match"]; ok {
		for _, v := range vals {
			if strings.TrimSpace(v) == "" {
				return fhir.Invalid("If-None-Match is empty", "If-None-Match")
			}
			for _, tag := range strings.Split(v, ",") {
				if strings.TrimSpace(tag) == "*" {
					continue
				}
				if _, err := parseETag("If-None-Match", tag); err != nil {
					return err
				}
			}
		}
	}
	if vals, ok := h["If-None-Exist"]; ok {
		if len(vals) != 1 {
			return fhir.Invalid("If-None-Exist must be given once", "If-None-Exist")
		}
		v := strings.TrimSpace(vals[0])
		q, err := url.ParseQuery(strings.TrimPrefix(v, "?"))
		if v == "" || err != nil || len(q) == 0 || strings.ContainsRune(v, 0) {
			return fhir.Invalid("If-None-Exist "+`"`+strings.ToValidUTF8(vals[0], "")+`"`+" is not a search query such as identifier=http://x|1", "If-None-Exist")
		}
	}
	return nil
}

// preconditions is the middleware of checkPreconditionHeaders.
func preconditions(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := checkPreconditionHeaders(c.Request().Header); err != nil {
			return err
		}
		return next(c)
	}
}
