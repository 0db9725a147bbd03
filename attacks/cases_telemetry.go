package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// otlpReceiver is the suite's own OpenTelemetry collector: it takes what the worker exports
// over OTLP/HTTP (POST /v1/traces, protobuf by default) and keeps the bodies as they came,
// so that they can be searched for personal data byte for byte (protobuf carries strings as
// they are).
type otlpReceiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	exports int
	spans   bytes.Buffer
}

func startOTLPReceiver() *otlpReceiver {
	o := &otlpReceiver{}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(io.LimitReader(body, 64<<20))
		if r.URL.Path == "/v1/traces" {
			o.mu.Lock()
			o.exports++
			o.spans.Write(b)
			o.spans.WriteByte('\n')
			o.mu.Unlock()
		}
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusOK) // an empty ExportTraceServiceResponse
	}))
	return o
}

func (o *otlpReceiver) received() (exports int, raw string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.exports, o.spans.String()
}

// spansAndMetricsHoldNothing reads every span the worker exported during the run and its
// Prometheus metrics, after the letters, look-ups, malformed bodies and sign-ins above.
func spansAndMetricsHoldNothing(ctx context.Context, w *world) (string, string, string, bool) {
	// The control: a letter to Bo (whose number went through malformed bodies and look-ups
	// above) must show up in the spans by its id, or nothing was exported at all.
	r := w.api(w.keyA, http.MethodPost, "/v1/letters", mustJSON(map[string]string{"message_id": "traced", "recipient_cpr": w.bo.CPR,
		"subject": "Sporet", "text": "Hej " + w.bo.Name + "."}))
	id := jsonField(r.body, "id")
	var exports int
	var raw string
	traced := eventually(ctx, 15*time.Second, func() bool {
		exports, raw = w.otlp.received()
		return id != "" && strings.Contains(raw, id)
	})
	metrics := send(http.MethodGet, w.metrics+"/metrics", nil)
	public := send(http.MethodGet, w.base+"/metrics", nil) // the port the ingress exposes
	people := []person{w.anna, w.bo, w.dorte, w.eva, w.frede}
	inSpans := personalDataIn(raw, people...)
	inMetrics := personalDataIn(metrics.body, people...)
	effect := fmt.Sprintf("spans: %s; metrics: %s", leakedWord(len(inSpans) > 0, strings.Join(inSpans, ", ")),
		leakedWord(len(inMetrics) > 0, strings.Join(inMetrics, ", ")))
	return "read every span the worker exported over OTLP/HTTP to the suite's collector; GET /metrics on METRICS_ADDR and on the public port",
		fmt.Sprintf("%d exports, %d bytes of spans (a new letter's id among them: %t); /metrics %s, %d bytes; on the public port %s",
			exports, len(raw), traced, metrics, len(metrics.body), public),
		effect, traced && metrics.status == http.StatusOK && strings.Contains(metrics.body, "# TYPE") &&
			public.status == http.StatusNotFound && len(inSpans) == 0 && len(inMetrics) == 0
}
