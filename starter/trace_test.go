package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/telemetry"
	"digitalpost/internal/infra/testenv"
)

// A letter sent from the command line is one trace under the command: `starter send` is
// the parent of the workflow's start, and the worker's activities follow in the same trace.
// The command's arguments, which hold the CPR number, are in no span.
func TestACommandLineSubmissionIsTheRootOfTheLettersTrace(t *testing.T) {
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
	// The command finds the system as it would from another terminal: by its variables.
	for k, v := range map[string]string{"DEV_DATA_DIR": t.TempDir(), "DATABASE_URL": sys.Config.DatabaseURL,
		"TEMPORAL_ADDRESS": sys.Config.TemporalAddress, "TEMPORAL_NAMESPACE": sys.Config.TemporalNamespace,
		"TEMPORAL_TASK_QUEUE": sys.Config.TaskQueue, "PAYLOAD_KEYS": sys.Config.PayloadKeys, "LOG_LEVEL": "error"} {
		t.Setenv(k, v)
	}
	tracing = tr
	t.Cleanup(func() { tracing = nil })

	stdout := os.Stdout
	devNull, _ := os.Open(os.DevNull)
	os.Stdout = devNull // the letter id the command prints
	root := newRoot()
	root.SetArgs([]string{"send", "--sender", "region-midt", "--to", cpr, "--subject", "Indkaldelse", "--text", "Tekst", "--message-id", "cli-1"})
	err = root.ExecuteContext(ctx)
	os.Stdout = stdout
	devNull.Close()
	if err != nil {
		t.Fatal(err)
	}

	var spans tracetest.SpanStubs
	var command, start tracetest.SpanStub
	testenv.Eventually(t, 20*time.Second, "the delivery activity in the command's trace", func() bool {
		_ = tr.ForceFlush(ctx)
		spans = exporter.GetSpans()
		for _, s := range spans {
			switch s.Name {
			case "starter send":
				command = s
			case "StartWorkflow:LetterWorkflow":
				start = s
			}
		}
		for _, s := range spans {
			if strings.HasPrefix(s.Name, "RunActivity:Deliver") && command.SpanContext.IsValid() && s.SpanContext.TraceID() == command.SpanContext.TraceID() {
				return true
			}
		}
		return false
	})
	if start.Parent.SpanID() != command.SpanContext.SpanID() {
		t.Errorf("the workflow's start is not a child of the command (parent %s)", start.Parent.SpanID())
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
