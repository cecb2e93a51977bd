package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/validate"
	"github.com/labstack/echo/v4"
)

// everything implements Patient/{id}/$everything
// (https://hl7.org/fhir/R4/patient-operation-everything.html) with _since,
// _type, _count and paging. It is invoked by GET with the parameters in the
// query string, or by POST with a Parameters resource as the body (or no
// body), as https://hl7.org/fhir/R4/operations.html#request allows for an
// operation that changes nothing.
func (h *Handler) everything(c echo.Context) error {
	typ, err := resourceType(c)
	if err != nil {
		return err
	}
	if typ != "Patient" {
		return fhir.Errorf(fhir.ErrNotFound, "not-supported", "$everything is supported on Patient only")
	}
	id, err := resourceID(c)
	if err != nil {
		return err
	}
	params, err := operationParams(c)
	if err != nil {
		return err
	}
	count, err := h.pageCount(params)
	if err != nil {
		return err
	}
	from, err := since(params)
	if err != nil {
		return err
	}
	var types []string
	for _, list := range params["_type"] {
		for _, t := range strings.Split(list, ",") {
			if t = strings.TrimSpace(t); t == "" {
				continue
			}
			if !fhir.IsResourceType(t) {
				return fhir.Invalid("_type: unknown resource type "+t, "_type")
			}
			types = append(types, t)
		}
	}
	var versions []*fhir.Version
	var next string
	err = h.withinBudget(c, func(ctx context.Context) error {
		versions, next, err = h.repoOf(c).Everything(ctx, id, from, types, count, params.Get("_cursor"))
		return err
	})
	if err != nil {
		return err
	}
	// The links are GET links whatever the method: they carry the
	// parameters of a POST body in their query strings.
	base := baseURL(c)
	self := base + strings.TrimPrefix(c.Request().URL.Path, "/fhir")
	b := fhir.Bundle{ResourceType: "Bundle", ID: uuid.NewString(), Type: "searchset",
		Link: []fhir.BundleLink{{Relation: "self", URL: withQuery(self, params)}}}
	if next != "" {
		p := url.Values{}
		for k, v := range params {
			p[k] = v
		}
		p.Set("_cursor", next)
		b.Link = append(b.Link, fhir.BundleLink{Relation: "next", URL: withQuery(self, p)})
	}
	for _, v := range versions {
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: base + "/" + v.Ref(), Resource: json.RawMessage(v.Content),
			Search: &fhir.BundleSearch{Mode: "match"}})
	}
	return writeJSON(c, http.StatusOK, b)
}

// operationParams returns the parameters of an operation request: the
// query string, and for POST the body's Parameters resource, whose
// parameters come first. A POST without a body has only the query string.
func operationParams(c echo.Context) (url.Values, error) {
	params := url.Values{}
	if c.Request().Method == http.MethodPost {
		var doc map[string]any
		if r, ok := c.Request().Context().Value(parsedResource{}).(*fhir.Resource); ok {
			if r.Type != "Parameters" {
				return nil, fhir.Invalid("an operation takes a Parameters resource, not "+r.Type, "resourceType")
			}
			doc = r.Content
		} else {
			body, err := readOptionalBody(c, resourceTypes...)
			if err != nil {
				return nil, err
			}
			if body != nil {
				if params, err = operationBody(body); err != nil {
					return nil, err
				}
			}
		}
		if doc != nil {
			var err error
			if params, err = parametersValues(doc); err != nil {
				return nil, err
			}
		}
	}
	for k, v := range c.QueryParams() {
		if _, ok := params[k]; !ok {
			params[k] = v
		}
	}
	return params, nil
}

// operationValidator validates the Parameters bodies of operations with the
// default limits.
var operationValidator = validate.New(validate.Options{})

// operationBody reads the parameters of an operation's body, which must be
// a valid Parameters resource.
func operationBody(body []byte) (url.Values, error) {
	r, err := operationValidator.Parse(body)
	if err != nil {
		return nil, err
	}
	if r.Type != "Parameters" {
		return nil, fhir.Invalid("an operation takes a Parameters resource, not "+r.Type, "resourceType")
	}
	return parametersValues(r.Content)
}

// parametersValues turns the parameters of a Parameters resource into query
// form, each value[x] written as its query string text: valueInstant
// 2024-01-02T03:04:05Z, valueInteger 10, valueCode Observation. A repeated
// parameter gives several values. Parameters with a resource or parts
// instead of a value are an error: no parameter HCE reads takes one.
func parametersValues(doc map[string]any) (url.Values, error) {
	out := url.Values{}
	list, _ := doc["parameter"].([]any)
	for i, item := range list {
		p, _ := item.(map[string]any)
		name, _ := p["name"].(string)
		where := "Parameters.parameter[" + strconv.Itoa(i) + "]"
		var value string
		found := false
		for k, v := range p {
			if !strings.HasPrefix(k, "value") {
				continue
			}
			switch x := v.(type) {
			case string:
				value = x
			case bool:
				value = strconv.FormatBool(x)
			case json.Number:
				value = x.String()
			case float64:
				value = strconv.FormatFloat(x, 'f', -1, 64)
			default:
				return nil, fhir.Invalid("parameter "+strconv.Quote(name)+": "+k+" is not a primitive value", where+"."+k)
			}
			found = true
		}
		if name == "" {
			return nil, fhir.Invalid("a parameter has no name", where+".name")
		}
		if !found {
			return nil, fhir.Invalid("parameter "+strconv.Quote(name)+" has no value[x]; this operation takes primitive values only", where)
		}
		out.Add(name, value)
	}
	return out, nil
}
