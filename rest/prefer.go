package rest

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

// preferReturn reads Prefer: return=minimal|representation|OperationOutcome;
// representation is the default.
func preferReturn(r *http.Request) string {
	for _, h := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(h, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if strings.EqualFold(k, "return") {
				switch v = strings.Trim(v, `"`); v {
				case "minimal", "representation", "OperationOutcome":
					return v
				}
			}
		}
	}
	return "representation"
}

// parseETag reads a version from an entity tag: W/"3", "3" or 3.
func parseETag(header, value string) (int64, error) {
	v := strings.TrimSpace(value)
	v = strings.TrimPrefix(v, "W/")
	v = strings.Trim(v, `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, fhir.Invalid(header + " " + strconv.Quote(value) + ` is not a version entity tag such as W/"3"`)
	}
	return n, nil
}

// ifMatch returns the version in If-Match, or 0 when absent.
func ifMatch(c echo.Context) (int64, error) {
	h := c.Request().Header.Get("If-Match")
	if h == "" {
		return 0, nil
	}
	return parseETag("If-Match", h)
}

// setVersionHeaders sets ETag and Last-Modified for v.
func setVersionHeaders(c echo.Context, v *fhir.Version) {
	h := c.Response().Header()
	// Keys in canonical form ("Etag" on the wire either way), so that
	// Set need not build them.
	h.Set("Etag", v.ETag())
	h.Set("Last-Modified", v.LastUpdated.UTC().Format(http.TimeFormat))
}

// respondVersion answers a write with status code, honouring Prefer: return.
func respondVersion(c echo.Context, code int, v *fhir.Version, location bool) error {
	setVersionHeaders(c, v)
	if location {
		c.Response().Header().Set("Location", baseURL(c)+"/"+v.Ref()+"/_history/"+strconv.FormatInt(v.VersionID, 10))
	}
	switch preferReturn(c.Request()) {
	case "minimal":
		return c.NoContent(code)
	case "OperationOutcome":
		return writeJSON(c, code, fhir.NewOperationOutcome(fhir.Issue{Severity: "information", Code: "informational",
			Diagnostics: http.StatusText(code) + ": " + v.Ref() + " version " + strconv.FormatInt(v.VersionID, 10)}))
	}
	return writeJSON(c, code, v.Content)
}

// baseURL is the FHIR base of this request, e.g. http://host:8080/fhir.
func baseURL(c echo.Context) string {
	return c.Scheme() + "://" + c.Request().Host + "/fhir"
}

// notModified reports whether a conditional read may answer 304 for v.
func notModified(r *http.Request, v *fhir.Version) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			if n, err := parseETag("If-None-Match", tag); err == nil && n == v.VersionID {
				return true
			}
			if strings.TrimSpace(tag) == "*" {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil {
			return !v.LastUpdated.Truncate(time.Second).After(t)
		}
	}
	return false
}
