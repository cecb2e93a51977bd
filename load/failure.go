package load

import (
	"errors"
	"strconv"
	"strings"
)

// ErrFailed is wrapped by every error Load returns because something did not
// load, so callers can tell "the data was refused" from "the loader broke".
var ErrFailed = errors.New("load: not everything loaded")

// Failure is one thing that did not load: a whole file, one Bundle entry or
// one NDJSON line.
type Failure struct {
	// File is the path of the input, or "-" for standard input.
	File string
	// Entry is the 0-based index of the failed Bundle.entry, as in the
	// FHIRPath Bundle.entry[3]; -1 when no entry is named.
	Entry int
	// Line is the 1-based line of the failed NDJSON resource in File; 0 when
	// the failure is not about a line.
	Line int
	// Status is the HTTP status of the request or of the entry's response,
	// such as "400 Bad Request"; empty when the server did not answer.
	Status string
	// Diagnostics says what went wrong, from the OperationOutcome when the
	// server sent one.
	Diagnostics string
}

// Error formats the failure as FILE: WHERE: STATUS: DIAGNOSTICS.
func (f *Failure) Error() string {
	var b strings.Builder
	b.WriteString(f.File)
	switch {
	case f.Line > 0:
		b.WriteString(":" + strconv.Itoa(f.Line))
	case f.Entry >= 0:
		b.WriteString(": Bundle.entry[" + strconv.Itoa(f.Entry) + "]")
	}
	if f.Status != "" {
		b.WriteString(": " + f.Status)
	}
	if f.Diagnostics != "" {
		b.WriteString(": " + f.Diagnostics)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrFailed) true for every Failure.
func (f *Failure) Unwrap() error { return ErrFailed }
