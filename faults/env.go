package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"digitalpost/internal/codec"
	"digitalpost/internal/config"
	"digitalpost/internal/devenv"
	"digitalpost/internal/engine"
	"digitalpost/internal/providerfake"
	"digitalpost/internal/registry"
	"digitalpost/internal/searchattr"
	"digitalpost/internal/store"
	"digitalpost/internal/temporalclient"
)

// env is one whole system on this machine, with every part the suite breaks within reach:
// a PostgreSQL database of its own, a Temporal dev server on a SQLite file (so a restart keeps
// its state), the providers' fakes, and the worker as a separate process it can SIGKILL.
type env struct {
	dir       string
	serverURL string
	dbName    string
	dbURL     string
	db        *pgxpool.Pool

	temporalOpts devenv.TemporalOptions
	temporal     *devenv.TemporalServer

	twilio   *providerfake.Twilio
	sendgrid *providerfake.SendGrid

	workerBin string
	workerEnv []string
	worker    *exec.Cmd

	tc     client.Client
	engine *engine.Engine
	cfg    config.Config
	rate   float64
	next   int // citizens registered so far
	log    func(string, ...any)
}

// settings choose the size of a run.
type settings struct {
	Letters         int           // letters per scenario
	Rate            float64       // provider calls per second (SMS_RATE_PER_SECOND and EMAIL_RATE_PER_SECOND)
	ProviderTimeout time.Duration // PROVIDER_TIMEOUT
	Settle          time.Duration // how long a scenario may take to settle
	Scale           float64       // fault durations: 1 is the table
	Only            string        // run only the faults whose name contains this
	Except          string        // leave out the fault with this name
}

func startEnv(ctx context.Context, s settings, log func(string, ...any)) (*env, error) {
	dir, err := os.MkdirTemp("", "digitalpost-faults-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir, serverURL: store.TestServerURL(), rate: s.Rate, log: log}
	if err := e.createDatabase(ctx); err != nil {
		return e, err
	}
	cli, ok := devenv.FindTemporalCLI()
	if !ok {
		return e, fmt.Errorf("the fault suite needs the Temporal CLI (not found at %s): %s", cli, devenv.InstallHint)
	}
	port, uiPort := freePort(), freePort()
	e.temporalOpts = devenv.TemporalOptions{CLI: cli, DBFile: filepath.Join(dir, "temporal.db"), Port: port, UIPort: uiPort,
		LogFile: filepath.Join(dir, "temporal.log")}
	if e.temporal, err = devenv.StartTemporal(ctx, e.temporalOpts); err != nil {
		return e, err
	}
	e.twilio, e.sendgrid = providerfake.NewTwilio(), providerfake.NewSendGrid()

	e.cfg = config.Config{DatabaseURL: e.dbURL, TemporalAddress: e.temporal.Address, TemporalNamespace: "default",
		TaskQueue: "faults", OpenDeadline: 72 * time.Hour, SMSRatePerSecond: s.Rate, EmailRatePerSecond: s.Rate,
		RecoveryGrace: 30 * time.Second, PayloadKeys: codec.NewKeySpec("faults1"), ProviderTimeout: s.ProviderTimeout,
		ExemptionServiceWorkingDays: 5, ReadingAccessDeadline: 14 * 24 * time.Hour, MunicipalitySenderID: "region-midt"}
	e.workerEnv = append(os.Environ(),
		"DEV_DATA_DIR="+filepath.Join(dir, "devdata"), // no dev.env from a developer's own runtime
		"DATABASE_URL="+e.dbURL, "TEMPORAL_ADDRESS="+e.temporal.Address, "TEMPORAL_TASK_QUEUE="+e.cfg.TaskQueue,
		"PAYLOAD_KEYS="+e.cfg.PayloadKeys, "PRINT_SPOOL_DIR="+filepath.Join(dir, "spool"),
		fmt.Sprintf("SMS_RATE_PER_SECOND=%g", s.Rate), fmt.Sprintf("EMAIL_RATE_PER_SECOND=%g", s.Rate),
		"PROVIDER_TIMEOUT="+s.ProviderTimeout.String(),
		"TWILIO_ACCOUNT_SID="+e.twilio.AccountSID, "TWILIO_AUTH_TOKEN="+e.twilio.AuthToken, "TWILIO_BASE_URL="+e.twilio.Server.URL,
		"SENDGRID_API_KEY="+e.sendgrid.APIKey, "SENDGRID_BASE_URL="+e.sendgrid.Server.URL)
	if err := e.buildWorker(ctx); err != nil {
		return e, err
	}
	if err := e.startWorker(); err != nil {
		return e, err
	}

	// The suite submits as a sender's process would: through the post office, with no worker.
	keys, _ := codec.ParseKeys(e.cfg.PayloadKeys)
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	opts, err := temporalclient.Options(e.cfg, keys, quiet)
	if err != nil {
		return e, err
	}
	if e.tc, err = client.DialContext(ctx, opts); err != nil {
		return e, err
	}
	if e.engine, err = engine.New(e.cfg, e.db, e.tc); err != nil {
		return e, err
	}
	// The worker registers the search attributes too, but submissions must not race its start.
	if err := searchattr.Register(ctx, e.tc, e.cfg.TemporalNamespace); err != nil {
		return e, err
	}
	for _, s := range []registry.Sender{{ID: "region-midt", Organisation: "Region Midtjylland"},
		{ID: otherSenders[0], Organisation: "Aarhus Kommune"}, {ID: otherSenders[1], Organisation: "Skattestyrelsen"}} {
		if err := e.engine.Registry.AddSender(ctx, s); err != nil {
			return e, err
		}
	}
	return e, nil
}

func (e *env) createDatabase(ctx context.Context) error {
	admin, err := pgx.Connect(ctx, e.serverURL)
	if err != nil {
		return fmt.Errorf("the fault suite needs PostgreSQL at %s (set TEST_DATABASE_URL, or start the local one: "+
			"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start): %w", e.serverURL, err)
	}
	defer admin.Close(ctx)
	e.dbName = fmt.Sprintf("dp_faults_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+e.dbName); err != nil {
		return err
	}
	cfg, _ := pgx.ParseConfig(e.serverURL)
	e.dbURL = fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, e.dbName)
	if e.db, err = store.Open(ctx, e.dbURL, 10); err != nil {
		return err
	}
	return store.Migrate(ctx, e.db)
}

// buildWorker builds the worker binary once, from this module.
func (e *env) buildWorker(ctx context.Context) error {
	e.workerBin = filepath.Join(e.dir, "worker")
	root, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("find the module: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", e.workerBin, "./worker")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the worker: %v\n%s", err, out)
	}
	return nil
}

func (e *env) startWorker() error {
	logFile, err := os.OpenFile(filepath.Join(e.dir, "worker.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	cmd := exec.Command(e.workerBin)
	cmd.Env, cmd.Stdout, cmd.Stderr = e.workerEnv, logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the suite
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the worker: %w", err)
	}
	e.worker = cmd
	go func() { _ = cmd.Wait(); logFile.Close() }()
	return nil
}

// killWorker SIGKILLs the worker: no shutdown, no goodbye, as a machine that dies.
func (e *env) killWorker() {
	if e.worker != nil && e.worker.Process != nil {
		_ = e.worker.Process.Kill()
		time.Sleep(200 * time.Millisecond)
	}
}

func (e *env) restartTemporal(ctx context.Context, down time.Duration) error {
	e.temporal.Stop()
	time.Sleep(down)
	var err error
	for range 10 { // the port may linger a moment after the old server exits
		if e.temporal, err = devenv.StartTemporal(ctx, e.temporalOpts); err == nil {
			return nil
		}
		time.Sleep(time.Second)
	}
	return err
}

func (e *env) close() {
	e.killWorker()
	if e.tc != nil {
		e.tc.Close()
	}
	if e.temporal != nil {
		e.temporal.Stop()
	}
	if e.twilio != nil {
		e.twilio.Server.Close()
		e.sendgrid.Server.Close()
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
	if os.Getenv("FAULTS_KEEP") == "" {
		_ = os.RemoveAll(e.dir)
	} else {
		e.log("kept %s (worker.log, temporal.log)", e.dir)
	}
}

// citizen registers a new adult citizen with their own mobile and e-mail, so the fakes can
// count each letter's notices.
func (e *env) citizen(ctx context.Context) (cpr, mobile, email string, err error) {
	e.next++
	n := e.next
	// DDMMYY-SSSS: born 1950–1999 (seventh digit 0–3: the 1900s), a distinct serial per citizen.
	cpr = fmt.Sprintf("%02d%02d%02d-%d%03d", 1+n%28, 1+(n/28)%12, 50+(n/336)%50, n%4, n/4%1000)
	mobile = fmt.Sprintf("+452%07d", n)
	email = fmt.Sprintf("borger%d@example.dk", n)
	_, err = e.engine.Registry.AddCitizen(ctx, registry.NewCitizen{CPR: cpr, Name: fmt.Sprintf("Borger %d", n),
		Address: "Gade 1\n8000 Aarhus C", Mobile: mobile, Email: email})
	return cpr, mobile, email, err
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func newRunID() string { return uuid.NewString()[:8] }
