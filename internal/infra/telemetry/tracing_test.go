package telemetry_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"digitalpost/internal/infra/telemetry"
)

// otlpEnv clears every variable that decides where spans go, so the machine's own settings
// cannot steer a test, then sets the ones given.
func otlpEnv(t *testing.T, set map[string]string) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED", "OTEL_RESOURCE_ATTRIBUTES",
		"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_TRACES_SAMPLER"} {
		t.Setenv(k, set[k])
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestTracingIsOffWithoutAnEndpoint(t *testing.T) {
	otlpEnv(t, nil)
	tr, err := telemetry.TracingFromEnv(context.Background(), "digitalpost-test", discard())
	if err != nil || tr.Enabled() {
		t.Fatalf("no endpoint: tracing %v, err %v; want off", tr.Enabled(), err)
	}
	if _, span := tr.Provider().Tracer("t").Start(context.Background(), "x"); span.IsRecording() {
		t.Fatal("tracing off, yet a span records")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	otlpEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"})
	if tr, err := telemetry.TracingFromEnv(context.Background(), "digitalpost-test", discard()); err != nil || tr.Enabled() {
		t.Fatalf("OTEL_SDK_DISABLED=true: tracing %v, err %v; want off", tr.Enabled(), err)
	}
}

func TestAnUnknownOTLPProtocolIsRefusedByName(t *testing.T) {
	otlpEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"})
	_, err := telemetry.TracingFromEnv(context.Background(), "digitalpost-test", discard())
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_PROTOCOL") {
		t.Fatalf("error %v, want one naming OTEL_EXPORTER_OTLP_PROTOCOL", err)
	}
}

// collected is what a fake collector received.
type collected struct {
	mu       sync.Mutex
	requests []*collectortrace.ExportTraceServiceRequest
	paths    []string
	types    []string
}

func (c *collected) add(path, contentType string, req *collectortrace.ExportTraceServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paths, c.types, c.requests = append(c.paths, path), append(c.types, contentType), append(c.requests, req)
}

// span finds a span by name in what arrived, with its service name.
func (c *collected) span(name string) (service string, attrs map[string]string, status string, found bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, req := range c.requests {
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.Resource.Attributes {
				if a.Key == "service.name" {
					service = a.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					if s.Name == name {
						attrs = map[string]string{}
						for _, a := range s.Attributes {
							attrs[a.Key] = a.Value.GetStringValue()
						}
						return service, attrs, s.Status.GetMessage(), true
					}
				}
			}
		}
	}
	return "", nil, "", false
}

// sendOneSpan starts tracing from the environment, ends one span carrying an e-mail address
// and a CPR number (as a careless error message would), and shuts down, which must flush it.
func sendOneSpan(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	tr, err := telemetry.TracingFromEnv(ctx, "digitalpost-test", discard())
	if err != nil || !tr.Enabled() {
		t.Fatalf("tracing %v, err %v; want on", tr.Enabled(), err)
	}
	_, span := tr.Provider().Tracer("t").Start(ctx, "submit letter")
	span.SetAttributes(attribute.String("digitalpost.letter_id", "3f2a9c1e-0000-4000-8000-000000000001"),
		attribute.String("note", "to anna@example.dk"))
	span.SetStatus(codes.Error, "recipient 010180-1234 refused")
	span.End()
	shutdown, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(shutdown); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func checkArrived(t *testing.T, c *collected, wantService string) {
	t.Helper()
	service, attrs, status, ok := c.span("submit letter")
	if !ok {
		t.Fatalf("the span did not arrive (requests: %d)", len(c.requests))
	}
	if service != wantService {
		t.Errorf("service.name %q, want %q", service, wantService)
	}
	if attrs["digitalpost.letter_id"] != "3f2a9c1e-0000-4000-8000-000000000001" {
		t.Errorf("the letter id did not arrive: %v", attrs)
	}
	if attrs["note"] != "to "+telemetry.Redacted || strings.Contains(status, "010180") || !strings.Contains(status, telemetry.Redacted) {
		t.Errorf("personal data left the process: note %q, status %q", attrs["note"], status)
	}
}

func TestSpansArriveAtAnOTLPCollectorOverHTTP(t *testing.T) {
	c := &collected{}
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &collectortrace.ExportTraceServiceRequest{}
		if r.Method != http.MethodPost || proto.Unmarshal(body, req) != nil {
			http.Error(w, "not an OTLP export", http.StatusBadRequest)
			return
		}
		c.add(r.URL.Path, r.Header.Get("Content-Type"), req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	defer collector.Close()
	otlpEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL})

	sendOneSpan(t)
	checkArrived(t, c, "digitalpost-test")
	if len(c.paths) == 0 || c.paths[0] != "/v1/traces" || c.types[0] != "application/x-protobuf" {
		t.Fatalf("spans went to %v as %v; want POST /v1/traces, application/x-protobuf", c.paths, c.types)
	}
}

type grpcCollector struct {
	collectortrace.UnimplementedTraceServiceServer
	c *collected
}

func (g grpcCollector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	g.c.add("grpc", "", req)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func TestSpansArriveAtAnOTLPCollectorOverGRPCWhenTheProtocolSaysSo(t *testing.T) {
	c := &collected{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, grpcCollector{c: c})
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	otlpEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + ln.Addr().String(),
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_SERVICE_NAME": "digitalpost-api-eu1"})

	sendOneSpan(t)
	checkArrived(t, c, "digitalpost-api-eu1") // OTEL_SERVICE_NAME wins over the default
}
