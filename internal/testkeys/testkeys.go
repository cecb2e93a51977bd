// Package testkeys gives the tests of token verification real keys,
// generated for each test, and an identity provider that publishes them: an
// OpenID discovery document and a JWKS served over real HTTP.
package testkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// New returns a fresh EC P-256 key (for ES256), or an RSA 2048 key (for
// RS256) when rsaKey is set.
func New(rsaKey bool) (crypto.Signer, error) {
	if rsaKey {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// IdP is a test identity provider at URL: /.well-known/openid-configuration
// names URL as issuer and URL/jwks, which lists the public halves of the
// keys added and not removed.
type IdP struct {
	URL string
	// Fetches counts the JWKS requests served.
	Fetches atomic.Int32

	mu   sync.Mutex
	keys map[string]crypto.Signer // kid -> key
}

// NewIdP starts an identity provider without keys, stopped when the test
// ends.
func NewIdP(t testing.TB) *IdP {
	p := &IdP{keys: map[string]crypto.Signer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": p.URL, "jwks_uri": p.URL + "/jwks",
			"authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		p.Fetches.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		var set jose.JSONWebKeySet
		for kid, k := range p.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Public(), KeyID: kid, Use: "sig"})
		}
		json.NewEncoder(w).Encode(set)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Add generates a key (see New) and publishes it under kid.
func (p *IdP) Add(t testing.TB, kid string, rsaKey bool) crypto.Signer {
	t.Helper()
	k, err := New(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.keys[kid] = k
	p.mu.Unlock()
	return k
}

// Key returns the key published under kid, nil when there is none.
func (p *IdP) Key(kid string) crypto.Signer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[kid]
}

// Remove withdraws the key published under kid.
func (p *IdP) Remove(kid string) {
	p.mu.Lock()
	delete(p.keys, kid)
	p.mu.Unlock()
}

// Sign makes a JWT of claims signed by key, with kid in its header: ES256
// for an EC key, RS256 for an RSA one.
func Sign(t testing.TB, key crypto.Signer, kid string, claims map[string]any) string {
	t.Helper()
	alg := jose.ES256
	if _, ok := key.(*rsa.PrivateKey); ok {
		alg = jose.RS256
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
