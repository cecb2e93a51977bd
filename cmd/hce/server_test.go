package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hce-fhir/hce/auth"
	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// uniq makes the ids and identifiers a test chooses unique to this run, so
// that the suite can run again on a shared database (HCE_TEST_DATABASE_URL).
var uniq = strconv.FormatInt(time.Now().UnixNano()%1e12, 36)

// testServer starts HCE over real HTTP on the test database, with
// authentication on: the server accepts tokens of a key made for the test
// binary, and the client sends one with system/*.cruds. So do hce load and
// hce verify run by the test, through HCE_TOKEN.
func testServer(t *testing.T, opt rest.Options) *client {
	t.Helper()
	return testServerOn(t, testdb.Pool(t, store.MigrateUp), opt)
}

// testServerOn is testServer on the database of pool, as it is.
func testServerOn(t *testing.T, pool *pgxpool.Pool, opt rest.Options) *client {
	t.Helper()
	return testServerWith(t, store.New(pool), nil, opt)
}

// testServerWith is testServer on st, with the reconcile loop rec (or nil)
// in /admin/cluster and the metrics.
func testServerWith(t *testing.T, st *store.Store, rec *store.Reconciler, opt rest.Options) *client {
	t.Helper()
	iss := testIssuer(t)
	if opt.Auth == nil {
		opt.Auth = iss.Verifier()
	}
	token, err := iss.Mint(auth.TokenRequest{Scope: "system/*.cruds", TTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HCE_TOKEN", token)
	e := newServerWith(st, rec, opt, prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &client{t: t, base: srv.URL, token: token}
}

var (
	issuerOnce sync.Once
	issuer     *auth.Issuer
	issuerErr  error
)

// testIssuer is the token issuer of the test binary, with a key generated
// for it.
func testIssuer(t *testing.T) *auth.Issuer {
	t.Helper()
	issuerOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			issuerErr = err
			return
		}
		issuer, issuerErr = auth.NewIssuer(key, "")
	})
	if issuerErr != nil {
		t.Fatal(issuerErr)
	}
	return issuer
}

// client is a small FHIR client for the tests.
type client struct {
	t     *testing.T
	base  string
	token string // bearer token sent with every request, if any
}

// response is a decoded HTTP response.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends a request; body may be nil, a string or a value to encode as JSON.
// Headers come as name, value pairs; an empty value removes the header.
func (c *client) do(method, path string, body any, headers ...string) *response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.send(req)
}

// send sends a prepared request and decodes the response.
func (c *client) send(req *http.Request) *response {
	c.t.Helper()
	method, path := req.Method, req.URL.Path
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	r := &response{status: resp.StatusCode, header: resp.Header}
	if r.raw, err = io.ReadAll(resp.Body); err != nil {
		c.t.Fatal(err)
	}
	if len(r.raw) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		d := json.NewDecoder(bytes.NewReader(r.raw))
		d.UseNumber()
		if err := d.Decode(&r.body); err != nil {
			c.t.Fatalf("%s %s: response is not JSON: %v\n%s", method, path, err, r.raw)
		}
	}
	return r
}

// must fails the test unless the response has the wanted status.
func (r *response) must(t *testing.T, want int) *response {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body: %s", r.status, want, r.raw)
	}
	return r
}

// str returns the string at a dotted path of the body ("meta.versionId").
func (r *response) str(path string) string {
	var cur any = r.body
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[k]
	}
	switch v := cur.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// outcome asserts the body is an OperationOutcome whose first issue mentions
// each of the words, and returns its diagnostics.
func (r *response) outcome(t *testing.T, words ...string) string {
	t.Helper()
	if r.str("resourceType") != "OperationOutcome" {
		t.Fatalf("want an OperationOutcome, got %s", r.raw)
	}
	issues, _ := r.body["issue"].([]any)
	if len(issues) == 0 {
		t.Fatalf("OperationOutcome without issues: %s", r.raw)
	}
	text := string(r.raw)
	for _, w := range words {
		if !strings.Contains(text, w) {
			t.Errorf("OperationOutcome does not mention %q: %s", w, r.raw)
		}
	}
	return text
}

func patient(family string) map[string]any {
	return map[string]any{"resourceType": "Patient", "active": true,
		"name": []any{map[string]any{"family": family, "given": []any{"Ana"}}}, "birthDate": "1970-01-01"}
}
