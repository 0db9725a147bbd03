package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"digitalpost/internal/clients/api"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/telemetry"
	"digitalpost/internal/infra/testenv"
)

// A letter sent from the command line can be followed from the command: the senders' API
// starts the letter's trace (it trusts no caller's trace, being public) and links it to the
// command's span; the workflow's start and the worker's activities follow in that trace. The
// command's arguments, which hold the CPR number, are in no span.
func TestACommandLineSubmissionIsLinkedFromTheLettersTrace(t *testing.T) {
	ctx := context.Background()
	exporter := tracetest.NewInMemoryExporter()
	tr, err := telemetry.NewTracing(ctx, exporter, "digitalpost-starter", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	sys := testenv.StartSystemWith(t, testenv.Options{Tracing: tr})
	if err := sys.Registry.AddSender(ctx, registry.Sender{ID: "region-midt", Organisation: "Region Midtjylland"}); err != nil {
		t.Fatal(err)
	}
	const cpr = "010180-1234"
	if _, err := sys.Registry.AddCitizen(ctx, registry.NewCitizen{CPR: cpr, Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C"}); err != nil {
		t.Fatal(err)
	}
	server, err := api.New(sys.Engine.PostOffice, sys.Engine.Config, sys.Engine.Readiness(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	server.Trace(tr)
	srv := httptest.NewServer(server)
	t.Cleanup(srv.Close)
	_, key, err := sys.APIKeys.Create(ctx, "region-midt")
	if err != nil {
		t.Fatal(err)
	}
	// The command finds the API as it would from another terminal: by its variables.
	for k, v := range map[string]string{"DEV_DATA_DIR": t.TempDir(), "DIGITALPOST_API": srv.URL, "DIGITALPOST_API_KEY": key, "LOG_LEVEL": "error"} {
		t.Setenv(k, v)
	}
	tracing = tr
	t.Cleanup(func() { tracing = nil })

	if _, _, err := run(t, "send", "--to", cpr, "--subject", "Indkaldelse", "--text", "Tekst", "--message-id", "cli-1"); err != nil {
		t.Fatal(err)
	}

	var spans tracetest.SpanStubs
	var command, request, start tracetest.SpanStub
	deadline := time.Now().Add(20 * time.Second)
	delivered := func() bool {
		_ = tr.ForceFlush(ctx)
		spans = exporter.GetSpans()
		for _, s := range spans {
			if s.Name == "starter send" {
				command = s
			}
		}
		for _, s := range spans {
			for _, l := range s.Links {
				if command.SpanContext.IsValid() && l.SpanContext.TraceID() == command.SpanContext.TraceID() {
					request = s
				}
			}
			if s.Name == "StartWorkflow:LetterWorkflow" {
				start = s
			}
		}
		for _, s := range spans {
			if strings.HasPrefix(s.Name, "RunActivity:Deliver") && request.SpanContext.IsValid() && s.SpanContext.TraceID() == request.SpanContext.TraceID() {
				return true
			}
		}
		return false
	}
	for !delivered() && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if !delivered() {
		for _, s := range spans {
			t.Logf("span %q trace %s parent %s links %d", s.Name, s.SpanContext.TraceID(), s.Parent.SpanID(), len(s.Links))
		}
		t.Fatal("no span of the API links to the command's trace, or the delivery never ran in it")
	}
	if start.SpanContext.TraceID() != request.SpanContext.TraceID() {
		t.Errorf("the workflow's start is not in the trace of the API request the command made")
	}
	for _, s := range spans {
		texts := []string{s.Name, s.Status.Description}
		for _, a := range s.Attributes {
			texts = append(texts, a.Value.Emit())
		}
		for _, text := range texts {
			if strings.Contains(text, cpr) || strings.Contains(text, "0101801234") || strings.Contains(text, "Anna") {
				t.Errorf("span %q holds personal data: %s", s.Name, text)
			}
		}
	}
}
