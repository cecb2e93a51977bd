package rest

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/hce-fhir/hce/audit"
	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

// Auditor records audit events; *audit.Writer is one.
type Auditor interface {
	Record(e audit.Event) error
}

// auditSource carries the outer request's client address and request id to
// the entries a Bundle dispatches, and numbers the entries.
type auditSource struct{}

type source struct {
	address, requestID string
}

// entryIndex carries the index (plus one) of a dispatched Bundle entry.
type entryIndex struct{}

// audited is the audit middleware: it records each request, and each Bundle
// entry the inner router serves, after it is answered, with the status sent,
// denials (401, 403) included. The Metadata route is not audited.
func (h *Handler) audited(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if h.opt.Audit == nil || c.Get(ctxInteraction) == "capabilities" {
			return next(c)
		}
		start := time.Now()
		r := c.Request()
		ctx := r.Context()
		src, ok := ctx.Value(auditSource{}).(source)
		if !ok {
			src = source{address: clientAddress(c), requestID: c.Response().Header().Get(echo.HeaderXRequestID)}
			c.SetRequest(r.WithContext(context.WithValue(ctx, auditSource{}, src)))
		}
		err := next(c)
		e := audit.Event{Time: start, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Address: src.address, RequestID: src.requestID}
		e.Interaction, _ = c.Get(ctxInteraction).(string)
		e.Entry, _ = ctx.Value(entryIndex{}).(int)
		e.Type, e.ID = target(c)
		if loc := relativeLocation(c.Response().Header().Get(echo.HeaderLocation)); e.ID == "" && loc != "" {
			// A create names its new resource only in Location.
			if typ, id, ok := fhir.SplitReference(strings.Split(loc, "/_history/")[0]); ok {
				e.Type, e.ID = typ, id
			}
		}
		e.Status = c.Response().Status
		if err != nil {
			var issues []fhir.Issue
			e.Status, issues = status(err)
			if len(issues) > 0 {
				e.Outcome = issues[0].Diagnostics
			}
		}
		// The principal is the one authenticate put on the request.
		if p := principalOf(c.Request().Context()); p != nil {
			e.Subject, e.FHIRUser, e.ClientID, e.Issuer, e.Patient = p.Subject, p.FHIRUser, p.ClientID, p.Issuer, p.Patient
		}
		_ = h.opt.Audit.Record(e) // only fails after shutdown began
		return err
	}
}

// target names the resource type and id of the request, from the route.
func target(c echo.Context) (typ, id string) {
	typ = c.Param("type")
	if !fhir.IsResourceType(typ) {
		return "", ""
	}
	id = c.Param("id")
	if comp := c.Param("comp"); comp != "" && typ == "Patient" {
		// Patient/{id}/{type}: the compartment search is about the patient.
		return typ, id
	}
	if strings.Contains(id, "/") || !fhir.ValidID(id) {
		id = ""
	}
	return typ, id
}

// clientAddress is the client's IP address, without the port.
func clientAddress(c echo.Context) string {
	host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		return c.Request().RemoteAddr
	}
	return host
}
