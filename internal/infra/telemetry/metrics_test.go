package telemetry_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"digitalpost/internal/infra/telemetry"
)

// /metrics carries the SDK's metrics, as the SDK reports them through its handler, and the
// engine's own counters, with their labels.
func TestMetricsEndpointExposesSDKAndEngineMetrics(t *testing.T) {
	m, err := telemetry.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	m.Temporal.WithTags(map[string]string{"namespace": "default"}).Counter("temporal_request").Inc(3)
	m.LetterFinished("opened", "digital")
	m.Notice("sms", "new-post", "sent")
	m.Receipt("posted", "applied")
	var nilMetrics *telemetry.Metrics
	nilMetrics.LetterFinished("opened", "digital") // no telemetry: nothing happens, nothing breaks

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`temporal_request{namespace="default"} 3`, // the SDK handler reports counters as up-down counters
		`digitalpost_letters_final_total{channel="digital",status="opened"} 1`,
		`digitalpost_notices_total{channel="sms",outcome="sent",purpose="new-post"} 1`,
		`digitalpost_print_receipts_total{effect="applied",outcome="posted"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}
