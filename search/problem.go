package search

import "fmt"

// problem is why a parameter cannot be used, with the OperationOutcome
// IssueType code to report. An ignorable problem (an unknown or
// unsupported parameter) becomes a warning unless Options.Strict is set;
// any other is an error.
type problem struct {
	code      string
	msg       string
	ignorable bool
}

func (p *problem) Error() string { return p.msg }

// invalidf reports a malformed parameter name or value.
func invalidf(format string, args ...any) error {
	return &problem{code: "invalid", msg: fmt.Sprintf(format, args...)}
}

// unsupportedf reports a well-formed request for something HCE does not
// implement, such as token:in. R4 says a server SHALL reject a modifier it
// does not support rather than ignore it, so this is an error.
func unsupportedf(format string, args ...any) error {
	return &problem{code: "not-supported", msg: fmt.Sprintf(format, args...)}
}

// ignorablef reports a parameter that lenient handling drops: R4 lets a
// server ignore parameters it does not know, saying so in the response.
func ignorablef(format string, args ...any) error {
	return &problem{code: "not-supported", msg: fmt.Sprintf(format, args...), ignorable: true}
}

// tooCostlyf reports a request over one of the Limits: well formed, but
// more work than the server does for one search.
func tooCostlyf(format string, args ...any) error {
	return &problem{code: "too-costly", msg: fmt.Sprintf(format, args...)}
}
