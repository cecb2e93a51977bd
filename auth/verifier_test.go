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
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/hce-fhir/hce/internal/testkeys"
)

// tokenClaims are valid claims of a token of p, overridden by extra (nil
// removes one).
func tokenClaims(p *testkeys.IdP, extra map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": p.URL, "aud": "fhir", "sub": "u1", "exp": now.Add(time.Hour).Unix(),
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
	p := testkeys.NewIdP(t)
	ec := p.Add(t, "ec1", false)
	rs := p.Add(t, "rs1", true)
	ctx := context.Background()
	md, err := Discover(ctx, http.DefaultClient, p.URL)
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(p.URL, "fhir", NewKeySet(md.JWKSURI, nil))
	now := time.Now()
	good := testkeys.Sign(t, ec, "ec1", tokenClaims(p, nil))
	parts := strings.Split(good, ".")

	hmac, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("a-shared-secret-that-is-long-enough")},
		(&jose.SignerOptions{}).WithHeader("kid", "ec1"))
	hsTok, _ := jwt.Signed(hmac).Claims(tokenClaims(p, nil)).Serialize()
	payload, _ := json.Marshal(tokenClaims(p, nil))
	tampered, _ := json.Marshal(tokenClaims(p, map[string]any{"scope": "system/*.cruds"}))

	tests := []struct {
		name   string
		token  string
		reason string // empty: valid
	}{
		{"ES256", good, ""},
		{"RS256", testkeys.Sign(t, rs, "rs1", tokenClaims(p, nil)), ""},
		{"aud list", testkeys.Sign(t, ec, "ec1", tokenClaims(p, map[string]any{"aud": []string{"other", "fhir"}})), ""},
		{"small skew", testkeys.Sign(t, ec, "ec1", tokenClaims(p, map[string]any{"exp": now.Add(-30 * time.Second).Unix()})), ""},
		{"expired", testkeys.Sign(t, ec, "ec1", tokenClaims(p, map[string]any{"exp": now.Add(-5 * time.Minute).Unix()})), "expired"},
		{"not yet", testkeys.Sign(t, ec, "ec1", tokenClaims(p, map[string]any{"nbf": now.Add(5 * time.Minute).Unix()})), "not valid yet"},
		{"no exp", testkeys.Sign(t, ec, "ec1", tokenClaims(p, map[string]any{"exp": nil})), "no exp"},
		{"wrong aud", testkeys.Sign(t, ec, "ec1", tokenClaims(p, map[string]any{"aud": "other"})), "audience"},
		{"wrong iss", testkeys.Sign(t, ec, "ec1", tokenClaims(p, map[string]any{"iss": "https://evil.example"})), "issuer"},
		{"alg none", b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(string(payload)) + ".", "malformed"},
		{"HS256", hsTok, "malformed"},
		{"tampered", parts[0] + "." + b64(string(tampered)) + "." + parts[2], "signature"},
		{"wrong key kind", func() string { // RS256 header over an EC kid
			tok := testkeys.Sign(t, rs, "ec1", tokenClaims(p, nil))
			return tok
		}(), "algorithm"},
		{"unknown kid", testkeys.Sign(t, ec, "nope", tokenClaims(p, nil)), "unknown key"},
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
	p := testkeys.NewIdP(t)
	old := p.Add(t, "k1", false)
	ks := NewKeySet(p.URL+"/jwks", nil)
	ks.MinRefresh = time.Second // long enough for the flood below on a busy machine
	v := NewVerifier(p.URL, "fhir", ks)
	ctx := context.Background()
	if _, err := v.Verify(ctx, testkeys.Sign(t, old, "k1", tokenClaims(p, nil))); err != nil {
		t.Fatal(err)
	}
	if n := p.Fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
	// The issuer rotates in a new key: the unknown kid makes the set refetch,
	// but only once per MinRefresh.
	time.Sleep(1100 * time.Millisecond)
	next := p.Add(t, "k2", true)
	if _, err := v.Verify(ctx, testkeys.Sign(t, next, "k2", tokenClaims(p, nil))); err != nil {
		t.Fatalf("rotated-in key: %v", err)
	}
	for range 20 {
		if _, err := v.Verify(ctx, testkeys.Sign(t, next, "made-up", tokenClaims(p, nil))); err == nil {
			t.Fatal("made-up kid accepted")
		}
	}
	if n := p.Fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after a flood of unknown kids, want 2 (rate-limited)", n)
	}
	// The old key is retired: once the limit allows a refetch, it is gone.
	p.Remove("k1")
	time.Sleep(1100 * time.Millisecond)
	_, _ = v.Verify(ctx, testkeys.Sign(t, next, "made-up", tokenClaims(p, nil)))
	if _, err := v.Verify(ctx, testkeys.Sign(t, old, "k1", tokenClaims(p, nil))); err != nil {
		t.Logf("k1 still cached until the set is refreshed: %v", err)
	}
	if _, err := v.Verify(ctx, testkeys.Sign(t, next, "k2", tokenClaims(p, nil))); err != nil {
		t.Fatal(err)
	}
}

func TestDiscoverChecksIssuer(t *testing.T) {
	p := testkeys.NewIdP(t)
	if _, err := Discover(context.Background(), http.DefaultClient, p.URL+"/"); err == nil {
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
