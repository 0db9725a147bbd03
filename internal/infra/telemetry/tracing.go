package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Tracing is the process's OpenTelemetry tracer provider. A nil *Tracing is tracing switched
// off: nothing is instrumented, so it costs nothing.
type Tracing struct {
	provider *sdktrace.TracerProvider
}

// Propagator is W3C trace context alone. Baggage is left out on purpose: the Temporal
// interceptor would copy it into workflow headers, which the payload codec does not seal,
// and a caller of the API could put anything in it.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// TracingFromEnv starts tracing when the standard OpenTelemetry variables ask for it:
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) names the collector,
// OTEL_EXPORTER_OTLP_PROTOCOL (or …_TRACES_PROTOCOL) picks grpc or http/protobuf (the
// default) or http/json, and OTEL_SERVICE_NAME overrides defaultService. The exporters and
// the SDK read the rest themselves (headers, TLS, timeout, OTEL_TRACES_SAMPLER, OTEL_BSP_*,
// OTEL_RESOURCE_ATTRIBUTES). Without an endpoint, or with OTEL_SDK_DISABLED=true, it returns
// nil: tracing is off.
func TracingFromEnv(ctx context.Context, defaultService string, log *slog.Logger) (*Tracing, error) {
	if off, _ := strconv.ParseBool(os.Getenv("OTEL_SDK_DISABLED")); off {
		return nil, nil
	}
	if firstEnv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		return nil, nil
	}
	var exporter sdktrace.SpanExporter
	var err error
	switch protocol := firstEnv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"); protocol {
	case "grpc":
		exporter, err = otlptracegrpc.New(ctx)
	case "", "http/protobuf", "http/json":
		exporter, err = otlptracehttp.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is not a protocol; use grpc, http/protobuf or http/json", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	return NewTracing(ctx, exporter, defaultService, log)
}

// NewTracing sends spans to exporter in batches, each redacted on its way out, and makes
// this provider and the W3C propagator the process's globals (the providers' HTTP clients
// find them there). A failed export is logged to log as a warning rather than printed on
// stderr in a shape no log shipper reads. Tests pass an in-memory exporter; production comes
// through TracingFromEnv.
func NewTracing(ctx context.Context, exporter sdktrace.SpanExporter, defaultService string, log *slog.Logger) (*Tracing, error) {
	// Later sources win: our default name, then what the environment says.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", defaultService)),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(redactingExporter{next: exporter}), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("OpenTelemetry", "err", err) }))
	return &Tracing{provider: tp}, nil
}

// Enabled tells whether spans go anywhere.
func (t *Tracing) Enabled() bool { return t != nil }

// Provider is the tracer provider; a no-op one when tracing is off.
func (t *Tracing) Provider() trace.TracerProvider {
	if t == nil {
		return noop.NewTracerProvider()
	}
	return t.provider
}

// ForceFlush exports the spans that ended so far.
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.ForceFlush(ctx)
}

// Shutdown exports what is left and stops; call it before the process exits, or the last
// batch is lost.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return strings.ToLower(v)
		}
	}
	return ""
}

// redactingExporter takes personal data out of span names, attributes, events and status
// before they leave the process. Our spans carry ids only; what it catches is text we do not
// write, above all error messages the Temporal interceptor records on failed activities.
type redactingExporter struct{ next sdktrace.SpanExporter }

func (r redactingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	clean := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		clean[i] = redactedSpan{ReadOnlySpan: s}
	}
	return r.next.ExportSpans(ctx, clean)
}

func (r redactingExporter) Shutdown(ctx context.Context) error { return r.next.Shutdown(ctx) }

// redactedSpan shows a span with its texts redacted.
type redactedSpan struct{ sdktrace.ReadOnlySpan }

func (s redactedSpan) Name() string { return Redact(s.ReadOnlySpan.Name()) }

func (s redactedSpan) Attributes() []attribute.KeyValue {
	return redactAttributes(s.ReadOnlySpan.Attributes())
}

func (s redactedSpan) Events() []sdktrace.Event {
	events := s.ReadOnlySpan.Events()
	out := make([]sdktrace.Event, len(events))
	for i, e := range events {
		e.Name = Redact(e.Name)
		e.Attributes = redactAttributes(e.Attributes)
		out[i] = e
	}
	return out
}

func (s redactedSpan) Status() sdktrace.Status {
	st := s.ReadOnlySpan.Status()
	st.Description = Redact(st.Description)
	return st
}

// clientAttributes say who made a request: the HTTP instrumentation records them on every
// server span, beside the letter the request was about. Together they tie a citizen's
// browser (or a sender's machine) to the letters it touched, in a store kept for operators,
// not for that; they are dropped.
var clientAttributes = map[attribute.Key]bool{
	"client.address": true, "client.port": true, "network.peer.address": true, "network.peer.port": true,
	"user_agent.original": true, "http.client_ip": true, "http.user_agent": true, "net.peer.ip": true,
	"net.sock.peer.addr": true, "net.sock.peer.port": true,
}

func redactAttributes(attrs []attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(attrs))
	for _, a := range attrs {
		if clientAttributes[a.Key] {
			continue
		}
		switch a.Value.Type() {
		case attribute.STRING:
			a.Value = attribute.StringValue(Redact(a.Value.AsString()))
		case attribute.STRINGSLICE:
			list := a.Value.AsStringSlice()
			for j := range list {
				list[j] = Redact(list[j])
			}
			a.Value = attribute.StringSliceValue(list)
		}
		out = append(out, a)
	}
	return out
}
