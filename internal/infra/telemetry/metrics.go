// Package telemetry is what operators watch: a Prometheus registry with the Temporal SDK's
// own metrics (through the SDK's OpenTelemetry metrics handler) and the engine's, served at
// /metrics.
package telemetry

import (
	"context"
	"log/slog"
	"net/http"
	"time"

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

	lettersFinal    metric.Int64Counter
	notices         metric.Int64Counter
	receipts        metric.Int64Counter
	printJobs       metric.Int64Counter
	providerLatency metric.Float64Histogram
	openingDelay    metric.Float64Histogram
}

// CaseCounts reads the open and overdue exemption cases when /metrics is scraped.
type CaseCounts func(ctx context.Context) (open, overdue int64, err error)

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
	if m.printJobs, err = meter.Int64Counter("digitalpost_print_jobs",
		metric.WithDescription("print jobs spooled, by purpose and postal category")); err != nil {
		return nil, err
	}
	if m.providerLatency, err = meter.Float64Histogram("digitalpost_provider_call_seconds", metric.WithUnit("s"),
		metric.WithDescription("time of one call to the SMS or e-mail provider, by channel and result"),
		metric.WithExplicitBucketBoundaries(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)); err != nil {
		return nil, err
	}
	if m.openingDelay, err = meter.Float64Histogram("digitalpost_delivery_to_opening_seconds", metric.WithUnit("s"),
		metric.WithDescription("time from delivery to the mailbox until the first opening"),
		metric.WithExplicitBucketBoundaries(60, 600, 3600, 6*3600, 24*3600, 72*3600, 7*24*3600)); err != nil {
		return nil, err
	}
	return m, nil
}

// WatchCases reports the open and overdue exemption cases as gauges, read at each scrape.
func (m *Metrics) WatchCases(read CaseCounts) error {
	meter := m.provider.Meter("digitalpost")
	open, err := meter.Int64ObservableGauge("digitalpost_cases_open", metric.WithDescription("exemption cases not yet decided"))
	if err != nil {
		return err
	}
	overdue, err := meter.Int64ObservableGauge("digitalpost_cases_overdue", metric.WithDescription("open exemption cases past their service deadline"))
	if err != nil {
		return err
	}
	_, err = meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		n, late, err := read(ctx)
		if err != nil {
			return err
		}
		o.ObserveInt64(open, n)
		o.ObserveInt64(overdue, late)
		return nil
	}, open, overdue)
	return err
}

// ProviderCall records one provider call's time.
func (m *Metrics) ProviderCall(channel string, ok bool, d time.Duration) {
	if m == nil {
		return
	}
	result := "ok"
	if !ok {
		result = "error"
	}
	m.providerLatency.Record(context.Background(), d.Seconds(), metric.WithAttributes(attribute.String("channel", channel), attribute.String("result", result)))
}

// Opened records the time from delivery to a letter's first opening.
func (m *Metrics) Opened(sinceDelivery time.Duration) {
	if m == nil {
		return
	}
	m.openingDelay.Record(context.Background(), sinceDelivery.Seconds())
}

// PrintJob counts a spooled print job.
func (m *Metrics) PrintJob(purpose, category string) {
	if m == nil {
		return
	}
	m.printJobs.Add(context.Background(), 1, metric.WithAttributes(attribute.String("purpose", purpose), attribute.String("postal_category", category)))
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
