package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

const (
	mimeFHIRJSON  = "application/fhir+json"
	mimeJSON      = "application/json"
	mimeJSONPatch = "application/json-patch+json"
	ctxMediaType  = "hce.mediatype"
)

// jsonFormats are the _format values and media types that mean FHIR JSON.
var jsonFormats = map[string]string{
	"json": mimeFHIRJSON, mimeFHIRJSON: mimeFHIRJSON, "application/json+fhir": mimeFHIRJSON,
	mimeJSON: mimeJSON, "text/json": mimeJSON,
}

// negotiate picks the response media type from _format, then Accept, and
// answers 406 when the client accepts nothing HCE can produce (only JSON).
func negotiate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		mt, err := responseType(c.Request())
		if err != nil {
			c.Set(ctxMediaType, mimeFHIRJSON) // the OperationOutcome itself is JSON
			return err
		}
		c.Set(ctxMediaType, mt)
		return next(c)
	}
}

func responseType(r *http.Request) (string, error) {
	// Most requests have no query: no map of parameters to parse then.
	if f := formatParam(r); f != "" {
		base, _, _ := strings.Cut(f, ";")
		if mt, ok := jsonFormats[strings.ToLower(strings.TrimSpace(base))]; ok {
			return mt, nil
		}
		return "", statusError(http.StatusNotAcceptable, "not-supported", "_format "+strconv.Quote(f)+" is not supported; HCE serves json (application/fhir+json)")
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return mimeFHIRJSON, nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				continue
			}
		}
		if t, ok := jsonFormats[mt]; ok {
			return t, nil
		}
		if mt == "*/*" || mt == "application/*" {
			return mimeFHIRJSON, nil
		}
	}
	return "", statusError(http.StatusNotAcceptable, "not-supported", "cannot produce any of Accept: "+accept+"; HCE serves application/fhir+json and application/json")
}

// formatParam is the request's _format parameter, "" when absent.
func formatParam(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return r.URL.Query().Get("_format")
}

// mediaType is the response media type chosen by negotiate.
func mediaType(c echo.Context) string {
	if mt, ok := c.Get(ctxMediaType).(string); ok {
		return mt
	}
	return mimeFHIRJSON
}

// readBody checks the request's Content-Type against allowed and reads the
// body, which the body-limit middleware has already capped.
func readBody(c echo.Context, allowed ...string) ([]byte, error) {
	if err := contentType(c, allowed); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, bodyError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, statusError(http.StatusBadRequest, "required", "request body is empty")
	}
	return body, nil
}

// readOptionalBody is readBody for a body that may be absent: an empty
// body, whatever its Content-Type, gives nil.
func readOptionalBody(c echo.Context, allowed ...string) ([]byte, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, bodyError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	if err := contentType(c, allowed); err != nil {
		return nil, err
	}
	return body, nil
}

// contentType answers 415 unless the request's Content-Type is one of allowed.
func contentType(c echo.Context, allowed []string) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !contains(allowed, mt) {
		return statusError(http.StatusUnsupportedMediaType, "not-supported",
			"Content-Type "+strconv.Quote(ct)+" is not supported here; send "+strings.Join(allowed, " or "))
	}
	return nil
}

// bodyError describes a failure to read the request body: 413 past the
// body limit, 400 otherwise.
func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return statusError(http.StatusRequestEntityTooLarge, "too-costly",
			"request body exceeds the limit of "+strconv.FormatInt(tooBig.Limit, 10)+" bytes")
	}
	if isTimeout(err) {
		return statusError(http.StatusBadRequest, "incomplete",
			"the request body did not arrive within the body timeout (fewer bytes than Content-Length, or sent too slowly)")
	}
	return statusError(http.StatusBadRequest, "structure", "cannot read request body: "+err.Error())
}

var resourceTypes = []string{mimeFHIRJSON, mimeJSON, "application/json+fhir"}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeJSON renders v (raw JSON bytes or a value to encode) with the
// negotiated media type.
func writeJSON(c echo.Context, code int, v any) error {
	var body []byte
	switch b := v.(type) {
	case []byte:
		body = b
	default:
		var err error
		if body, err = encodeJSON(v); err != nil {
			return err
		}
	}
	return c.Blob(code, contentTypeOf(mediaType(c)), body)
}

// contentTypeOf is the Content-Type of a response in media type mt: the
// two JSON types without building the string on every response.
func contentTypeOf(mt string) string {
	switch mt {
	case mimeFHIRJSON:
		return mimeFHIRJSON + "; charset=utf-8"
	case mimeJSON:
		return mimeJSON + "; charset=utf-8"
	}
	return mt + "; charset=utf-8"
}

// encodeJSON encodes v as the API writes JSON: without HTML escapes, with
// a final newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

// writeBundle renders b as writeJSON would, encoding and writing one entry
// at a time: a batch or transaction response holds every resource it
// stored, and encoded whole it would be held twice over in one growing
// buffer. The entries are HCE's own values around stored JSON, which
// encode without error.
func writeBundle(c echo.Context, code int, b fhir.Bundle) error {
	entries := b.Entry
	b.Entry = nil
	head, err := encodeJSON(b)
	if err != nil || len(entries) == 0 {
		return writeJSON(c, code, b)
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, mediaType(c)+"; charset=utf-8")
	w.WriteHeader(code)
	// head is {...}\n: the entries go before its closing brace.
	w.Write(head[:len(head)-2])
	w.Write([]byte(`,"entry":[`))
	for i := range entries {
		part, err := encodeJSON(entries[i])
		if err != nil {
			return err
		}
		entries[i] = fhir.BundleEntry{} // written: its resource can go
		if i > 0 {
			w.Write([]byte(","))
		}
		w.Write(part[:len(part)-1])
	}
	_, err = w.Write([]byte("]}\n"))
	return err
}
