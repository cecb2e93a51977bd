package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestTracingOnlyWhenConfigured checks that without a tracer provider the
// pgx tracer is not attached, and that with one a read by id gives a
// server span for the request and a client span for its statement.
func TestTracingOnlyWhenConfigured(t *testing.T) {
	url := testdb.URL(t)
	if tracing() {
		t.Fatal("tracing reported on before any tracer provider was installed")
	}
	cfg, err := poolConfig(url, dbFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConnConfig.Tracer != nil {
		t.Errorf("pgx tracer %T attached without tracing", cfg.ConnConfig.Tracer)
	}

	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	if !tracing() {
		t.Fatal("tracing reported off with an SDK tracer provider")
	}
	if cfg, err = poolConfig(url, dbFlags{}); err != nil {
		t.Fatal(err)
	}
	if cfg.ConnConfig.Tracer == nil {
		t.Fatal("no pgx tracer with tracing on")
	}
	ctx := context.Background()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := store.MigrateUp(ctx, pool); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newServer(store.New(pool), rest.Options{}, prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL+"/fhir/Patient", "application/fhir+json", strings.NewReader(`{"resourceType":"Patient","active":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := relativeLocationOf(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusCreated || loc == "" {
		t.Fatalf("create: %s, Location %q", resp.Status, loc)
	}
	before := len(rec.Ended())
	resp, err = http.Get(srv.URL + "/fhir/" + loc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("read: %s", resp.Status)
	}
	kinds := map[trace.SpanKind]int{}
	for _, s := range rec.Ended()[before:] {
		kinds[s.SpanKind()]++
	}
	if kinds[trace.SpanKindServer] != 1 || kinds[trace.SpanKindClient] == 0 {
		t.Errorf("spans of the read by kind: %v, want one server span and a client span for the statement", kinds)
	}
}
