// Command worker runs the letter workers. With -dev it first brings up the whole system
// on one machine: a Temporal dev server with its Web UI, PostgreSQL, and the codec server.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"digitalpost/internal/clients/api"
	"digitalpost/internal/clients/codecserver"
	"digitalpost/internal/clients/operatorgate"
	"digitalpost/internal/clients/web"
	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/devenv"
	"digitalpost/internal/infra/engine"
	"digitalpost/internal/infra/searchattr"
	"digitalpost/internal/infra/store"
	"digitalpost/internal/infra/telemetry"
	"digitalpost/internal/infra/temporalclient"
)

func main() {
	dev := flag.Bool("dev", false, "bring up the whole system on this machine (Temporal dev server, PostgreSQL, codec server) and run the worker")
	flag.Parse()
	if *dev {
		stopWithParent()
	}
	logger, err := telemetry.LoggerFromEnv(os.Stderr, slog.LevelInfo)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
	// Whatever logs through the default logger (the print receipts folder, the standard
	// library's log package) writes the same JSON lines.
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *dev, logger); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("worker stopped", "err", err)
		os.Exit(1)
	}
}

// devStaysOnThisMachine refuses a -dev runtime that others could reach or that holds real
// data: -dev offers sign-in as any citizen or caseworker without MitID, which is harmless only
// on loopback and on a database of this machine.
func devStaysOnThisMachine(cfg config.Config) error {
	for name, addr := range map[string]string{"HTTP_ADDR": cfg.HTTPAddr, "CODEC_SERVER_ADDR": cfg.CodecServerAddr, "METRICS_ADDR": cfg.MetricsAddr} {
		if addr == "" {
			continue
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil || !loopback(host) {
			return fmt.Errorf("%s=%s: -dev signs anyone in as any citizen, so it listens on loopback only (127.0.0.1:port)", name, addr)
		}
	}
	if cfg.DatabaseURL != "" {
		pc, err := pgx.ParseConfig(cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("DATABASE_URL: %w", err)
		}
		if !strings.HasPrefix(pc.Host, "/") && !loopback(pc.Host) {
			return fmt.Errorf("DATABASE_URL names host %s: -dev signs anyone in as any citizen, so it runs only on a PostgreSQL of this machine", pc.Host)
		}
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func run(ctx context.Context, dev bool, logger *slog.Logger) error {
	load := config.LoadService
	if dev {
		load = config.LoadForDev
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if dev {
		if err := devStaysOnThisMachine(cfg); err != nil {
			return err
		}
		// A receiver on this machine, for trying webhooks out.
		if _, set := os.LookupEnv("WEBHOOK_ALLOW_HTTP"); !set {
			cfg.WebhookAllowHTTP = true
		}
		if _, set := os.LookupEnv("WEBHOOK_ALLOW_INTERNAL"); !set {
			cfg.WebhookAllowInternal = true
		}
		down, err := bringUpDev(ctx, &cfg, logger)
		defer down()
		if err != nil {
			return err
		}
	}
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set (or run with -dev to find or start a PostgreSQL)")
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := store.Migrate(ctx, db); err != nil {
		return err
	}
	metrics, err := telemetry.New(logger)
	if err != nil {
		return err
	}
	defer func() { _ = metrics.Shutdown(context.Background()) }()
	roles, err := serveRoles(cfg.Serve)
	if err != nil {
		return err
	}
	service := "digitalpost-worker"
	if !roles["worker"] {
		service = "digitalpost-api"
	}
	tracing, err := telemetry.TracingFromEnv(ctx, service, logger)
	if err != nil {
		return err
	}
	defer func() {
		// The last spans are flushed even when ctx is done; a collector that does not answer
		// holds up the exit for at most this long.
		flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracing.Shutdown(flush); err != nil {
			logger.Warn("flushing spans", "err", err)
		}
	}()
	if tracing.Enabled() {
		logger.Info("tracing", "service", service, "otlp", true)
	}
	tc, err := temporalclient.DialWith(ctx, cfg, logger, temporalclient.Instruments{Metrics: metrics.Temporal, Tracing: tracing})
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := registerSearchAttributes(ctx, tc, cfg.TemporalNamespace); err != nil {
		return err
	}
	e, err := engine.New(cfg, db, tc)
	if err != nil {
		return err
	}
	e.SetMetrics(metrics)
	e.TakeOverDeployment = dev
	if err := metrics.WatchCases(e.CaseCounts); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	if roles["api"] {
		srv, err := api.New(e.PostOffice, cfg, e.Readiness(), logger)
		if err != nil {
			return err
		}
		site, err := newSite(ctx, e, cfg, dev, logger)
		if err != nil {
			return err
		}
		srv.MountPages(site, web.Paths)
		if cfg.MetricsAddr == "" {
			// The dev runtime and a single process: one port for everything. With
			// METRICS_ADDR the metrics stay on it, off the port the public reaches.
			srv.MountMetrics(metrics.Handler())
		}
		srv.Trace(tracing)
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("senders' API on %s (HTTP_ADDR): %w", cfg.HTTPAddr, err)
		}
		if dev { // for the person at the terminal; in production stderr holds log records only
			// The sender commands in another terminal reach the API here.
			if err := config.AddDevEnv(cfg.DevDataDir, "DIGITALPOST_API", localURL(ln.Addr().String())); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "  Senders' API     http://%s   (OpenAPI at /v1/openapi.yaml; a key: go run ./starter sender key create --sender ID)\n", ln.Addr())
			fmt.Fprintf(os.Stderr, "  Pages            http://%s/   (mailbox, caseworker desk, sender dashboard, /statistik)\n", ln.Addr())
			if cfg.MetricsAddr == "" {
				fmt.Fprintf(os.Stderr, "  Metrics          http://%s/metrics   (Prometheus)\n", ln.Addr())
			}
		}
		logger.Info("senders' API listening", "addr", ln.Addr().String())
		g.Go(func() error { return srv.Serve(ctx, ln) })
	}
	if cfg.MetricsAddr != "" {
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("metrics on %s (METRICS_ADDR): %w", cfg.MetricsAddr, err)
		}
		// The orchestrator's probes beside the metrics: a worker-only process has no other port.
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		mux.HandleFunc("GET /healthz", api.Healthz)
		mux.Handle("GET /readyz", api.Ready(e.Readiness()...))
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error { <-ctx.Done(); return ms.Close() })
		g.Go(func() error {
			if err := ms.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	if roles["worker"] {
		logger.Info("worker running", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress, "namespace", cfg.TemporalNamespace)
		g.Go(func() error { return e.Run(ctx) })
	}
	return g.Wait()
}

// serveRoles reads SERVE: "worker", "api" or both ("worker,api", the default).
func serveRoles(v string) (map[string]bool, error) {
	roles := map[string]bool{}
	for _, r := range strings.Split(v, ",") {
		switch r = strings.TrimSpace(r); r {
		case "worker", "api":
			roles[r] = true
		case "":
		default:
			return nil, fmt.Errorf("SERVE: %q is not a part of this process; use worker, api or worker,api", r)
		}
	}
	if len(roles) == 0 {
		return nil, errors.New("SERVE: name at least one of worker, api")
	}
	return roles, nil
}

// freePort asks the kernel for a port nobody listens on.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// stopWithParent: under `go run`, SIGKILL of `go run` would leave this process, and the dev
// server it started, running. So when the parent is the go tool, Linux is asked to send
// SIGTERM when it dies. Any other parent (a shell that backgrounded us and exited, a service
// manager) is left out of it: there, outliving the parent is the point.
func stopWithParent() {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", os.Getppid()))
	if err != nil || strings.TrimSpace(string(comm)) != "go" {
		return
	}
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	if os.Getppid() == 1 { // go run died before the request took effect
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
}

// registerSearchAttributes retries briefly: a dev server that just opened its port may
// not serve the operator API for another moment.
func registerSearchAttributes(ctx context.Context, tc client.Client, namespace string) error {
	var err error
	for range 20 {
		if err = searchattr.Register(ctx, tc, namespace); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return err
}

// bringUpDev fills cfg with a dev PostgreSQL, Temporal and keys, and returns a function
// that takes them down again.
func bringUpDev(ctx context.Context, cfg *config.Config, logger *slog.Logger) (func(), error) {
	var downs []func()
	down := func() {
		for i := len(downs) - 1; i >= 0; i-- {
			downs[i]()
		}
	}
	say := func(s string) { logger.Info(s) }
	if err := os.MkdirAll(cfg.DevDataDir, 0o750); err != nil {
		return down, err
	}
	if cfg.PayloadKeys == "" {
		cfg.PayloadKeys = codec.NewKeySpec("dev1")
		say("created a payload encryption key for this dev data folder (PAYLOAD_KEYS in " + config.DevEnvFile(cfg.DevDataDir) + ")")
	}
	keys, err := codec.ParseKeys(cfg.PayloadKeys)
	if err != nil {
		return down, err
	}
	if cfg.OperatorToken == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		cfg.OperatorToken = hex.EncodeToString(b)
	}

	pg, err := devenv.FindPostgres(ctx, cfg.DatabaseURL, cfg.DevDataDir, say)
	if err != nil {
		return down, err
	}
	downs = append(downs, pg.Stop)
	cfg.DatabaseURL = pg.URL

	// The codec server starts before the UI so the UI can be pointed at it.
	ln, err := net.Listen("tcp", cfg.CodecServerAddr)
	if err != nil {
		return down, fmt.Errorf("codec server on %s (CODEC_SERVER_ADDR): %w", cfg.CodecServerAddr, err)
	}
	srv := &http.Server{Handler: codecserver.Handler(codec.New(keys), cfg.OperatorToken, strings.Split(cfg.CodecUIOrigins, ",")),
		ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	downs = append(downs, func() { _ = srv.Close() })
	// The UI runs on an internal port behind the operator gate on TEMPORAL_UI_PORT, which
	// serves the codec on the same origin: the codec URL the UI is given holds no secret.
	gateLn, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.TemporalUIPort))
	if err != nil {
		return down, fmt.Errorf("Temporal UI on port %d (TEMPORAL_UI_PORT): %w", cfg.TemporalUIPort, err)
	}
	innerUI, err := freePort()
	if err != nil {
		return down, err
	}
	innerURL, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", innerUI))
	gate := &http.Server{Handler: operatorgate.New(innerURL, cfg.OperatorToken, codec.New(keys)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = gate.Serve(gateLn) }()
	downs = append(downs, func() { _ = gate.Close() })
	uiURL := "http://" + gateLn.Addr().String()
	codecEndpoint := uiURL + operatorgate.CodecPath

	cli, err := devenv.EnsureTemporalCLI(ctx, say)
	if err != nil {
		return down, err
	}
	_, port, err := net.SplitHostPort(cfg.TemporalAddress)
	if err != nil {
		return down, fmt.Errorf("TEMPORAL_ADDRESS: %w", err)
	}
	var portNum int
	fmt.Sscan(port, &portNum)
	devenv.StopLeftover(filepath.Join(cfg.DevDataDir, "temporal.pid"), cli)
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		c.Close()
		return down, fmt.Errorf("port %s is taken: is another `worker -dev` running? Stop it, or set TEMPORAL_ADDRESS to a free port", port)
	}
	temporal, err := devenv.StartTemporal(ctx, devenv.TemporalOptions{
		CLI: cli, DBFile: filepath.Join(cfg.DevDataDir, "temporal.db"), Port: portNum, UIPort: innerUI,
		CodecEndpoint: codecEndpoint, LogFile: filepath.Join(cfg.DevDataDir, "temporal.log"),
		PIDFile: filepath.Join(cfg.DevDataDir, "temporal.pid"),
	})
	if err != nil {
		return down, err
	}
	downs = append(downs, temporal.Stop)
	cfg.TemporalAddress = temporal.Address

	devEnv := map[string]string{
		"DATABASE_URL": cfg.DatabaseURL, "TEMPORAL_ADDRESS": cfg.TemporalAddress,
		"PAYLOAD_KEYS": cfg.PayloadKeys, "OPERATOR_TOKEN": cfg.OperatorToken, "PRINT_SPOOL_DIR": cfg.SpoolDir(),
		// Deadlines are fixed when a letter, case or request is submitted, so the starter must see them too.
		"LETTER_OPEN_DEADLINE":             cfg.OpenDeadline.String(),
		"READING_ACCESS_RESPONSE_DEADLINE": cfg.ReadingAccessDeadline.String(),
		"LETTER_REMINDER_BEFORE":           cfg.ReminderBefore.String(),
		"REMINDER_QUIET_HOURS":             cfg.QuietHours,
		"NEMSMS_APPOINTMENT_REMINDER":      cfg.NemSMSAppointmentReminder.String(),
		"NEMSMS_TERMS_VERSION":             cfg.NemSMSTerms,
	}
	if cfg.ExemptionServiceDeadline > 0 {
		devEnv["EXEMPTION_SERVICE_DEADLINE"] = cfg.ExemptionServiceDeadline.String()
	}
	if err := config.WriteDevEnv(cfg.DevDataDir, devEnv); err != nil {
		return down, err
	}
	fmt.Fprintf(os.Stderr, `
Digital Post is up.
  Temporal UI      %s   (sign in with OPERATOR_TOKEN from %s to see payloads decoded)
  Temporal server  %s
  PostgreSQL       %s
  Codec server     http://%s   (operator token in %s)
  Print spool      %s
  Next:            go run ./starter seed   then   go run ./starter --help
`, uiURL, config.DevEnvFile(cfg.DevDataDir), temporal.Address, pg.Where, ln.Addr(), config.DevEnvFile(cfg.DevDataDir), cfg.SpoolDir())
	return down, nil
}

// localURL is the URL a command on this machine reaches a listener on addr at.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
