package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/hce-fhir/hce/internal/testkeys"
)

// idp is a test identity provider: keys generated in the test, a discovery
// document and a JWKS served over real HTTP.
type idp struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]crypto.Signer // kid -> key, published
	fetches atomic.Int32
}

func newIDP(t *testing.T) *idp {
	p := &idp{t: t, keys: map[string]crypto.Signer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/jwks",
			"authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		var set jose.JSONWebKeySet
		for kid, k := range p.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Public(), KeyID: kid, Use: "sig"})
		}
		json.NewEncoder(w).Encode(set)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// addKey generates and publishes a key: EC P-256 or RSA 2048.
func (p *idp) addKey(kid string, rsaKey bool) crypto.Signer {
	p.t.Helper()
	k, err := testkeys.New(rsaKey)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.keys[kid] = k
	p.mu.Unlock()
	return k
}

func (p *idp) removeKey(kid string) {
	p.mu.Lock()
	delete(p.keys, kid)
	p.mu.Unlock()
}

// sign makes a token with the given claims.
func sign(t *testing.T, key crypto.Signer, kid string, claims map[string]any) string {
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

func (p *idp) claims(extra map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": p.srv.URL, "aud": "fhir", "sub": "u1", "exp": now.Add(time.Hour).Unix(),
		"nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(), "scope": "user/*.rs", "fhirUser": "Practitioner/7"}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestVerify(t *testing.T) {
	p := newIDP(t)
	ec := p.addKey("ec1", false)
	rs := p.addKey("rs1", true)
	ctx := context.Background()
	md, err := Discover(ctx, http.DefaultClient, p.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(p.srv.URL, "fhir", NewKeySet(md.JWKSURI, nil))
	now := time.Now()
	good := sign(t, ec, "ec1", p.claims(nil))
	parts := strings.Split(good, ".")

	hmac, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("a-shared-secret-that-is-long-enough")},
		(&jose.SignerOptions{}).WithHeader("kid", "ec1"))
	hsTok, _ := jwt.Signed(hmac).Claims(p.claims(nil)).Serialize()
	payload, _ := json.Marshal(p.claims(nil))
	tampered, _ := json.Marshal(p.claims(map[string]any{"scope": "system/*.cruds"}))

	tests := []struct {
		name   string
		token  string
		reason string // empty: valid
	}{
		{"ES256", good, ""},
		{"RS256", sign(t, rs, "rs1", p.claims(nil)), ""},
		{"aud list", sign(t, ec, "ec1", p.claims(map[string]any{"aud": []string{"other", "fhir"}})), ""},
		{"small skew", sign(t, ec, "ec1", p.claims(map[string]any{"exp": now.Add(-30 * time.Second).Unix()})), ""},
		{"expired", sign(t, ec, "ec1", p.claims(map[string]any{"exp": now.Add(-5 * time.Minute).Unix()})), "expired"},
		{"not yet", sign(t, ec, "ec1", p.claims(map[string]any{"nbf": now.Add(5 * time.Minute).Unix()})), "not valid yet"},
		{"no exp", sign(t, ec, "ec1", p.claims(map[string]any{"exp": nil})), "no exp"},
		{"wrong aud", sign(t, ec, "ec1", p.claims(map[string]any{"aud": "other"})), "audience"},
		{"wrong iss", sign(t, ec, "ec1", p.claims(map[string]any{"iss": "https://evil.example"})), "issuer"},
		{"alg none", b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(string(payload)) + ".", "malformed"},
		{"HS256", hsTok, "malformed"},
		{"tampered", parts[0] + "." + b64(string(tampered)) + "." + parts[2], "signature"},
		{"wrong key kind", func() string { // RS256 header over an EC kid
			tok := sign(t, rs, "ec1", p.claims(nil))
			return tok
		}(), "algorithm"},
		{"unknown kid", sign(t, ec, "nope", p.claims(nil)), "unknown key"},
		{"garbage", "abc", "malformed"},
		{"empty", "", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, err := v.Verify(ctx, tt.token)
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if pr.Subject != "u1" || pr.FHIRUser != "Practitioner/7" || len(pr.Scopes) != 1 {
					t.Fatalf("principal %+v", pr)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
			if !strings.Contains(ae.Reason, tt.reason) {
				t.Fatalf("reason %q, want it to mention %q", ae.Reason, tt.reason)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	p := newIDP(t)
	old := p.addKey("k1", false)
	ks := NewKeySet(p.srv.URL+"/jwks", nil)
	ks.MinRefresh = time.Second // long enough for the flood below on a busy machine
	v := NewVerifier(p.srv.URL, "fhir", ks)
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, old, "k1", p.claims(nil))); err != nil {
		t.Fatal(err)
	}
	if n := p.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
	// The issuer rotates in a new key: the unknown kid makes the set refetch,
	// but only once per MinRefresh.
	time.Sleep(1100 * time.Millisecond)
	next := p.addKey("k2", true)
	if _, err := v.Verify(ctx, sign(t, next, "k2", p.claims(nil))); err != nil {
		t.Fatalf("rotated-in key: %v", err)
	}
	for range 20 {
		if _, err := v.Verify(ctx, sign(t, next, "made-up", p.claims(nil))); err == nil {
			t.Fatal("made-up kid accepted")
		}
	}
	if n := p.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after a flood of unknown kids, want 2 (rate-limited)", n)
	}
	// The old key is retired: once the limit allows a refetch, it is gone.
	p.removeKey("k1")
	time.Sleep(1100 * time.Millisecond)
	_, _ = v.Verify(ctx, sign(t, next, "made-up", p.claims(nil)))
	if _, err := v.Verify(ctx, sign(t, old, "k1", p.claims(nil))); err != nil {
		t.Logf("k1 still cached until the set is refreshed: %v", err)
	}
	if _, err := v.Verify(ctx, sign(t, next, "k2", p.claims(nil))); err != nil {
		t.Fatal(err)
	}
}

func TestDiscoverChecksIssuer(t *testing.T) {
	p := newIDP(t)
	if _, err := Discover(context.Background(), http.DefaultClient, p.srv.URL+"/"); err == nil {
		t.Fatal("discovery accepted a document naming another issuer")
	}
}

func TestLocalIssuer(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/keys/" + KeyFile
	key, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v; want mode 0600", st, err)
	}
	again, err := LoadOrCreateKey(path)
	if err != nil || !again.Public().(*ecdsa.PublicKey).Equal(key.Public()) {
		t.Fatalf("second load gave another key: %v", err)
	}
	iss, err := NewIssuer(key, "")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Mint(TokenRequest{Scope: "patient/*.rs launch/patient", Patient: "p1", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := iss.Verifier().Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Patient != "p1" || len(pr.Scopes) != 1 || pr.Issuer != LocalIssuer {
		t.Fatalf("principal %+v", pr)
	}
	other, _ := NewIssuer(mustEC(t), "")
	if _, err := other.Verifier().Verify(context.Background(), tok); err == nil {
		t.Fatal("a token of another key was accepted")
	}
	rsaIss, err := NewIssuer(mustRSA(t), "x")
	if err != nil {
		t.Fatal(err)
	}
	tok, _ = rsaIss.Mint(TokenRequest{Scope: "system/*.cruds"})
	if _, err := rsaIss.Verifier().Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}

func mustEC(t *testing.T) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustRSA(t *testing.T) crypto.Signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzVerify checks that no token, however malformed, panics the verifier
// or is accepted without the right signature.
func FuzzVerify(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	iss, _ := NewIssuer(key, "")
	good, _ := iss.Mint(TokenRequest{Scope: "system/*.cruds"})
	f.Add(good)
	f.Add(b64(`{"alg":"none"}`) + "." + b64(`{"iss":"urn:hce:local"}`) + ".")
	f.Add("a.b.c")
	f.Add(strings.Repeat(".", 5))
	v := iss.Verifier()
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := v.Verify(context.Background(), tok)
		if err == nil && tok != good {
			// Only a re-encoding of the good token could verify.
			if p == nil || !strings.HasPrefix(tok, strings.Split(good, ".")[0][:4]) {
				t.Fatalf("accepted %q", tok)
			}
		}
	})
}
