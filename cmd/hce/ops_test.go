package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/rest"
)

func TestOperationsEndpoints(t *testing.T) {
	c := testServer(t, rest.Options{})
	c.do("GET", "/healthz", nil).must(t, 200)
	c.do("GET", "/readyz", nil).must(t, 200)
	id := c.do("POST", "/fhir/Patient", patient("Ops")).must(t, 201).str("id")
	c.do("GET", "/fhir/Patient/"+id, nil).must(t, 200)
	c.do("GET", "/fhir/Patient/missing-ops", nil).must(t, 404)

	t.Run("request id", func(t *testing.T) {
		r := c.do("GET", "/fhir/metadata", nil)
		if r.header.Get("X-Request-Id") == "" {
			t.Error("no X-Request-Id header")
		}
	})
	t.Run("metrics", func(t *testing.T) {
		c.do("GET", "/admin/cluster", nil).must(t, 200)
		c.do("GET", "/metrics", nil).must(t, 200)
		req := c.do("GET", "/metrics", nil)
		text := string(req.raw)
		for _, want := range []string{
			`hce_http_requests_total{code="201",interaction="create"}`,
			`hce_http_requests_total{code="200",interaction="read"}`,
			`hce_http_requests_total{code="404",interaction="read"}`,
			`hce_http_request_duration_seconds_bucket{interaction="read",le=`,
			`hce_db_pool_connections `,
			// The operations endpoints have labels of their own.
			`hce_http_requests_total{code="200",interaction="healthz"}`,
			`hce_http_requests_total{code="200",interaction="readyz"}`,
			`hce_http_requests_total{code="200",interaction="admin-cluster"}`,
			`hce_http_requests_total{code="200",interaction="metrics"}`,
			`hce_db_pool_max_connections `,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if strings.Contains(text, `interaction="unknown"`) {
			t.Errorf("a routed request is counted as unknown:\n%s", grepLines(text, "unknown"))
		}
	})
	t.Run("cluster", func(t *testing.T) {
		r := c.do("GET", "/admin/cluster", nil).must(t, 200)
		var info struct {
			Mode              string
			PostgresVersion   string
			LocalTables       []struct{ Name string }
			DistributedTables []struct{ Name string }
		}
		if err := json.Unmarshal(r.raw, &info); err != nil {
			t.Fatal(err)
		}
		if info.PostgresVersion == "" {
			t.Errorf("no PostgreSQL version: %s", r.raw)
		}
		tables := info.LocalTables
		if info.Mode == "citus" {
			tables = info.DistributedTables
		} else if info.Mode != "plain" {
			t.Fatalf("mode %q", info.Mode)
		}
		names := []string{}
		for _, tb := range tables {
			names = append(names, tb.Name)
		}
		if !strings.Contains(strings.Join(names, ","), "resource_history") {
			t.Errorf("tables %v lack resource_history", names)
		}
	})
}

// grepLines returns the lines of text that contain word.
func grepLines(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
