// Package temporalclient dials Temporal the same way for every process: the connection as
// Temporal's standard client configuration has it (profiles, TEMPORAL_* variables), payloads
// and failures encrypted, metrics and traces when asked for.
package temporalclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	temporalenv "go.temporal.io/sdk/contrib/envconfig"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/log"

	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/telemetry"
)

// Keys parses PAYLOAD_KEYS; without keys nothing may talk to Temporal, since histories
// would hold personal data in plaintext.
func Keys(cfg config.Config) (*codec.Keyring, error) {
	if cfg.PayloadKeys == "" {
		return nil, errors.New("PAYLOAD_KEYS is not set: run `go run ./worker -dev` once to create a dev key, or set keys as id:base64key")
	}
	return codec.ParseKeys(cfg.PayloadKeys)
}

// Options builds client options. The connection (address, namespace, API key, TLS and mTLS
// with a private CA and server name, gRPC headers) is Temporal's standard client
// configuration, loaded by the SDK's envconfig from the profile file (TEMPORAL_CONFIG_FILE,
// TEMPORAL_PROFILE) and the TEMPORAL_* variables over it; cfg.TemporalAddress and
// cfg.TemporalNamespace, when set, win over both (the dev runtime, tests and the bench set
// them in code). On top comes what is ours: payloads and failures sealed with keys, the
// logger and TEMPORAL_GRPC_COMPRESSION. A profile's remote codec is never used.
func Options(cfg config.Config, keys *codec.Keyring, logger *slog.Logger) (client.Options, error) {
	if err := config.CheckRetired(); err != nil {
		return client.Options{}, err
	}
	opts, err := temporalenv.LoadClientOptions(temporalenv.LoadClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("Temporal client configuration (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE, TEMPORAL_API_KEY, TEMPORAL_TLS_*): %w", err)
	}
	if cfg.TemporalAddress != "" {
		opts.HostPort = cfg.TemporalAddress
	}
	if cfg.TemporalNamespace != "" {
		opts.Namespace = cfg.TemporalNamespace
	}
	if t := opts.ConnectionOptions.TLS; t != nil && t.MinVersion < tls.VersionTLS12 {
		t.MinVersion = tls.VersionTLS12
	}
	dc := codec.DataConverter(keys)
	opts.DataConverter = dc
	opts.FailureConverter = codec.FailureConverter(dc)
	opts.Logger = log.NewStructuredLogger(logger)
	switch cfg.TemporalCompression {
	case "none":
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	case "", "gzip":
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionGzip{}
	default:
		return opts, fmt.Errorf("TEMPORAL_GRPC_COMPRESSION: %q is neither none nor gzip", cfg.TemporalCompression)
	}
	return opts, nil
}

// Trace adds the SDK's OpenTelemetry tracing interceptor to opts: a client's start, signal,
// update and query become spans, and the trace travels in Temporal headers to the workflow
// run and its activities on whichever worker takes them. Workers built from the client
// trace too. With tracing off nothing is added, so nothing is paid per task.
func Trace(opts *client.Options, tracing *telemetry.Tracing) error {
	if !tracing.Enabled() {
		return nil
	}
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer:            tracing.Provider().Tracer("temporal-sdk-go"),
		TextMapPropagator: telemetry.Propagator,
		// Headers are not sealed by the payload codec: only trace ids go in them, never
		// baggage someone else filled.
		DisableBaggage: true,
		// A broken trace header must not fail a letter's workflow task.
		AllowInvalidParentSpans: true,
	})
	if err != nil {
		return fmt.Errorf("tracing interceptor: %w", err)
	}
	opts.Interceptors = append(opts.Interceptors, i)
	return nil
}

// Instruments are what watches a client: the SDK's metrics and traces; nil fields are off.
type Instruments struct {
	Metrics client.MetricsHandler
	Tracing *telemetry.Tracing
}

// Dial connects with Options.
func Dial(ctx context.Context, cfg config.Config, logger *slog.Logger) (client.Client, error) {
	return DialWith(ctx, cfg, logger, Instruments{})
}

// DialWithMetrics connects with Options and the SDK's metrics going to metrics (nil: none).
func DialWithMetrics(ctx context.Context, cfg config.Config, logger *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	return DialWith(ctx, cfg, logger, Instruments{Metrics: metrics})
}

// DialWith connects with Options, metrics and tracing.
func DialWith(ctx context.Context, cfg config.Config, logger *slog.Logger, in Instruments) (client.Client, error) {
	keys, err := Keys(cfg)
	if err != nil {
		return nil, err
	}
	opts, err := Options(cfg, keys, logger)
	if err != nil {
		return nil, err
	}
	if in.Metrics != nil {
		opts.MetricsHandler = in.Metrics
	}
	if err := Trace(&opts, in.Tracing); err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("Temporal at %s is not reachable (start it with `go run ./worker -dev`, or set TEMPORAL_ADDRESS; for TLS see TEMPORAL_TLS_* or TEMPORAL_PROFILE): %w", opts.HostPort, err)
	}
	return c, nil
}
