package rest

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// SMART capabilities HCE supports as a resource server
// (https://hl7.org/fhir/smart-app-launch/conformance.html).
var smartCapabilities = []string{"permission-v1", "permission-v2", "permission-patient", "permission-user",
	"context-standalone-patient", "client-confidential-asymmetric"}

// smartConfiguration serves /.well-known/smart-configuration: where the
// authorization server is and what HCE understands. It is public.
func (h *Handler) smartConfiguration(c echo.Context) error {
	if h.opt.Auth == nil {
		return statusError(http.StatusNotFound, "not-found", "authentication is off: this server has no SMART configuration")
	}
	doc := map[string]any{
		"capabilities":                     smartCapabilities,
		"scopes_supported":                 []string{"openid", "fhirUser", "launch/patient", "patient/*.cruds", "user/*.cruds", "system/*.cruds", "patient/*.read", "user/*.read", "system/*.read"},
		"grant_types_supported":            []string{},
		"response_types_supported":         []string{"code"},
		"code_challenge_methods_supported": []string{"S256"},
	}
	if m := h.opt.SMART; m != nil {
		doc["issuer"] = m.Issuer
		doc["jwks_uri"] = m.JWKSURI
		set := func(k, v string) {
			if v != "" {
				doc[k] = v
			}
		}
		set("authorization_endpoint", m.AuthorizationEndpoint)
		set("token_endpoint", m.TokenEndpoint)
		set("revocation_endpoint", m.RevocationEndpoint)
		set("introspection_endpoint", m.IntrospectionEndpoint)
		set("registration_endpoint", m.RegistrationEndpoint)
		if len(m.GrantTypesSupported) > 0 {
			doc["grant_types_supported"] = m.GrantTypesSupported
		} else if m.TokenEndpoint != "" {
			doc["grant_types_supported"] = []string{"authorization_code", "client_credentials"}
		}
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.JSON(http.StatusOK, doc)
}

// security is the CapabilityStatement.rest.security of a server with
// authentication on: the SMART-on-FHIR service and, with an external
// issuer, its OAuth URIs.
func (h *Handler) security() map[string]any {
	if h.opt.Auth == nil {
		return nil
	}
	sec := map[string]any{
		"cors": len(h.opt.CORSOrigins) > 0,
		"service": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}},
			"text": "OAuth2 bearer tokens with SMART on FHIR scopes"}},
		"description": "Requests need a bearer token (JWT, RS256 or ES256) with SMART v1 or v2 scopes; see /.well-known/smart-configuration.",
	}
	if m := h.opt.SMART; m != nil && (m.AuthorizationEndpoint != "" || m.TokenEndpoint != "") {
		var uris []any
		if m.AuthorizationEndpoint != "" {
			uris = append(uris, map[string]any{"url": "authorize", "valueUri": m.AuthorizationEndpoint})
		}
		if m.TokenEndpoint != "" {
			uris = append(uris, map[string]any{"url": "token", "valueUri": m.TokenEndpoint})
		}
		sec["extension"] = []any{map[string]any{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris", "extension": uris}}
	}
	return sec
}
