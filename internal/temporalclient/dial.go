// Package temporalclient dials Temporal the same way for every process: payloads and
// failures encrypted, credentials from the environment.
package temporalclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"digitalpost/internal/codec"
	"digitalpost/internal/config"
)

// Keys parses PAYLOAD_KEYS; without keys nothing may talk to Temporal, since histories
// would hold personal data in plaintext.
func Keys(cfg config.Config) (*codec.Keyring, error) {
	if cfg.PayloadKeys == "" {
		return nil, errors.New("PAYLOAD_KEYS is not set: run `go run ./worker -dev` once to create a dev key, or set keys as id:base64key")
	}
	return codec.ParseKeys(cfg.PayloadKeys)
}

// Options builds client options with encryption and, when configured, mTLS or an API key.
func Options(cfg config.Config, keys *codec.Keyring, logger *slog.Logger) (client.Options, error) {
	dc := codec.DataConverter(keys)
	opts := client.Options{
		HostPort:         cfg.TemporalAddress,
		Namespace:        cfg.TemporalNamespace,
		DataConverter:    dc,
		FailureConverter: codec.FailureConverter(dc),
		Logger:           log.NewStructuredLogger(logger),
	}
	switch {
	case cfg.TemporalTLSCert != "" || cfg.TemporalTLSKey != "":
		cert, err := tls.LoadX509KeyPair(cfg.TemporalTLSCert, cfg.TemporalTLSKey)
		if err != nil {
			return opts, fmt.Errorf("TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY: %w", err)
		}
		opts.ConnectionOptions.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	case cfg.TemporalAPIKey != "":
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
		opts.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return opts, nil
}

// Dial connects with Options.
func Dial(ctx context.Context, cfg config.Config, logger *slog.Logger) (client.Client, error) {
	return DialWithMetrics(ctx, cfg, logger, nil)
}

// DialWithMetrics connects with Options and the SDK's metrics going to metrics (nil: none).
func DialWithMetrics(ctx context.Context, cfg config.Config, logger *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	keys, err := Keys(cfg)
	if err != nil {
		return nil, err
	}
	opts, err := Options(cfg, keys, logger)
	if err != nil {
		return nil, err
	}
	if metrics != nil {
		opts.MetricsHandler = metrics
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("Temporal at %s is not reachable (start it with `go run ./worker -dev`, or set TEMPORAL_ADDRESS): %w", cfg.TemporalAddress, err)
	}
	return c, nil
}
