package temporalclient_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/temporalclient"
)

// cleanTemporalEnv unsets every TEMPORAL_* variable for the test (restored after it) but
// TEMPORAL_CLI, and points the profile file at one that does not exist, so that neither
// the shell's variables nor the user's ~/.config/temporalio/temporal.toml leak in.
func cleanTemporalEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TEMPORAL_") && k != "TEMPORAL_CLI" {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("DEV_DATA_DIR", t.TempDir())
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testKeys(t *testing.T) *codec.Keyring {
	t.Helper()
	keys, err := codec.ParseKeys(codec.NewKeySpec("t1"))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestOptionsTakeTheConnectionFromTheEnvironment(t *testing.T) {
	keys := testKeys(t)
	t.Run("nothing set: plain gRPC to the configured address", func(t *testing.T) {
		cleanTemporalEnv(t)
		opts, err := temporalclient.Options(config.Config{TemporalAddress: "127.0.0.1:7233", TemporalNamespace: "default"}, keys, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if opts.HostPort != "127.0.0.1:7233" || opts.Namespace != "default" || opts.ConnectionOptions.TLS != nil || opts.Credentials != nil || opts.HeadersProvider != nil {
			t.Errorf("got %s %s TLS %v credentials %v headers %v", opts.HostPort, opts.Namespace, opts.ConnectionOptions.TLS, opts.Credentials, opts.HeadersProvider)
		}
		if _, ok := opts.ConnectionOptions.GrpcCompression.(*client.GrpcCompressionGzip); !ok {
			t.Errorf("compression %T, want gzip by default", opts.ConnectionOptions.GrpcCompression)
		}
	})
	t.Run("the config's address and namespace win over the variables", func(t *testing.T) {
		cleanTemporalEnv(t)
		t.Setenv("TEMPORAL_ADDRESS", "env.example:7233")
		t.Setenv("TEMPORAL_NAMESPACE", "env-ns")
		opts, err := temporalclient.Options(config.Config{TemporalAddress: "127.0.0.1:4711", TemporalNamespace: "dev"}, keys, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if opts.HostPort != "127.0.0.1:4711" || opts.Namespace != "dev" {
			t.Errorf("got %s %s", opts.HostPort, opts.Namespace)
		}
		opts, err = temporalclient.Options(config.Config{}, keys, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if opts.HostPort != "env.example:7233" || opts.Namespace != "env-ns" {
			t.Errorf("config without address: got %s %s, want the variables'", opts.HostPort, opts.Namespace)
		}
	})
	t.Run("API key: credentials over TLS", func(t *testing.T) {
		cleanTemporalEnv(t)
		t.Setenv("TEMPORAL_API_KEY", "k-123")
		opts, err := temporalclient.Options(config.Config{TemporalAddress: "x.tmprl.cloud:7233"}, keys, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if opts.Credentials == nil || opts.ConnectionOptions.TLS == nil || opts.ConnectionOptions.TLS.MinVersion < tls.VersionTLS12 {
			t.Errorf("credentials %v TLS %+v", opts.Credentials, opts.ConnectionOptions.TLS)
		}
	})
	t.Run("gRPC headers", func(t *testing.T) {
		cleanTemporalEnv(t)
		t.Setenv("TEMPORAL_GRPC_META_X_TENANT", "aarhus")
		opts, err := temporalclient.Options(config.Config{}, keys, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if opts.HeadersProvider == nil {
			t.Fatal("no headers provider")
		}
		h, err := opts.HeadersProvider.GetHeaders(context.Background())
		if err != nil || h["x-tenant"] != "aarhus" {
			t.Errorf("headers %v, %v", h, err)
		}
	})
	t.Run("compression stays ours", func(t *testing.T) {
		cleanTemporalEnv(t)
		opts, err := temporalclient.Options(config.Config{TemporalCompression: "none"}, keys, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := opts.ConnectionOptions.GrpcCompression.(*client.GrpcCompressionNone); !ok {
			t.Errorf("compression %T, want none", opts.ConnectionOptions.GrpcCompression)
		}
		if _, err := temporalclient.Options(config.Config{TemporalCompression: "zstd"}, keys, quiet); err == nil {
			t.Error("an unknown compression was taken")
		}
	})
	t.Run("a certificate that cannot be read fails", func(t *testing.T) {
		cleanTemporalEnv(t)
		t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", filepath.Join(t.TempDir(), "missing.pem"))
		t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", filepath.Join(t.TempDir(), "missing.key"))
		if _, err := temporalclient.Options(config.Config{}, keys, quiet); err == nil || !strings.Contains(err.Error(), "missing.pem") {
			t.Errorf("err %v, want one naming the certificate file", err)
		}
	})
	t.Run("a profile named but missing fails", func(t *testing.T) {
		cleanTemporalEnv(t)
		t.Setenv("TEMPORAL_PROFILE", "prod")
		if _, err := temporalclient.Options(config.Config{}, keys, quiet); err == nil || !strings.Contains(err.Error(), "prod") {
			t.Errorf("err %v, want one naming the profile", err)
		}
	})
}
