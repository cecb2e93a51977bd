package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/hce-fhir/hce/audit"
	"github.com/hce-fhir/hce/auth"
	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/internal/testkeys"
	"github.com/hce-fhir/hce/load"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
	"github.com/hce-fhir/hce/verify"
	"github.com/prometheus/client_golang/prometheus"
)

const testAudience = "hce-test"

// testIDP is an identity provider for the tests whose keys rotate at
// will: tokens are signed with the newest.
type testIDP struct {
	*testkeys.IdP
	t   *testing.T
	kid string // the key new tokens are signed with
}

func newTestIDP(t *testing.T) *testIDP {
	p := &testIDP{IdP: testkeys.NewIdP(t), t: t}
	p.rotate("k1", false)
	return p
}

// rotate publishes a new key and signs new tokens with it.
func (p *testIDP) rotate(kid string, rsaKey bool) {
	p.Add(p.t, kid, rsaKey)
	p.kid = kid
}

// token signs a token with the current key; extra claims override the
// defaults (nil removes one).
func (p *testIDP) token(scope, patient string, extra map[string]any) string {
	p.t.Helper()
	now := time.Now()
	c := map[string]any{"iss": p.URL, "aud": testAudience, "sub": "user-1", "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "scope": scope, "fhirUser": "Practitioner/pr-1", "client_id": "test-app"}
	if patient != "" {
		c["patient"] = patient
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return testkeys.Sign(p.t, p.Key(p.kid), p.kid, c)
}

// authServer is HCE with authentication against an IdP and audit on.
type authServer struct {
	*client
	idp   *testIDP
	audit *audit.Writer
	st    *store.Store
}

func newAuthServer(t *testing.T, opt rest.Options) *authServer {
	t.Helper()
	p := newTestIDP(t)
	md, err := auth.Discover(context.Background(), http.DefaultClient, p.URL)
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeySet(md.JWKSURI, nil)
	keys.MinRefresh = 0
	opt.Auth = auth.NewVerifier(md.Issuer, testAudience, keys)
	opt.SMART = md
	pool := testdb.Pool(t, store.MigrateUp)
	st := store.New(pool)
	w := audit.NewWriter(auditSink(st), audit.Options{Interval: 20 * time.Millisecond})
	t.Cleanup(func() { w.Close(context.Background()) })
	opt.Audit = w
	srv := httptest.NewServer(newServer(st, opt, prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return &authServer{client: &client{t: t, base: srv.URL}, idp: p, audit: w, st: st}
}

// as returns a client sending token.
func (s *authServer) as(token string) *client {
	return &client{t: s.t, base: s.base, token: token}
}

// with returns a client with a token of the given scopes and patient.
func (s *authServer) with(scope, patient string) *client {
	return s.as(s.idp.token(scope, patient, nil))
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestAuthentication(t *testing.T) {
	s := newAuthServer(t, rest.Options{})
	admin := s.with("system/*.cruds", "")
	id := admin.do("POST", "/fhir/Patient", patient("Auth"+uniq)).must(t, 201).str("id")
	good := s.idp.token("user/*.rs", "", nil)
	parts := strings.Split(good, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	_ = json.Unmarshal(claims, &m)
	m["scope"] = "system/*.cruds"
	forged, _ := json.Marshal(m)
	hmac, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
		(&jose.SignerOptions{}).WithHeader("kid", "k1"))
	hsTok, _ := jwt.Signed(hmac).Claims(m).Serialize()

	tests := []struct {
		name   string
		header string // Authorization
		want   int
		error  string // WWW-Authenticate error code
	}{
		{"valid", "Bearer " + good, 200, ""},
		{"no token", "", 401, ""},
		{"basic auth", "Basic dXNlcjpwdw==", 401, "invalid_request"},
		{"expired", "Bearer " + s.idp.token("user/*.rs", "", map[string]any{"exp": time.Now().Add(-10 * time.Minute).Unix()}), 401, "invalid_token"},
		{"not yet valid", "Bearer " + s.idp.token("user/*.rs", "", map[string]any{"nbf": time.Now().Add(10 * time.Minute).Unix()}), 401, "invalid_token"},
		{"wrong audience", "Bearer " + s.idp.token("user/*.rs", "", map[string]any{"aud": "another-api"}), 401, "invalid_token"},
		{"wrong issuer", "Bearer " + s.idp.token("user/*.rs", "", map[string]any{"iss": "https://elsewhere.example"}), 401, "invalid_token"},
		{"alg none", "Bearer " + b64url(`{"alg":"none","typ":"JWT"}`) + "." + parts[1] + ".", 401, "invalid_token"},
		{"HS256", "Bearer " + hsTok, 401, "invalid_token"},
		{"tampered", "Bearer " + parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2], 401, "invalid_token"},
		{"garbage", "Bearer not-a-jwt", 401, "invalid_token"},
		{"valid, no scope for Patient", "Bearer " + s.idp.token("user/Observation.rs", "", nil), 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do("GET", "/fhir/Patient/"+id, nil, "Authorization", tt.header).must(t, tt.want)
			if tt.want == 200 {
				return
			}
			r.outcome(t)
			if tt.want == 401 {
				ch := r.header.Get("WWW-Authenticate")
				if !strings.HasPrefix(ch, "Bearer") || (tt.error != "" && !strings.Contains(ch, `error="`+tt.error+`"`)) {
					t.Fatalf("WWW-Authenticate %q, want Bearer with error %q", ch, tt.error)
				}
			}
		})
	}

	t.Run("public discovery", func(t *testing.T) {
		cs := s.do("GET", "/fhir/metadata", nil).must(t, 200)
		rest0 := cs.body["rest"].([]any)[0].(map[string]any)
		sec, _ := json.Marshal(rest0["security"])
		if !strings.Contains(string(sec), "SMART-on-FHIR") || !strings.Contains(string(sec), s.idp.URL+"/token") {
			t.Fatalf("rest.security %s", sec)
		}
		for _, path := range []string{"/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"} {
			sc := s.do("GET", path, nil).must(t, 200)
			if sc.str("issuer") != s.idp.URL || sc.str("authorization_endpoint") != s.idp.URL+"/authorize" {
				t.Fatalf("%s: %s", path, sc.raw)
			}
		}
		s.do("GET", "/healthz", nil).must(t, 200)
	})

	t.Run("operations endpoints", func(t *testing.T) {
		for _, path := range []string{"/admin/cluster", "/metrics"} {
			s.do("GET", path, nil).must(t, 401)
			s.with("user/*.cruds", "").do("GET", path, nil).must(t, 403)
			s.with("system/Patient.cruds", "").do("GET", path, nil).must(t, 403)
			s.with("system/*.rs", "").do("GET", path, nil).must(t, 200)
			admin.do("GET", path, nil).must(t, 200)
		}
	})

	t.Run("key rotation", func(t *testing.T) {
		s.idp.rotate("k2", true) // an RS256 key the server has not seen
		s.with("user/*.rs", "").do("GET", "/fhir/Patient/"+id, nil).must(t, 200)
		s.as(good).do("GET", "/fhir/Patient/"+id, nil).must(t, 200) // the old key is still published
		s.idp.Remove("k1")
		s.idp.rotate("k3", false) // an unknown kid makes the server fetch the set without k1
		s.with("user/*.rs", "").do("GET", "/fhir/Patient/"+id, nil).must(t, 200)
		s.as(good).do("GET", "/fhir/Patient/"+id, nil).must(t, 401)
	})

	t.Run("CORS preflight", func(t *testing.T) {
		c := newAuthServer(t, rest.Options{CORSOrigins: []string{"https://app.example"}})
		r := c.do("OPTIONS", "/fhir/Patient", nil, "Origin", "https://app.example",
			"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			!strings.Contains(strings.ToLower(r.header.Get("Access-Control-Allow-Headers")), "authorization") {
			t.Fatalf("preflight: %d %v", r.status, r.header)
		}
		r = c.do("OPTIONS", "/fhir/Patient", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "GET")
		if r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("an unlisted origin was allowed: %v", r.header)
		}
	})
}

// TestClientsSendToken checks that hce load and hce verify authenticate
// with --token.
func TestClientsSendToken(t *testing.T) {
	s := newAuthServer(t, rest.Options{})
	dir := t.TempDir()
	line := `{"resourceType":"Patient","active":true}` + "\n"
	if err := os.WriteFile(dir+"/p.ndjson", []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := load.Load(ctx, []string{dir}, load.Options{URL: s.base + "/fhir"}); err == nil {
		t.Fatal("a load without a token succeeded")
	}
	if _, err := load.Load(ctx, []string{dir}, load.Options{URL: s.base + "/fhir", Token: s.idp.token("system/Patient.cu", "", nil)}); err != nil {
		t.Fatal(err)
	}
	rep := verify.Run(ctx, verify.Config{BaseURL: s.base + "/fhir", Level: verify.Basic, Token: s.idp.token("system/*.cruds", "", nil)}, nil)
	for _, c := range rep.Checks {
		if strings.Contains(c.Detail, "401") || strings.Contains(c.Detail, "403") {
			t.Errorf("verify check %s: %s", c.Name, c.Detail)
		}
	}
}
