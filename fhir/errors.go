package fhir

import (
	"errors"
	"strings"
)

// Sentinel errors. Every error that crosses a package boundary wraps one of
// these so that the REST layer can choose the HTTP status in one place.
var (
	// ErrNotFound means the resource (or version) never existed.
	ErrNotFound = errors.New("not found")
	// ErrGone means the resource existed and its current version is deleted.
	ErrGone = errors.New("gone")
	// ErrConflict means the request clashes with the current state, for
	// example a create with an id that is already taken.
	ErrConflict = errors.New("conflict")
	// ErrPreconditionFailed means an If-Match or similar precondition did not hold.
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrInvalid means the request or the resource it carries is malformed.
	ErrInvalid = errors.New("invalid")
	// ErrNotSupported means the request is well formed but asks for something
	// HCE does not implement.
	ErrNotSupported = errors.New("not supported")
	// ErrUnavailable means a backing service (a database node) cannot be
	// reached right now; the request may be retried.
	ErrUnavailable = errors.New("unavailable")
)

// Issue is one OperationOutcome.issue: what went wrong and where.
type Issue struct {
	// Severity is fatal, error, warning or information.
	Severity string `json:"severity"`
	// Code is an IssueType code such as invalid, structure, not-found.
	Code string `json:"code"`
	// Diagnostics is the human-readable explanation.
	Diagnostics string `json:"diagnostics,omitempty"`
	// Expression holds FHIRPath-like element paths the issue is about.
	Expression []string `json:"expression,omitempty"`
}

// Error is an error that carries OperationOutcome issues. Kind is one of the
// sentinel errors above, so errors.Is(err, ErrInvalid) works.
type Error struct {
	Kind   error
	Issues []Issue
}

// Error joins the issue diagnostics.
func (e *Error) Error() string {
	parts := make([]string, 0, len(e.Issues))
	for _, is := range e.Issues {
		s := is.Diagnostics
		if len(is.Expression) > 0 {
			s = strings.Join(is.Expression, ",") + ": " + s
		}
		parts = append(parts, s)
	}
	return e.Kind.Error() + ": " + strings.Join(parts, "; ")
}

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf builds an Error of the given kind with a single error issue.
// code is an IssueType code; expr optionally names element paths.
func Errorf(kind error, code, diagnostics string, expr ...string) *Error {
	return &Error{Kind: kind, Issues: []Issue{{Severity: "error", Code: code, Diagnostics: diagnostics, Expression: expr}}}
}

// Invalid is shorthand for an ErrInvalid Error with IssueType "invalid".
func Invalid(diagnostics string, expr ...string) *Error {
	return Errorf(ErrInvalid, "invalid", diagnostics, expr...)
}
