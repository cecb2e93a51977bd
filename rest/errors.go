package rest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/hce-fhir/hce/auth"
	"github.com/hce-fhir/hce/fhir"
	"github.com/labstack/echo/v4"
)

// httpError is an error with an explicit HTTP status, for conditions that
// belong to HTTP rather than to FHIR (406, 413, 415).
type httpError struct {
	status int
	issue  fhir.Issue
}

func (e *httpError) Error() string { return e.issue.Diagnostics }

func statusError(status int, code, diagnostics string) error {
	return &httpError{status: status, issue: fhir.Issue{Severity: "error", Code: code, Diagnostics: diagnostics}}
}

// status maps an error to its HTTP status and OperationOutcome issues. It is
// the only place that does so.
func status(err error) (int, []fhir.Issue) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, []fhir.Issue{he.issue}
	}
	var si *statusIssues
	if errors.As(err, &si) {
		return si.status, si.issues
	}
	var ae *auth.Error
	if errors.As(err, &ae) {
		if errors.Is(ae, auth.ErrForbidden) {
			return http.StatusForbidden, []fhir.Issue{{Severity: "error", Code: "forbidden", Diagnostics: ae.Reason}}
		}
		return http.StatusUnauthorized, []fhir.Issue{{Severity: "error", Code: "login", Diagnostics: ae.Reason}}
	}
	var be *budgetError
	if errors.As(err, &be) {
		if be.waited {
			// Every search slot stayed taken: the server is busy, the search
			// itself may be cheap, and a retry later can succeed (503 with
			// Retry-After, IssueType throttled: load management).
			return http.StatusServiceUnavailable, []fhir.Issue{{Severity: "error", Code: "throttled", Diagnostics: be.Error()}}
		}
		// The search itself ran out of its budget, a hundred times what an
		// everyday search takes: it is the request that costs too much, and
		// repeating it unchanged would spend the same again. R4 answers a
		// search that "could not be processed" with 400 (http.html#search);
		// a 5xx would invite automatic retries and count a client's query
		// against the server's availability.
		return http.StatusBadRequest, []fhir.Issue{{Severity: "error", Code: "too-costly", Diagnostics: be.Error()}}
	}
	var ee *echo.HTTPError
	if errors.As(err, &ee) {
		code := "processing"
		switch ee.Code {
		case http.StatusNotFound:
			code = "not-found"
		case http.StatusMethodNotAllowed:
			code = "not-supported"
		case http.StatusRequestEntityTooLarge:
			code = "too-costly"
		}
		msg, _ := ee.Message.(string)
		if msg == "" {
			msg = http.StatusText(ee.Code)
		}
		return ee.Code, []fhir.Issue{{Severity: "error", Code: code, Diagnostics: msg}}
	}
	var issues []fhir.Issue
	var fe *fhir.Error
	if errors.As(err, &fe) {
		issues = fe.Issues
	}
	one := func(code string) []fhir.Issue {
		if issues != nil {
			return issues
		}
		return []fhir.Issue{{Severity: "error", Code: code, Diagnostics: err.Error()}}
	}
	switch {
	case errors.Is(err, fhir.ErrInvalid):
		return http.StatusBadRequest, one("invalid")
	case errors.Is(err, fhir.ErrNotSupported):
		return http.StatusBadRequest, one("not-supported")
	case errors.Is(err, fhir.ErrNotFound):
		return http.StatusNotFound, one("not-found")
	case errors.Is(err, fhir.ErrGone):
		return http.StatusGone, one("deleted")
	case errors.Is(err, fhir.ErrConflict):
		return http.StatusConflict, one("conflict")
	case errors.Is(err, fhir.ErrPreconditionFailed):
		return http.StatusPreconditionFailed, one("conflict")
	case errors.Is(err, fhir.ErrUnavailable):
		return http.StatusServiceUnavailable, one("transient")
	case errors.Is(err, context.Canceled):
		return 499, one("timeout") // the client went away; nobody reads this
	}
	return http.StatusInternalServerError, []fhir.Issue{{Severity: "fatal", Code: "exception", Diagnostics: "internal server error"}}
}

// handleError is Echo's HTTPErrorHandler: every error, on every route, is
// answered with an OperationOutcome.
func handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, issues := status(err)
	// The error text, with the database's own message where there is one,
	// goes to the log under the request id; the client sees the issues.
	switch {
	case code >= 500:
		slog.ErrorContext(c.Request().Context(), "request failed", "error", err.Error(),
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	case strings.HasPrefix(err.Error(), "store: ") && (code == http.StatusConflict ||
		(len(issues) > 0 && strings.HasPrefix(issues[0].Diagnostics, "a value of the request"))):
		// A conflict or a value the database refused: its own message,
		// which clients do not see, says why.
		slog.WarnContext(c.Request().Context(), "request rejected by the database", "status", code, "error", err.Error(),
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	if code == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "5")
	}
	if challenge := bearerChallenge(err); challenge != "" {
		c.Response().Header().Set("WWW-Authenticate", challenge)
	}
	_ = writeJSON(c, code, fhir.NewOperationOutcome(issues...))
}

// bearerChallenge is the WWW-Authenticate header of an authentication or
// scope failure (RFC 6750 section 3); "" for other errors.
func bearerChallenge(err error) string {
	var ae *auth.Error
	if !errors.As(err, &ae) {
		return ""
	}
	ch := `Bearer realm="hce"`
	if ae.Code != "" {
		ch += `, error="` + ae.Code + `", error_description="` + strings.ReplaceAll(ae.Reason, `"`, `'`) + `"`
	}
	return ch
}
