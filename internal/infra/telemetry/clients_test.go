package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"digitalpost/internal/infra/telemetry"
)

// The HTTP instrumentation records the client's address and user agent on every server span,
// beside the letter the request was about (issue 23, L): exported spans carry neither.
func TestExportedSpansSayNothingAboutTheClient(t *testing.T) {
	ctx := context.Background()
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.NewTracing(ctx, exp, "test", discard())
	if err != nil {
		t.Fatal(err)
	}
	h := otelhttp.NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "http", otelhttp.WithTracerProvider(tr.Provider()))
	req := httptest.NewRequest(http.MethodGet, "/breve/4f1c", nil)
	req.RemoteAddr = "203.0.113.7:51234"
	req.Header.Set("X-Forwarded-For", "198.51.100.9")
	req.Header.Set("User-Agent", "Mozilla/5.0 (Annas bærbare)")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if err := tr.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 || len(spans[0].Attributes) == 0 {
		t.Fatalf("want one server span with its attributes, got %+v", spans)
	}
	for _, a := range spans[0].Attributes {
		v := a.Value.Emit()
		for _, client := range []string{"203.0.113.7", "51234", "198.51.100.9", "Annas bærbare"} {
			if strings.Contains(v, client) {
				t.Errorf("the span tells %s = %q", a.Key, v)
			}
		}
	}
}
