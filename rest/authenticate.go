package rest

import (
	"context"
	"strings"

	"github.com/hce-fhir/hce/auth"
	"github.com/labstack/echo/v4"
)

// Authenticator verifies a bearer token; *auth.Verifier is one.
type Authenticator interface {
	Verify(ctx context.Context, token string) (*auth.Principal, error)
}

// principalKey carries the verified *auth.Principal of a request; the
// entries a Bundle dispatches inherit it with the context.
type principalKey struct{}

// principalOf returns the request's principal; nil when authentication is off.
func principalOf(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(principalKey{}).(*auth.Principal)
	return p
}

// authenticate is the authentication middleware of the FHIR API: without a
// valid bearer token the request is answered 401 (see status). With
// authentication off (Options.Auth nil) every request passes. The
// CapabilityStatement is public.
func (h *Handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		if h.opt.Auth == nil || principalOf(ctx) != nil || c.Get(ctxInteraction) == "capabilities" {
			return next(c)
		}
		p, err := h.verify(c)
		if err != nil {
			return err
		}
		c.SetRequest(c.Request().WithContext(context.WithValue(ctx, principalKey{}, p)))
		return next(c)
	}
}

// requireAdmin guards the operations endpoints (/admin/*, /metrics): they
// need auth.AdminScope when authentication is on.
func (h *Handler) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if h.opt.Auth == nil {
			return next(c)
		}
		p, err := h.verify(c)
		if err != nil {
			return err
		}
		if !p.IsAdmin() {
			return auth.Forbidden("the operations endpoints need the scope " + auth.AdminScope + " (or system/*.cruds)")
		}
		return next(c)
	}
}

// verify reads and verifies the request's bearer token.
func (h *Handler) verify(c echo.Context) (*auth.Principal, error) {
	hdr := c.Request().Header.Get(echo.HeaderAuthorization)
	if hdr == "" {
		return nil, &auth.Error{Kind: auth.ErrUnauthorized, Reason: "a bearer token is required"}
	}
	scheme, token, _ := strings.Cut(hdr, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, &auth.Error{Kind: auth.ErrUnauthorized, Reason: "the Authorization header must be Bearer <token>", Code: "invalid_request"}
	}
	return h.opt.Auth.Verify(c.Request().Context(), strings.TrimSpace(token))
}
