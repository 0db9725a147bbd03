package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"digitalpost/internal/infra/telemetry"
)

func TestRedactTakesOutCPRNumbersEmailAddressesAndMobiles(t *testing.T) {
	for in, want := range map[string]string{
		"recipient 010180-1234 refused":                 "recipient [redacted] refused",
		"cpr=0101801234":                                "cpr=[redacted]",
		"The 'To' number +4520000001 is not valid":      "The 'To' number [redacted] is not valid",
		"mail to anna.b+post@sub.example.dk bounced":    "mail to [redacted] bounced",
		"sms to +4520000001 and mail to bo@example.com": "sms to [redacted] and mail to [redacted]",
	} {
		if got := telemetry.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	// What our logs and spans are made of passes untouched: ids, Unix times, codes, counts.
	for _, keep := range []string{
		"letter-0b1d2e3f-1234-4567-8901-234567890123", "9f8e7d6c-5b4a-4321-8765-432109876543",
		"1767225600", "twilio 21211", "P-3f2a9c1e-print", "RunActivity:SendNotice", "took 1234567 µs",
		"2026-03-14T09:30:00Z", "/v1/letters/0b1d2e3f-1234-4567-8901-234567890123",
	} {
		if got := telemetry.Redact(keep); got != keep {
			t.Errorf("Redact(%q) = %q, want it unchanged", keep, got)
		}
	}
}

func TestLoggerWritesJSONLinesRedactedWithTheTrace(t *testing.T) {
	var buf bytes.Buffer
	logger, err := telemetry.NewLogger(&buf, "json", slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	logger.With("letter_id", "0b1d2e3f-1234-4567-8901-234567890123").
		WarnContext(ctx, "notice rejected", "error", errors.New("twilio 21211: The 'To' number +4520000001 is not a valid phone number"),
			slog.Group("recipient", "cpr", "010180-1234"))
	logger.Debug("below the level")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1 (debug is below info): %s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("not a JSON line: %v: %s", err, lines[0])
	}
	if rec["letter_id"] != "0b1d2e3f-1234-4567-8901-234567890123" || rec["trace_id"] != sc.TraceID().String() || rec["span_id"] != sc.SpanID().String() {
		t.Errorf("ids missing: %s", lines[0])
	}
	if strings.Contains(lines[0], "+4520000001") || strings.Contains(lines[0], "010180") ||
		rec["recipient"].(map[string]any)["cpr"] != telemetry.Redacted {
		t.Errorf("personal data in the log: %s", lines[0])
	}
}

func TestLogFormatAndLevelComeFromTheEnvironment(t *testing.T) {
	var buf bytes.Buffer
	t.Setenv("LOG_FORMAT", "text")
	t.Setenv("LOG_LEVEL", "debug")
	logger, err := telemetry.LoggerFromEnv(&buf, slog.LevelWarn)
	if err != nil {
		t.Fatal(err)
	}
	logger.Debug("hello", "workflow_id", "letter-1")
	if got := buf.String(); !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, "workflow_id=letter-1") {
		t.Fatalf("LOG_FORMAT=text LOG_LEVEL=debug wrote %q", got)
	}

	t.Setenv("LOG_FORMAT", "")
	t.Setenv("LOG_LEVEL", "")
	buf.Reset()
	if logger, err = telemetry.LoggerFromEnv(&buf, slog.LevelWarn); err != nil {
		t.Fatal(err)
	}
	logger.Info("quiet")
	logger.Warn("loud")
	if got := buf.String(); strings.Contains(got, "quiet") || !json.Valid([]byte(got)) {
		t.Fatalf("defaults (json, the given level) wrote %q", got)
	}

	for name, env := range map[string][2]string{"LOG_FORMAT": {"xml", ""}, "LOG_LEVEL": {"json", "loud"}} {
		t.Setenv("LOG_FORMAT", env[0])
		t.Setenv("LOG_LEVEL", env[1])
		if _, err := telemetry.LoggerFromEnv(&buf, slog.LevelInfo); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("bad %s: error %v, want one naming the variable", name, err)
		}
	}
}
