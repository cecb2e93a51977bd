// Package auth makes HCE an OAuth 2.0 resource server for SMART on FHIR.
//
// It verifies bearer tokens (JWTs signed with RS256 or ES256) against the
// keys of an OpenID Connect issuer, fetched by discovery or from a JWKS URL
// and cached with refetch on an unknown key id; it parses SMART App Launch
// scopes, v2 (patient/Observation.rs) and v1 (user/*.read), into the
// permissions of a Principal; it tells whether a resource belongs to a
// patient's compartment; and it mints tokens with the server's own key for
// development, tests and small sites (hce token).
//
// See https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html.
package auth
