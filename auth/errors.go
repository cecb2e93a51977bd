package auth

import "errors"

// Sentinel errors; the REST layer maps them to HTTP statuses.
var (
	// ErrUnauthorized means the request carries no usable bearer token:
	// none, malformed, badly signed, expired, or for another audience or
	// issuer. The answer is 401 with WWW-Authenticate: Bearer.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden means the token is valid but its scopes do not allow the
	// request. The answer is 403.
	ErrForbidden = errors.New("forbidden")
)

// Error is an authentication or authorization failure with the reason the
// client may read. Kind is ErrUnauthorized or ErrForbidden.
type Error struct {
	Kind   error
	Reason string
	// Code is the RFC 6750 error code for WWW-Authenticate: invalid_token,
	// invalid_request or insufficient_scope; empty when no token was sent.
	Code string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Reason }

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

// Unauthorized returns an ErrUnauthorized error for an invalid token.
func Unauthorized(reason string) *Error {
	return &Error{Kind: ErrUnauthorized, Reason: reason, Code: "invalid_token"}
}

// Forbidden returns an ErrForbidden error.
func Forbidden(reason string) *Error {
	return &Error{Kind: ErrForbidden, Reason: reason, Code: "insufficient_scope"}
}
