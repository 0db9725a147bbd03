// Package testenv starts the real components integration tests run against: PostgreSQL
// (a fresh database), a Temporal dev server, and the providers' fakes.
package testenv

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"digitalpost/internal/adapters/providerfake"
	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/devenv"
	"digitalpost/internal/infra/engine"
	"digitalpost/internal/infra/searchattr"
	"digitalpost/internal/infra/store"
	"digitalpost/internal/infra/telemetry"
	"digitalpost/internal/infra/temporalclient"
)

// StartTemporal starts a Temporal dev server (in memory) for one test, from the CLI the
// project's scripts install; without it the test fails and says how to install it.
func StartTemporal(t testing.TB) *testsuite.DevServer {
	t.Helper()
	cli, ok := devenv.FindTemporalCLI()
	if !ok {
		t.Fatalf("integration tests need the Temporal CLI (not found at %s): %s", cli, devenv.InstallHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: cli, LogLevel: "error",
		ClientOptions: &client.Options{Logger: quietLogger()},
		ExtraArgs:     append([]string{"--headless"}, devenv.DevServerTuning()...),
	})
	if err != nil {
		t.Fatalf("start Temporal dev server from %s: %v", cli, err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// System is the whole engine against real PostgreSQL, Temporal and provider fakes.
type System struct {
	*engine.Engine
	Keys     *codec.Keyring
	Twilio   *providerfake.Twilio
	SendGrid *providerfake.SendGrid
	Server   *testsuite.DevServer
	Cancel   context.CancelFunc
}

// Options change what StartSystemWith builds; the zero value is StartSystem's.
type Options struct {
	// Logger takes the Temporal SDK's log (worker, workflows, activities); default: errors
	// only, to stderr.
	Logger *slog.Logger
	// Tracing traces the client and the workers; default: off.
	Tracing *telemetry.Tracing
	// BuildID is the workers' build in the Worker Deployment; default: the binary's ("dev").
	BuildID string
}

// StartSystem brings up a system with its workers running; everything stops at test end.
func StartSystem(t testing.TB) *System {
	t.Helper()
	return StartSystemWith(t, Options{})
}

// StartSystemWith is StartSystem with a logger or tracing of the test's own.
func StartSystemWith(t testing.TB, o Options) *System {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	db, url := store.NewTestDB(t)
	srv := StartTemporal(t)
	tw, sg := providerfake.NewTwilio(), providerfake.NewSendGrid()
	t.Cleanup(tw.Server.Close)
	t.Cleanup(sg.Server.Close)
	cfg := config.Config{
		DatabaseURL: url, TemporalAddress: srv.FrontendHostPort(), TemporalNamespace: "default",
		TaskQueue: "letters-" + uuid.NewString()[:8], OpenDeadline: 72 * time.Hour, SMSRatePerSecond: 1000, EmailRatePerSecond: 1000, ProviderUrgentShare: 0.1, RecoveryGrace: time.Minute,
		TwilioAccountSID: tw.AccountSID, TwilioAuthToken: tw.AuthToken, TwilioFrom: "DigitalPost", TwilioBaseURL: tw.Server.URL,
		SendGridAPIKey: sg.APIKey, SendGridFrom: "no-reply@digitalpost.test", SendGridFromName: "Digital Post", SendGridBaseURL: sg.Server.URL,
		ExemptionServiceWorkingDays: 5, ReadingAccessDeadline: 14 * 24 * time.Hour, MunicipalitySenderID: "aarhus-kommune",
		ProviderTimeout: 5 * time.Second, PrintSpoolDir: t.TempDir(), PayloadKeys: codec.NewKeySpec("test1"), NemSMSTerms: "2024-1",
		// Versioned workers, as in production: the first start makes its build current.
		WorkerDeploymentName: "digitalpost", WorkerBuildID: o.BuildID,
		// A test's end waits for the activities in flight, as a SIGTERM does: one still
		// writing a print job into the spool would race the removal of the test's folders.
		WorkerStopTimeout: 10 * time.Second,
	}
	keys, err := codec.ParseKeys(cfg.PayloadKeys)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := temporalclient.Options(cfg, keys, o.Logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := temporalclient.Trace(&opts, o.Tracing); err != nil {
		t.Fatal(err)
	}
	metrics, err := telemetry.New(o.Logger)
	if err != nil {
		t.Fatal(err)
	}
	opts.MetricsHandler = metrics.Temporal
	tc, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	ctx, cancel := context.WithCancel(context.Background())
	if err := searchattr.Register(ctx, tc, cfg.TemporalNamespace); err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(cfg, db, tc)
	if err != nil {
		t.Fatal(err)
	}
	e.SetMetrics(metrics)
	if err := metrics.WatchCases(e.CaseCounts); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &System{Engine: e, Keys: keys, Twilio: tw, SendGrid: sg, Server: srv, Cancel: cancel}
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// Eventually polls cond until it holds or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}
