package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/auth"
	"github.com/hce-fhir/hce/embedpg"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// formerServerErrors lists the requests a hostile-input run answered with
// a 5xx, and the status each gets now (TestHostileInput and
// TestDatabaseDown send them).
var formerServerErrors = []struct{ request, before, now string }{
	{"create with \\u0000 in a string", "500 (PostgreSQL: invalid byte sequence)", "400 OperationOutcome, invalid"},
	{"PATCH introducing \\u0000", "500", "400 OperationOutcome, invalid"},
	{"search value with %00", "500", "400 OperationOutcome naming the parameter"},
	{"transaction while the database is down", "500", "503 + Retry-After, transient"},
	{"batch entry while the database is down", "500 in the entry", "503 in the entry's response"},
}

// TestDatabaseDown stops the server's own PostgreSQL and checks that every
// interaction that needs it answers 503 with Retry-After and an
// OperationOutcome, and that no database error text or address reaches the
// client.
func TestDatabaseDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own PostgreSQL")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pg, err := embedpg.Start(ctx, dir, nil)
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = pg.Stop(ctx)
		}
	})
	pool, err := pgxpool.New(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := store.MigrateUp(ctx, pool); err != nil {
		t.Fatal(err)
	}
	iss := testIssuer(t)
	token, err := iss.Mint(auth.TokenRequest{Scope: "system/*.cruds", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e := newServer(store.New(pool), rest.Options{Auth: iss.Verifier()}, prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	c := &client{t: t, base: srv.URL, token: token}
	c.do("PUT", "/fhir/Patient/down-1", map[string]any{"resourceType": "Patient", "id": "down-1"}).must(t, 201)

	if err := pg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = true

	patientBody := `{"resourceType":"Patient","id":"down-1","active":true}`
	tx := func(kind string) string {
		return `{"resourceType":"Bundle","type":"` + kind + `","entry":[` +
			`{"fullUrl":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},` +
			`{"request":{"method":"GET","url":"Patient/down-1"}}]}`
	}
	address := regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+|localhost:\d+|\.s\.PGSQL|dial |SQLSTATE|connect:|pgx|postgres`)
	tests := []struct {
		name, method, path, body, contentType string
		entries                               bool // a batch: the entries carry the 503
	}{
		{"read", "GET", "/fhir/Patient/down-1", "", "", false},
		{"vread", "GET", "/fhir/Patient/down-1/_history/1", "", "", false},
		{"create", "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, "", false},
		{"conditional create", "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, "If-None-Exist", false},
		{"update", "PUT", "/fhir/Patient/down-1", patientBody, "", false},
		{"conditional update", "PUT", "/fhir/Patient?identifier=x|1", `{"resourceType":"Patient"}`, "", false},
		{"patch", "PATCH", "/fhir/Patient/down-1", `[{"op":"replace","path":"/active","value":false}]`, "application/json-patch+json", false},
		{"delete", "DELETE", "/fhir/Patient/down-1", "", "", false},
		{"conditional delete", "DELETE", "/fhir/Patient?identifier=x|1", "", "", false},
		{"search", "GET", "/fhir/Patient?name=x", "", "", false},
		{"POST _search", "POST", "/fhir/Patient/_search", "name=x", "application/x-www-form-urlencoded", false},
		{"compartment search", "GET", "/fhir/Patient/down-1/Observation", "", "", false},
		{"history instance", "GET", "/fhir/Patient/down-1/_history", "", "", false},
		{"history type", "GET", "/fhir/Patient/_history", "", "", false},
		{"history system", "GET", "/fhir/_history", "", "", false},
		{"everything", "GET", "/fhir/Patient/down-1/$everything", "", "", false},
		{"transaction", "POST", "/fhir", tx("transaction"), "", false},
		{"batch", "POST", "/fhir", tx("batch"), "", true},
		{"NDJSON", "POST", "/fhir", `{"resourceType":"Patient"}` + "\n", "application/fhir+ndjson", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			switch tc.contentType {
			case "":
			case "If-None-Exist":
				h = []string{"If-None-Exist", "identifier=x|1"}
			default:
				h = []string{"Content-Type", tc.contentType}
			}
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := c.do(tc.method, tc.path, body, h...)
			if address.Match(r.raw) {
				t.Errorf("the response leaks database details: %s", r.raw)
			}
			if tc.entries {
				r.must(t, 200)
				if n := strings.Count(string(r.raw), `"status":"503`); n != 2 {
					t.Fatalf("want both entries 503, got %s", r.raw)
				}
				return
			}
			r.must(t, 503).outcome(t)
			if r.header.Get("Retry-After") == "" {
				t.Fatal("no Retry-After")
			}
		})
	}
	c.do("GET", "/healthz", nil).must(t, 200)
	c.do("GET", "/readyz", nil).must(t, 503)
	// $validate needs no database.
	c.do("POST", "/fhir/Patient/$validate", `{"resourceType":"Patient"}`).must(t, 200)
	for _, f := range formerServerErrors {
		t.Logf("%-45s before %-40s now %s", f.request, f.before, f.now)
	}
}
