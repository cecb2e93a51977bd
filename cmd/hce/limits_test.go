package main

import (
	"context"
	"io"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/search"
)

// TestSearchLimits checks every search limit over HTTP, just at and just
// over it, with small configured limits: at the limit the search answers
// 200; over it, 400 with a too-costly OperationOutcome naming the
// parameter and the limit, by GET, by POST _search, and in the criteria
// of conditional interactions and of a transaction's conditional
// references.
func TestSearchLimits(t *testing.T) {
	c := testServer(t, rest.Options{MaxCount: 10, Limits: search.Limits{
		Params: 3, Values: 3, SortKeys: 2, ChainDepth: 1, HasDepth: 1, Includes: 2, Iterate: 1}})
	tests := []struct {
		name       string
		at, over   string // Patient searches
		expr, says string // the parameter named, and the limit stated
		criteria   bool   // also valid as conditional criteria
	}{ // Z stands for a value unique to the run, which no stored resource has
		{"parameters", "family=Za&family=Zb&gender=male", "family=Za&family=Zb&family=Zc&gender=male", "family", "at most 3", true},
		{"OR values", "family=Za,Zb,Zc", "family=Za,Zb,Zc,Zd", "family", "at most 3", true},
		{"sort keys", "_sort=family,given", "_sort=family,given,birthdate", "_sort", "at most 2", false},
		{"chain depth", "organization.name=Zx", "organization.partof.name=Zx", "organization.partof.name", "at most 1", true},
		{"_has depth", "_has:Observation:patient:code=Zx", "_has:Observation:patient:_has:AuditEvent:entity:agent=Zu", "_has:Observation:patient:_has:AuditEvent:entity:agent", "at most 1", true},
		{"includes", "_include=Patient:organization&_revinclude=Observation:patient", "_include=Patient:organization&_include=Patient:general-practitioner&_revinclude=Observation:patient", "_revinclude", "at most 2", false},
		{"iterate", "_include:iterate=Patient:organization", "_include:iterate=Patient:organization&_include:iterate=Organization:partof", "_include:iterate", "at most 1", false},
	}
	form := []string{"Content-Type", "application/x-www-form-urlencoded"}
	tooCostly := func(t *testing.T, r *response, expr, says string) {
		t.Helper()
		r.must(t, 400).outcome(t, `"too-costly"`, `"`+expr+`"`, says)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.at, tt.over = strings.ReplaceAll(tt.at, "Z", "lim"+uniq), strings.ReplaceAll(tt.over, "Z", "lim"+uniq)
			c.do("GET", "/fhir/Patient?"+tt.at, nil).must(t, 200)
			tooCostly(t, c.do("GET", "/fhir/Patient?"+tt.over, nil), tt.expr, tt.says)
			c.do("POST", "/fhir/Patient/_search", tt.at, form...).must(t, 200)
			tooCostly(t, c.do("POST", "/fhir/Patient/_search", tt.over, form...), tt.expr, tt.says)
			// A query string and a form body count together.
			first, rest, _ := strings.Cut(tt.over, "&")
			if rest != "" {
				tooCostly(t, c.do("POST", "/fhir/Patient/_search?"+first, rest, form...), tt.expr, tt.says)
			}
			if !tt.criteria {
				return
			}
			p := patient("Limits" + uniq)
			c.do("POST", "/fhir/Patient", p, "If-None-Exist", tt.at).must(t, 201)
			tooCostly(t, c.do("POST", "/fhir/Patient", p, "If-None-Exist", tt.over), tt.expr, tt.says)
			tooCostly(t, c.do("PUT", "/fhir/Patient?"+tt.over, p), tt.expr, tt.says)
			tooCostly(t, c.do("DELETE", "/fhir/Patient?"+tt.over, nil), tt.expr, tt.says)
			obs := observation("Patient?" + tt.over)
			tx := bundleOf("transaction", post("urn:uuid:1", obs))
			tooCostly(t, c.do("POST", "/fhir", tx), tt.expr, tt.says)
			tx = bundleOf("transaction", post("urn:uuid:2", p, "ifNoneExist", tt.over))
			tooCostly(t, c.do("POST", "/fhir", tx), tt.expr, tt.says)
		})
	}
	t.Run("_count over the maximum", func(t *testing.T) {
		r := c.do("GET", "/fhir/Patient?_count=11", nil).must(t, 200)
		if !strings.Contains(string(r.raw), "maximum page size") {
			t.Errorf("no warning that _count was lowered: %s", r.raw)
		}
		c.do("GET", "/fhir/Patient?_count=10", nil, "Prefer", "handling=strict").must(t, 200)
		tooCostly(t, c.do("GET", "/fhir/Patient?_count=11", nil, "Prefer", "handling=strict"), "_count", "maximum page size 10")
	})
	t.Run("the default limits", func(t *testing.T) {
		skipOnCitus(t, "100 ANDed parameters planned on every shard of a Citus cluster on one machine outlast the default time budget")
		d := testServer(t, rest.Options{})
		names := url.Values{"family": make([]string, 100)}
		for i := range names["family"] {
			names["family"][i] = "f"
		}
		d.do("GET", "/fhir/Patient?"+names.Encode(), nil).must(t, 200)
		names.Add("family", "f")
		tooCostly(t, d.do("GET", "/fhir/Patient?"+names.Encode(), nil), "family", "the search has 101 parameters; at most 100 are allowed (family is given 101 times)")
	})
}

// TestServeSearchFlags checks that hce serve refuses contradictory search
// settings, from flags and from their environment twins, before it opens
// the database.
func TestServeSearchFlags(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"budget not below the statement timeout", []string{"--search-timeout", "30s"}, nil, "--search-timeout (30s) must be shorter than --statement-timeout (30s)"},
		{"the same from the environment", nil, map[string]string{"HCE_SEARCH_TIMEOUT": "1m", "HCE_STATEMENT_TIMEOUT": "45s"}, "--search-timeout (1m0s) must be shorter than --statement-timeout (45s)"},
		{"no budget", []string{"--search-timeout", "0s"}, nil, "--search-timeout must be positive"},
		{"negative limit", []string{"--max-or-values", "-1"}, nil, "--max-or-values must not be negative"},
		{"negative limit from the environment", nil, map[string]string{"HCE_MAX_PARAMS": "-5"}, "--max-params must not be negative"},
		{"negative pool", []string{"--pool-size", "-1"}, nil, "--pool-size must not be negative"},
		{"negative concurrency", nil, map[string]string{"HCE_SEARCH_CONCURRENCY": "-1"}, "--search-concurrency must not be negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			err := serveCmd(context.Background(), tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

func TestSearchConcurrencyDefault(t *testing.T) {
	for _, tt := range []struct{ set, pool, want int }{
		{0, 8, 6}, {0, 16, 12}, {0, 64, 48}, {0, 4, 2}, {0, 2, 1}, {0, 1, 1}, {5, 8, 5}, {20, 8, 20},
	} {
		if got := searchConcurrency(tt.set, tt.pool); got != tt.want {
			t.Errorf("searchConcurrency(%d, %d) = %d, want %d", tt.set, tt.pool, got, tt.want)
		}
	}
	if n := defaultPoolSize(); n < 8 || n < 2*runtime.NumCPU() {
		t.Errorf("defaultPoolSize() = %d on %d cores", n, runtime.NumCPU())
	}
}

func TestPoolConfig(t *testing.T) {
	const url = "postgres://u@127.0.0.1:5432/db?pool_max_conns=3"
	for _, tt := range []struct{ size, want int }{{0, 3}, {7, 7}} {
		cfg, err := poolConfig(url, dbFlags{poolSize: tt.size, statementTimeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if int(cfg.MaxConns) != tt.want || cfg.ConnConfig.BuildContextWatcherHandler == nil ||
			cfg.ConnConfig.RuntimeParams["statement_timeout"] != "30000" {
			t.Errorf("--pool-size %d: pool of %d (want %d), cancel handler set %v, statement_timeout %q", tt.size, cfg.MaxConns, tt.want,
				cfg.ConnConfig.BuildContextWatcherHandler != nil, cfg.ConnConfig.RuntimeParams["statement_timeout"])
		}
		if jit := cfg.ConnConfig.RuntimeParams["jit"]; jit != "off" {
			t.Errorf("jit %q, want off by default", jit)
		}
	}
	cfg, err := poolConfig(url+"&jit=on", dbFlags{})
	if err != nil || cfg.ConnConfig.RuntimeParams["jit"] != "on" {
		t.Errorf("?jit=on in the URL: %v %q", err, cfg.ConnConfig.RuntimeParams["jit"])
	}
}
