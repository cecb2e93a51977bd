package fhirpath

import (
	"errors"
	"fmt"
)

// ErrUnsupported is wrapped by the errors of Compile for expressions that are
// valid FHIRPath but use a function, operator or literal outside the subset
// this package evaluates. Callers that index search parameters can skip such
// a parameter instead of failing.
var ErrUnsupported = errors.New("unsupported FHIRPath")

// SyntaxError is the error Compile returns: where in the expression it gave
// up and why. It wraps ErrUnsupported when the expression is valid FHIRPath
// outside the supported subset.
type SyntaxError struct {
	Expr string // the expression given to Compile
	Pos  int    // byte offset of the offending token
	Msg  string
	Err  error // ErrUnsupported or nil
}

// Error formats the expression, the offset and the reason.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("fhirpath: %q at offset %d: %s", e.Expr, e.Pos, e.Msg)
}

// Unwrap returns ErrUnsupported for unsupported forms, so errors.Is works.
func (e *SyntaxError) Unwrap() error { return e.Err }

func syntaxErr(pos int, msg string) *SyntaxError {
	return &SyntaxError{Pos: pos, Msg: msg}
}

func unsupportedErr(pos int, msg string) *SyntaxError {
	return &SyntaxError{Pos: pos, Msg: msg + " is not supported", Err: ErrUnsupported}
}
