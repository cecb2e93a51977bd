package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// setupTracing installs an OpenTelemetry tracer provider configured by the
// standard OTEL_* variables. Tracing stays off (the no-op global provider)
// unless an exporter or endpoint is configured, or when OTEL_SDK_DISABLED=true.
func setupTracing(ctx context.Context) (func(), error) {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") || !tracingConfigured() {
		return func() {}, nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("opentelemetry: %w", err)
	}
	if os.Getenv("OTEL_SERVICE_NAME") == "" {
		os.Setenv("OTEL_SERVICE_NAME", "hce")
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("opentelemetry: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return func() { _ = tp.Shutdown(context.Background()) }, nil
}

// tracing reports whether spans go anywhere: setupTracing installed an SDK
// tracer provider. Otherwise the global provider is OpenTelemetry's no-op
// and the Echo middleware and the pgx tracer would build, on every request
// and statement, spans that are dropped; they are attached only when it
// reports true.
func tracing() bool {
	_, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider)
	return ok
}

func tracingConfigured() bool {
	for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}
