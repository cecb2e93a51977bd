package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Algorithms are the only signature algorithms accepted. Listing them is
// what rejects alg none and HMAC tokens: go-jose refuses any other header.
var Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// Leeway is the clock skew tolerated on exp, nbf and iat.
const Leeway = 60 * time.Second

// Keys finds the public key that signed a token.
type Keys interface {
	Key(ctx context.Context, kid string) (jose.JSONWebKey, error)
}

// Verifier checks bearer tokens of one issuer and audience.
type Verifier struct {
	issuer   string
	audience string
	keys     Keys
	now      func() time.Time
	cache    verified
}

// verified remembers tokens that passed Verify, so that a client sending
// the same token on every request pays for the signature check once a
// minute rather than on each request. Entries end with the token's exp.
type verified struct {
	mu      sync.Mutex
	entries map[[32]byte]verifiedToken
}

type verifiedToken struct {
	p     *Principal
	until time.Time
	gen   uint64 // the key set's generation when verified
}

// generation is the number of times a key set has been (re)loaded; a
// cached token verified under an older set is checked again, so that a key
// withdrawn from the JWKS stops being accepted as soon as HCE sees it go.
func (v *Verifier) generation() uint64 {
	if g, ok := v.keys.(interface{ Generation() uint64 }); ok {
		return g.Generation()
	}
	return 0
}

// cacheTTL bounds how long a verified token is remembered, and so how long
// a token stays accepted after its key is withdrawn from the JWKS.
const cacheTTL = time.Minute

// cacheSize bounds the number of remembered tokens.
const cacheSize = 10000

func (c *verified) get(tok string, now time.Time, gen uint64) *Principal {
	sum := sha256.Sum256([]byte(tok))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[sum]
	if !ok || !now.Before(e.until) || e.gen != gen {
		return nil
	}
	return e.p
}

func (c *verified) put(tok string, p *Principal, until time.Time, gen uint64) {
	sum := sha256.Sum256([]byte(tok))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= cacheSize {
		c.entries = map[[32]byte]verifiedToken{} // start over rather than track ages
	}
	c.entries[sum] = verifiedToken{p: p, until: until, gen: gen}
}

// NewVerifier returns a Verifier for tokens from issuer (the iss claim) for
// audience (one of the aud claim's values), signed with keys. An empty
// audience accepts any: a deployment should set one.
func NewVerifier(issuer, audience string, keys Keys) *Verifier {
	return &Verifier{issuer: issuer, audience: audience, keys: keys, now: time.Now}
}

// Issuer returns the issuer the verifier accepts.
func (v *Verifier) Issuer() string { return v.issuer }

// claims are the JWT claims HCE reads.
type claims struct {
	jwt.Claims
	Scope    scopeClaim `json:"scope"`
	Scp      scopeClaim `json:"scp"`
	Patient  string     `json:"patient"`
	FHIRUser string     `json:"fhirUser"`
	ClientID string     `json:"client_id"`
	AZP      string     `json:"azp"`
}

// scopeClaim reads scope as a space-separated string or, as some issuers
// write it, a JSON array.
type scopeClaim string

func (s *scopeClaim) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		*s = scopeClaim(str)
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("scope is neither a string nor a list of strings")
	}
	*s = scopeClaim(strings.Join(list, " "))
	return nil
}

// Verify checks a compact JWS token: algorithm, signature, iss, aud, exp
// and nbf (with Leeway); the failure is an *Error of kind ErrUnauthorized.
func (v *Verifier) Verify(ctx context.Context, token string) (*Principal, error) {
	now := v.now()
	if p := v.cache.get(token, now, v.generation()); p != nil {
		return p, nil
	}
	gen := v.generation()
	tok, err := jwt.ParseSigned(token, Algorithms)
	if err != nil {
		return nil, Unauthorized("malformed token or unsupported algorithm (RS256 and ES256 are accepted)")
	}
	if len(tok.Headers) != 1 {
		return nil, Unauthorized("a token has exactly one signature")
	}
	h := tok.Headers[0]
	key, err := v.keys.Key(ctx, h.KeyID)
	if err != nil {
		return nil, Unauthorized("token signed with an unknown key")
	}
	if !keyFits(key, jose.SignatureAlgorithm(h.Algorithm)) {
		return nil, Unauthorized("token algorithm does not fit its key")
	}
	var c claims
	if err := tok.Claims(key.Key, &c); err != nil {
		return nil, Unauthorized("bad token signature or claims")
	}
	exp := jwt.Expected{Issuer: v.issuer, Time: now}
	if v.audience != "" {
		exp.AnyAudience = jwt.Audience{v.audience}
	}
	if c.Expiry == nil {
		return nil, Unauthorized("token has no exp")
	}
	if err := c.ValidateWithLeeway(exp, Leeway); err != nil {
		switch {
		case errors.Is(err, jwt.ErrExpired):
			return nil, Unauthorized("token expired")
		case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
			return nil, Unauthorized("token not valid yet")
		case errors.Is(err, jwt.ErrInvalidAudience):
			return nil, Unauthorized("token is for another audience")
		case errors.Is(err, jwt.ErrInvalidIssuer):
			return nil, Unauthorized("token is from another issuer")
		}
		return nil, Unauthorized("invalid token claims")
	}
	scope := string(c.Scope)
	if scope == "" {
		scope = string(c.Scp)
	}
	p := &Principal{Subject: c.Subject, FHIRUser: c.FHIRUser, ClientID: c.ClientID, Patient: c.Patient,
		Scope: scope, Scopes: ParseScopes(scope), Issuer: c.Issuer}
	if p.ClientID == "" {
		p.ClientID = c.AZP
	}
	until := now.Add(cacheTTL)
	if e := c.Expiry.Time(); e.Before(until) {
		until = e
	}
	v.cache.put(token, p, until, gen)
	return p, nil
}

// keyFits reports whether the key's kind matches the token's algorithm, so
// that an RS256 header cannot be paired with an EC key or the reverse.
func keyFits(k jose.JSONWebKey, alg jose.SignatureAlgorithm) bool {
	if k.Algorithm != "" && k.Algorithm != string(alg) {
		return false
	}
	switch k.Key.(type) {
	case *rsa.PublicKey:
		return alg == jose.RS256
	case *ecdsa.PublicKey:
		return alg == jose.ES256
	}
	return false
}
