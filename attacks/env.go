package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"digitalpost/internal/adapters/providerfake"
	"digitalpost/internal/clients/codecserver"
	"digitalpost/internal/clients/operatorgate"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/devenv"
	"digitalpost/internal/infra/engine"
	"digitalpost/internal/infra/searchattr"
	"digitalpost/internal/infra/store"
	"digitalpost/internal/infra/temporalclient"
)

// env is the system under attack, every part real and on this machine: a PostgreSQL database
// of its own, a Temporal dev server from the CLI, the providers' fakes, an OpenID Connect
// provider of the suite's own, and the worker binary built from this module and run as a
// separate process (workers, API and pages, no -dev), whose log the suite reads. The codec
// server and the operator gate run in this process, as `worker -dev` runs them.
type env struct {
	dir       string
	serverURL string
	dbName    string
	dbURL     string
	db        *pgxpool.Pool

	temporal *devenv.TemporalServer
	twilio   *providerfake.Twilio
	sendgrid *providerfake.SendGrid
	idp      *identityProvider
	hooks    *receiver     // a webhook receiver on this machine: it must never be called
	otlp     *otlpReceiver // where the worker exports its spans (OTLP/HTTP)

	worker    *exec.Cmd
	workerEnd chan struct{} // closed when the worker has exited
	workerLog string
	workerTmp string // the worker's TMPDIR: no request may leave a file in it
	workerBin string
	bigAPI    *process // an API-only process with large batch limits, started by the case that needs it
	base      string   // http://127.0.0.1:port of the API and the pages
	metrics   string   // http://127.0.0.1:port of the worker's metrics and probes (METRICS_ADDR)

	codecSrv   *httptest.Server // the codec server, as `worker -dev` runs it
	gateSrv    *httptest.Server // the operator gate in front of a stand-in Temporal UI
	uiSrv      *httptest.Server
	opToken    string
	printToken string

	keys   *codec.Keyring
	tc     client.Client
	engine *engine.Engine
	cfg    config.Config
	log    func(string, ...any)

	next int // citizens registered so far
}

// The worker's limits the suite sets, so that "one byte over" and "burst + 1" stay small.
const (
	apiBurst      = 60
	apiRate       = 0.2 // a token every 5 s: burst + 1 at once is over the limit however slow the machine
	maxBatchBytes = 1 << 20
	lookupBurst   = 20
	lookupRate    = 0.2 // as apiRate: burst + 1 look-ups at once are over the limit however slow the machine
	taskQueue     = "attacks"
)

func startEnv(ctx context.Context, log func(string, ...any)) (*env, error) {
	dir, err := os.MkdirTemp("", "digitalpost-attacks-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir, serverURL: store.TestServerURL(), log: log, opToken: randomHex(16), printToken: randomHex(24)}
	if err := e.createDatabase(ctx); err != nil {
		return e, err
	}
	cli, ok := devenv.FindTemporalCLI()
	if !ok {
		return e, fmt.Errorf("the attack table needs the Temporal CLI (not found at %s): %s", cli, devenv.InstallHint)
	}
	if e.temporal, err = devenv.StartTemporal(ctx, devenv.TemporalOptions{CLI: cli, DBFile: filepath.Join(dir, "temporal.db"),
		Port: freePort(), UIPort: freePort(), LogFile: filepath.Join(dir, "temporal.log")}); err != nil {
		return e, err
	}
	e.twilio, e.sendgrid = providerfake.NewTwilio(), providerfake.NewSendGrid()
	e.idp = startIdentityProvider()
	e.hooks = startReceiver()
	e.otlp = startOTLPReceiver()

	e.cfg = config.Config{DatabaseURL: e.dbURL, TemporalAddress: e.temporal.Address, TemporalNamespace: "default",
		TaskQueue: taskQueue, OpenDeadline: 72 * time.Hour, SMSRatePerSecond: 50, EmailRatePerSecond: 50,
		RecoveryGrace: 30 * time.Second, PayloadKeys: codec.NewKeySpec("attacks1"), ProviderTimeout: 5 * time.Second,
		ExemptionServiceWorkingDays: 5, ReadingAccessDeadline: 14 * 24 * time.Hour, MunicipalitySenderID: "aarhus-kommune",
		NemSMSTerms: "2024-1", PostagePrices: "economy=1450,priority=2900", DefaultOpenedShare: 0.85}
	if e.keys, err = codec.ParseKeys(e.cfg.PayloadKeys); err != nil {
		return e, err
	}
	if err := e.startWorker(ctx); err != nil {
		return e, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts, err := temporalclient.Options(e.cfg, e.keys, quiet)
	if err != nil {
		return e, err
	}
	if e.tc, err = client.DialContext(ctx, opts); err != nil {
		return e, err
	}
	if e.engine, err = engine.New(e.cfg, e.db, e.tc); err != nil {
		return e, err
	}
	if err := searchattr.Register(ctx, e.tc, e.cfg.TemporalNamespace); err != nil {
		return e, err
	}
	e.startOperatorTools()
	for _, s := range []registry.Sender{{ID: "region-midt", Organisation: "Region Midtjylland"},
		{ID: "aarhus-kommune", Organisation: "Aarhus Kommune"}, {ID: "skat", Organisation: "Skattestyrelsen"},
		{ID: "burst", Organisation: "Burst Kommune"}} {
		if err := e.engine.Registry.AddSender(ctx, s); err != nil {
			return e, err
		}
	}
	return e, e.waitReady(ctx)
}

func (e *env) createDatabase(ctx context.Context) error {
	admin, err := pgx.Connect(ctx, e.serverURL)
	if err != nil {
		return fmt.Errorf("the attack table needs PostgreSQL at %s (set TEST_DATABASE_URL): %w", e.serverURL, err)
	}
	defer admin.Close(ctx)
	e.dbName = fmt.Sprintf("dp_attacks_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+e.dbName); err != nil {
		return err
	}
	cfg, _ := pgx.ParseConfig(e.serverURL)
	e.dbURL = fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, e.dbName)
	if e.db, err = store.Open(ctx, e.dbURL, 8); err != nil {
		return err
	}
	return store.Migrate(ctx, e.db)
}

// startWorker builds the worker from this module and runs it as production does (no -dev),
// with OpenID Connect sign-in against the suite's provider and the print house's token.
func (e *env) startWorker(ctx context.Context) error {
	bin := filepath.Join(e.dir, "worker")
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./worker")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the worker: %v\n%s", err, out)
	}
	e.workerBin = bin
	addr := fmt.Sprintf("127.0.0.1:%d", freePort())
	e.base = "http://" + addr
	e.workerTmp = filepath.Join(e.dir, "tmp")
	e.workerLog = filepath.Join(e.dir, "worker.log")
	if err := os.MkdirAll(e.workerTmp, 0o750); err != nil {
		return err
	}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort())
	e.metrics = "http://" + metricsAddr
	env := append(e.workerEnv(addr, e.workerTmp), "METRICS_ADDR="+metricsAddr) // as the chart runs it
	logFile, err := os.Create(e.workerLog)
	if err != nil {
		return err
	}
	e.worker = exec.Command(bin)
	e.worker.Env, e.worker.Stdout, e.worker.Stderr = env, logFile, logFile
	e.worker.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the suite
	if err := e.worker.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start the worker: %w", err)
	}
	e.workerEnd = make(chan struct{})
	go func() { _ = e.worker.Wait(); logFile.Close(); close(e.workerEnd) }()
	return nil
}

// workerEnv is the worker's environment, serving on addr with tmp as its TMPDIR.
func (e *env) workerEnv(addr, tmp string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + tmp,
		"DEV_DATA_DIR=" + filepath.Join(e.dir, "devdata"),
		"DATABASE_URL=" + e.dbURL, "TEMPORAL_ADDRESS=" + e.cfg.TemporalAddress, "TEMPORAL_TASK_QUEUE=" + taskQueue,
		"PAYLOAD_KEYS=" + e.cfg.PayloadKeys, "PRINT_SPOOL_DIR=" + filepath.Join(e.dir, "spool"),
		"HTTP_ADDR=" + addr, "PRINT_HOUSE_TOKEN=" + e.printToken,
		"OIDC_ISSUER=" + e.idp.srv.URL, "OIDC_CLIENT_ID=digitalpost", "OIDC_CLIENT_SECRET=secret",
		"OIDC_REDIRECT_URL=" + e.base + "/oidc/callback",
		// http:// receivers allowed, as the issue asks: the internal-address check must still hold.
		"WEBHOOK_ALLOW_HTTP=true",
		fmt.Sprintf("API_RATE_PER_SECOND=%g", apiRate), fmt.Sprintf("API_BURST=%d", apiBurst),
		fmt.Sprintf("LOOKUP_RATE_PER_SECOND=%g", lookupRate), fmt.Sprintf("LOOKUP_BURST=%d", lookupBurst),
		fmt.Sprintf("MAX_BATCH_BYTES=%d", maxBatchBytes),
		"TWILIO_ACCOUNT_SID=" + e.twilio.AccountSID, "TWILIO_AUTH_TOKEN=" + e.twilio.AuthToken, "TWILIO_BASE_URL=" + e.twilio.Server.URL,
		"SENDGRID_API_KEY=" + e.sendgrid.APIKey, "SENDGRID_BASE_URL=" + e.sendgrid.Server.URL,
		// Spans go to the suite's own collector, in batches every half second.
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + e.otlp.srv.URL, "OTEL_BSP_SCHEDULE_DELAY=500",
	}
}

// process is another process of the worker binary the suite runs.
type process struct {
	cmd  *exec.Cmd
	base string
	tmp  string
	end  chan struct{}
}

// startAPIProcess runs the worker binary as an API-only process (SERVE=api) with the
// worker's environment and extra settings after it (later ones win), and waits until it is ready.
func (e *env) startAPIProcess(ctx context.Context, name string, extra ...string) (*process, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort())
	p := &process{base: "http://" + addr, tmp: filepath.Join(e.dir, name+"-tmp"), end: make(chan struct{})}
	if err := os.MkdirAll(p.tmp, 0o750); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(e.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(e.workerBin)
	p.cmd.Env = append(append(e.workerEnv(addr, p.tmp), "SERVE=api"), extra...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	go func() { _ = p.cmd.Wait(); logFile.Close(); close(p.end) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if r := send(http.MethodGet, p.base+"/readyz", nil); r.status == http.StatusOK {
			return p, nil
		}
		select {
		case <-p.end:
			return nil, fmt.Errorf("%s exited before it was ready", name)
		case <-time.After(300 * time.Millisecond):
		}
	}
	p.stop()
	return nil, fmt.Errorf("%s did not become ready", name)
}

func (p *process) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.end:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

// waitReady waits until the worker's /readyz answers 200.
func (e *env) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(e.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.workerEnd:
			deadline = time.Now()
		case <-time.After(300 * time.Millisecond):
		}
	}
	tail, _ := os.ReadFile(e.workerLog)
	if len(tail) > 3000 {
		tail = tail[len(tail)-3000:]
	}
	return fmt.Errorf("the worker did not become ready at %s:\n%s", e.base, tail)
}

// startOperatorTools runs the codec server and the operator gate as `worker -dev` does, the
// gate in front of a stand-in for the Temporal UI that says when it was reached.
func (e *env) startOperatorTools() {
	e.codecSrv = httptest.NewServer(codecserver.Handler(codec.New(e.keys), e.opToken, nil))
	e.uiSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "TEMPORAL-UI-REACHED")
	}))
	ui, _ := url.Parse(e.uiSrv.URL)
	e.gateSrv = httptest.NewServer(operatorgate.New(ui, e.opToken, codec.New(e.keys)))
}

func (e *env) close() {
	e.bigAPI.stop()
	if e.worker != nil && e.worker.Process != nil {
		_ = e.worker.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.workerEnd:
		case <-time.After(10 * time.Second):
			_ = e.worker.Process.Kill()
		}
	}
	for _, s := range []*httptest.Server{e.codecSrv, e.gateSrv, e.uiSrv} {
		if s != nil {
			s.Close()
		}
	}
	if e.idp != nil {
		e.idp.srv.Close()
	}
	if e.hooks != nil {
		e.hooks.close()
	}
	if e.otlp != nil {
		e.otlp.srv.Close()
	}
	if e.twilio != nil {
		e.twilio.Server.Close()
		e.sendgrid.Server.Close()
	}
	if e.tc != nil {
		e.tc.Close()
	}
	if e.temporal != nil {
		e.temporal.Stop()
	}
	if e.db != nil {
		e.db.Close()
	}
	if e.dbName != "" {
		if c, err := pgx.Connect(context.Background(), e.serverURL); err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+e.dbName+" WITH (FORCE)")
			c.Close(context.Background())
		}
	}
	if os.Getenv("ATTACKS_KEEP") == "" {
		_ = os.RemoveAll(e.dir)
	} else {
		e.log("kept %s (worker.log, temporal.log)", e.dir)
	}
}

// person is a registered citizen and what must never leak about them.
type person struct {
	ID                       string
	CPR, Name, Email, Mobile string
	Digits                   string // the CPR number without the dash
}

// citizen registers a new adult citizen.
func (e *env) citizen(ctx context.Context, name string) (person, error) {
	e.next++
	n := e.next + 40
	cpr := fmt.Sprintf("%02d%02d%02d-%d%03d", 1+n%28, 1+(n/28)%12, 60+(n/336)%40, n%4, 100+n%900)
	p := person{CPR: cpr, Digits: strings.ReplaceAll(cpr, "-", ""), Name: name,
		Email: fmt.Sprintf("borger.%d.angreb@example.dk", n), Mobile: fmt.Sprintf("+4521%06d", 300000+n)}
	c, err := e.engine.Registry.AddCitizen(ctx, registry.NewCitizen{CPR: p.CPR, Name: name,
		Address: fmt.Sprintf("Angrebsvej %d\n8000 Aarhus C", n), Mobile: p.Mobile, Email: p.Email})
	p.ID = c.ID.String()
	return p, err
}

func moduleRoot(ctx context.Context) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(gomod))), nil
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
