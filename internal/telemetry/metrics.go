// Package telemetry is what operators watch: a Prometheus registry with the Temporal SDK's
// own metrics (through the SDK's OpenTelemetry metrics handler) and the engine's, served at
// /metrics.
package telemetry

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Metrics holds the process's instruments. A nil *Metrics records nothing, so code and tests
// without telemetry need no stand-in.
type Metrics struct {
	registry *prometheus.Registry
	provider *sdkmetric.MeterProvider
	// Temporal is the SDK's metrics handler, for client.Options.MetricsHandler.
	Temporal client.MetricsHandler

	lettersFinal metric.Int64Counter
	notices      metric.Int64Counter
	receipts     metric.Int64Counter
}

// New builds the registry and the instruments.
func New(log *slog.Logger) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, err
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	m := &Metrics{registry: reg, provider: provider}
	m.Temporal = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{Meter: provider.Meter("temporal-sdk-go"),
		OnError: func(err error) { log.Warn("Temporal SDK metric", "err", err) }})
	meter := provider.Meter("digitalpost")
	if m.lettersFinal, err = meter.Int64Counter("digitalpost_letters_final",
		metric.WithDescription("letters that reached a final state, by state and channel")); err != nil {
		return nil, err
	}
	if m.notices, err = meter.Int64Counter("digitalpost_notices",
		metric.WithDescription("notices and NemSMS messages by channel, purpose and outcome (sent, rejected, failed, unknown)")); err != nil {
		return nil, err
	}
	if m.receipts, err = meter.Int64Counter("digitalpost_print_receipts",
		metric.WithDescription("the print house's receipts by outcome and what they did")); err != nil {
		return nil, err
	}
	return m, nil
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Shutdown flushes the instruments.
func (m *Metrics) Shutdown(ctx context.Context) error {
	if m == nil {
		return nil
	}
	return m.provider.Shutdown(ctx)
}

// LetterFinished counts a letter's final state.
func (m *Metrics) LetterFinished(status, channel string) {
	if m == nil {
		return
	}
	m.lettersFinal.Add(context.Background(), 1, metric.WithAttributes(attribute.String("status", status), attribute.String("channel", channel)))
}

// Notice counts one provider call's outcome.
func (m *Metrics) Notice(channel, purpose, outcome string) {
	if m == nil {
		return
	}
	m.notices.Add(context.Background(), 1, metric.WithAttributes(attribute.String("channel", channel),
		attribute.String("purpose", purpose), attribute.String("outcome", outcome)))
}

// Receipt counts a print house receipt.
func (m *Metrics) Receipt(outcome, effect string) {
	if m == nil {
		return
	}
	m.receipts.Add(context.Background(), 1, metric.WithAttributes(attribute.String("outcome", outcome), attribute.String("effect", effect)))
}
