package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Metadata is what HCE reads from an issuer's OpenID Connect discovery
// document (/.well-known/openid-configuration).
type Metadata struct {
	Issuer                string   `json:"issuer"`
	JWKSURI               string   `json:"jwks_uri"`
	AuthorizationEndpoint string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint         string   `json:"token_endpoint,omitempty"`
	RevocationEndpoint    string   `json:"revocation_endpoint,omitempty"`
	IntrospectionEndpoint string   `json:"introspection_endpoint,omitempty"`
	RegistrationEndpoint  string   `json:"registration_endpoint,omitempty"`
	GrantTypesSupported   []string `json:"grant_types_supported,omitempty"`
}

// Discover fetches the discovery document of issuer and checks that it
// names the same issuer.
func Discover(ctx context.Context, client *http.Client, issuer string) (*Metadata, error) {
	url := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("auth: discovery %s: %w", url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("auth: discovery %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("auth: discovery %s: status %d", url, resp.StatusCode)
	}
	var m Metadata
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("auth: discovery %s: %w", url, err)
	}
	if m.Issuer != issuer {
		return nil, fmt.Errorf("auth: discovery %s: names issuer %q, not %q", url, m.Issuer, issuer)
	}
	if m.JWKSURI == "" {
		return nil, fmt.Errorf("auth: discovery %s: no jwks_uri", url)
	}
	return &m, nil
}
