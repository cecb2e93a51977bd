package main

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
	"github.com/prometheus/client_golang/prometheus"
)

// TestEarlyErrors sends raw bytes over TCP to the API served as hce serve
// serves it (listen, httpServer) and checks that what Go's HTTP server
// answers itself, before any handler, is an OperationOutcome with the
// status net/http chose, and that ordinary answers pass unchanged.
func TestEarlyErrors(t *testing.T) {
	opt := rest.Options{MaxHeaderBytes: 8 << 10}
	e := newServer(store.New(testdb.Pool(t, store.MigrateUp)), opt, prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	addr := serveLikeHCE(t, e, opt)

	get := "GET /fhir/metadata HTTP/1.1\r\n"
	tests := []struct {
		name, raw string
		status    int
		says      string // in the issue's diagnostics
	}{
		{"malformed request line", "GARBAGE\r\n\r\n", 400, "not valid HTTP/1.1"},
		{"request line without a version", "GET /fhir/metadata\r\nHost: x\r\n\r\n", 400, "not valid HTTP/1.1"},
		{"unsupported HTTP version", "GET /fhir/metadata HTTP/2.0\r\nHost: x\r\n\r\n", 505, "unsupported protocol version"},
		{"no Host", get + "\r\n", 400, "missing required Host header"},
		{"malformed Host", get + "Host: a b\r\n\r\n", 400, "malformed Host header"},
		{"malformed header line", get + "Host: x\r\nno colon here\r\n\r\n", 400, "not valid HTTP/1.1"},
		{"bad Content-Length", "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "not valid HTTP/1.1"},
		{"two Content-Lengths", "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}", 400, "not valid HTTP/1.1"},
		{"unknown Transfer-Encoding", "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "Transfer-Encoding"},
		// Over twice the limit: net/http's own 431, not the API's.
		{"headers far over the limit", get + "Host: x\r\nX-Padding: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", 431, "limit of 8192 bytes"},
		// Between the limit and twice it: the API's 431, as before.
		{"headers over the limit", get + "Host: x\r\nX-Padding: " + strings.Repeat("a", 10<<10) + "\r\n\r\n", 431, "limit of 8192 bytes"},
		{"unknown route", "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 404, ""},
		{"unsupported Expect", get + "Host: x\r\nExpect: something\r\n\r\n", 417, "only 100-continue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawExchange(t, addr, tc.raw)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
				t.Fatalf("Content-Type %q: %s", ct, body)
			}
			var oo struct {
				ResourceType string `json:"resourceType"`
				Issue        []struct{ Severity, Code, Diagnostics string }
			}
			if err := json.Unmarshal([]byte(body), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 || oo.Issue[0].Severity != "error" {
				t.Fatalf("not an OperationOutcome of one error: %q", body)
			}
			if !strings.Contains(oo.Issue[0].Diagnostics, tc.says) {
				t.Fatalf("diagnostics %q, want %q", oo.Issue[0].Diagnostics, tc.says)
			}
		})
	}
	t.Run("ordinary request", func(t *testing.T) {
		resp, body := rawExchange(t, addr, get+"Host: x\r\n\r\n")
		if resp.StatusCode != 200 || !strings.Contains(body, `"CapabilityStatement"`) {
			t.Fatalf("status %d: %.200s", resp.StatusCode, body)
		}
	})
}

// TestEarlyErrorsLeaveHandlers checks that a handler's own text/plain error
// that closes the connection is not taken for one of net/http's.
func TestEarlyErrorsLeaveHandlers(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "400 Bad Request")
	})
	addr := serveLikeHCE(t, h, rest.Options{})
	resp, body := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || body != "400 Bad Request" {
		t.Fatalf("rewritten: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// serveLikeHCE serves h on a loopback port as hce serve does and returns
// the address.
func serveLikeHCE(t *testing.T, h http.Handler, opt rest.Options) string {
	t.Helper()
	ln, err := listen("127.0.0.1:0", opt)
	if err != nil {
		t.Fatal(err)
	}
	srv := httpServer(h, opt)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// rawExchange writes raw to a new connection to addr and reads one
// response.
func rawExchange(t *testing.T, addr, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(conn, raw) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return resp, string(b)
}
