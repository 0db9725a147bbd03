package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"digitalpost/internal/adapters/providerfake"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/devenv"
	"digitalpost/internal/infra/engine"
	"digitalpost/internal/infra/searchattr"
	"digitalpost/internal/infra/store"
	"digitalpost/internal/infra/temporalclient"
)

// env is one whole system on this machine, with every part the suite breaks within reach:
// a PostgreSQL database of its own, a Temporal dev server on a SQLite file (so a restart keeps
// its state) or, with -cluster, a multi-process Temporal cluster of its own
// (scripts/temporal-cluster), the providers' fakes, and the workers as separate processes it
// can SIGKILL: one against the dev server, two against the cluster (one per frontend).
type env struct {
	dir       string
	serverURL string
	dbName    string
	dbURL     string
	db        *pgxpool.Pool

	temporalOpts devenv.TemporalOptions
	temporal     *devenv.TemporalServer
	cluster      *cluster // with -cluster, in place of temporal

	twilio   *providerfake.Twilio
	sendgrid *providerfake.SendGrid

	workerBin  string
	workerEnv  []string // every worker's environment; a cluster worker adds its own (workerIn)
	workers    []*proc  // our worker processes: killWorker and startWorker act on all of them
	api        *proc    // the API process of the cluster's API row, once started
	apiKey     string
	info       []string // what a fault saw, for the row's note (not a failure)
	noRestart  bool     // -no-restart: killed processes stay down
	settleTime time.Duration
	lastIDs    []uuid.UUID // the letters of the row being run
	rowNotices int         // notices the fakes held when the row began
	// the most PostgreSQL client connections seen since the row began: all, the suite's own
	connMu    sync.Mutex
	connPeak  [2]int
	stopWatch context.CancelFunc
	// upgradedAt: when the rolling upgrade made v2 current
	upgradedAt time.Time

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
	Cluster         bool          // on a Temporal cluster of the suite's own, with two worker processes
	Kills           bool          // with Cluster: only the cluster's own rows (processes killed, the rolling upgrade)
	NoRestart       bool          // killed processes are not started again: the kill rows must fail
}

func startEnv(ctx context.Context, s settings, log func(string, ...any)) (*env, error) {
	dir, err := os.MkdirTemp("", "digitalpost-faults-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir, serverURL: store.TestServerURL(), rate: s.Rate, log: log, noRestart: s.NoRestart, settleTime: s.Settle}
	pool := int32(10)
	if s.Cluster {
		pool = suitePoolOnCluster
	}
	if err := e.createDatabase(ctx, pool); err != nil {
		return e, err
	}
	var address string
	if s.Cluster {
		if e.cluster, err = startCluster(ctx, dir, log); err != nil {
			return e, err
		}
		address = e.cluster.frontend(1)
	} else {
		cli, ok := devenv.FindTemporalCLI()
		if !ok {
			return e, fmt.Errorf("the fault suite needs the Temporal CLI (not found at %s): %s", cli, devenv.InstallHint)
		}
		e.temporalOpts = devenv.TemporalOptions{CLI: cli, DBFile: filepath.Join(dir, "temporal.db"), LogFile: filepath.Join(dir, "temporal.log")}
		if e.temporal, e.temporalOpts, err = startDevServer(ctx, e.temporalOpts, freePort, log); err != nil {
			return e, err
		}
		address = e.temporal.Address
	}
	e.twilio, e.sendgrid = providerfake.NewTwilio(), providerfake.NewSendGrid()

	e.cfg = config.Config{DatabaseURL: e.dbURL, TemporalAddress: address, TemporalNamespace: "default",
		TaskQueue: "faults", OpenDeadline: 72 * time.Hour, SMSRatePerSecond: s.Rate, EmailRatePerSecond: s.Rate, ProviderUrgentShare: 0.1,
		RecoveryGrace: 30 * time.Second, PayloadKeys: codec.NewKeySpec("faults1"), ProviderTimeout: s.ProviderTimeout,
		ExemptionServiceWorkingDays: 5, ReadingAccessDeadline: 14 * 24 * time.Hour, MunicipalitySenderID: "region-midt"}
	e.workerEnv = append(os.Environ(),
		"DEV_DATA_DIR="+filepath.Join(dir, "devdata"), // no dev.env from a developer's own runtime
		// The worker serves the senders' API too (SERVE's default), which nothing here calls
		// (the cluster's API process gets a port of its own, startAPI): the kernel picks its
		// port, so a developer's own runtime on 8080 cannot keep the suite's worker from starting.
		"HTTP_ADDR=127.0.0.1:0",
		"DATABASE_URL="+e.dbURL, "TEMPORAL_ADDRESS="+address, "TEMPORAL_TASK_QUEUE="+e.cfg.TaskQueue,
		"PAYLOAD_KEYS="+e.cfg.PayloadKeys, "PRINT_SPOOL_DIR="+filepath.Join(dir, "spool"),
		fmt.Sprintf("SMS_RATE_PER_SECOND=%g", s.Rate), fmt.Sprintf("EMAIL_RATE_PER_SECOND=%g", s.Rate),
		"PROVIDER_TIMEOUT="+s.ProviderTimeout.String(),
		"TWILIO_ACCOUNT_SID="+e.twilio.AccountSID, "TWILIO_AUTH_TOKEN="+e.twilio.AuthToken, "TWILIO_BASE_URL="+e.twilio.Server.URL,
		"SENDGRID_API_KEY="+e.sendgrid.APIKey, "SENDGRID_BASE_URL="+e.sendgrid.Server.URL)
	if err := e.buildWorker(ctx); err != nil {
		return e, err
	}
	if s.Cluster {
		// Two worker processes of build v1, one per frontend, as two pods behind a Service,
		// started together as a Deployment's first pods are.
		e.workers = []*proc{e.workerIn("worker-1", 1, clusterBuild, workerConnsOnCluster), e.workerIn("worker-2", 2, clusterBuild, workerConnsOnCluster)}
	} else {
		e.workers = []*proc{{name: "worker", env: e.workerEnv, log: filepath.Join(dir, "worker.log")}}
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
	if s.Cluster {
		if err := e.clusterWarmUp(ctx); err != nil {
			return e, err
		}
		watch, stop := context.WithCancel(ctx)
		watched := make(chan struct{})
		e.stopWatch = func() { stop(); <-watched } // the sampler has stopped when close goes on
		go func() { defer close(watched); e.watchConnections(watch) }()
	}
	for _, s := range []registry.Sender{{ID: "region-midt", Organisation: "Region Midtjylland"},
		{ID: otherSenders[0], Organisation: "Aarhus Kommune"}, {ID: otherSenders[1], Organisation: "Skattestyrelsen"}} {
		if err := e.engine.Registry.AddSender(ctx, s); err != nil {
			return e, err
		}
	}
	return e, nil
}

func (e *env) createDatabase(ctx context.Context, pool int32) error {
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
	if e.db, err = store.Open(ctx, e.dbURL, pool); err != nil {
		return err
	}
	return store.Migrate(ctx, e.db)
}

// buildWorker builds the worker binary once, from this module.
func (e *env) buildWorker(ctx context.Context) error {
	e.workerBin = filepath.Join(e.dir, "worker")
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", e.workerBin, "./worker")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the worker: %v\n%s", err, out)
	}
	return nil
}

// moduleRoot is the folder of this module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(gomod))), nil
}

// startWorker starts every worker process that is not running.
func (e *env) startWorker() error {
	for _, w := range e.workers {
		if !w.running() {
			if err := w.start(e.workerBin); err != nil {
				return err
			}
		}
	}
	return nil
}

// killWorker SIGKILLs every worker: no shutdown, no goodbye, as machines that die.
func (e *env) killWorker() {
	for _, w := range e.workers {
		w.kill()
	}
}

func (e *env) restartTemporal(ctx context.Context, down time.Duration) error {
	if e.cluster != nil { // the whole cluster: every process stopped, its databases kept
		if err := e.cluster.stop(ctx); err != nil {
			return err
		}
		sleep(ctx, down)
		return e.cluster.start(ctx)
	}
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

// note records what a fault saw, for the row's note column; it fails nothing.
func (e *env) note(format string, a ...any) {
	e.info = append(e.info, fmt.Sprintf(format, a...))
	e.log("  "+format, a...)
}

func (e *env) close() {
	if e.stopWatch != nil {
		e.stopWatch()
	}
	e.killWorker()
	if e.api != nil {
		e.api.kill()
	}
	if e.tc != nil {
		e.tc.Close()
	}
	if e.temporal != nil {
		e.temporal.Stop()
	}
	if e.cluster != nil {
		e.cluster.close()
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
		e.log("kept %s (the workers' logs, temporal.log or cluster/)", e.dir)
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

// freePort is a port the kernel had free a moment ago. A process that must be told its port
// (the Temporal CLI, the API process's HTTP_ADDR) cannot be given port 0, so the port is picked
// by opening and closing a listener; another process may take it in between, so whoever starts
// on it must start again on a new one when the bind fails (startDevServer, startAPI).
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portStarts is how often a process is started on newly picked ports before the suite gives up.
const portStarts = 5

// startDevServer starts the Temporal dev server on two ports from pick (its gRPC and UI ports).
// When either was taken between picking and binding, the CLI exits at once and says so in its
// log ("bind: address already in use"), and the server is started again on new ports; any
// other failure is returned as it is. It returns the options the server runs with, which a
// restart reuses: the workers know its address.
func startDevServer(ctx context.Context, o devenv.TemporalOptions, pick func() (int, error), log func(string, ...any)) (*devenv.TemporalServer, devenv.TemporalOptions, error) {
	for attempt := 1; ; attempt++ {
		var err error
		if o.Port, err = pick(); err != nil {
			return nil, o, err
		}
		if o.UIPort, err = pick(); err != nil {
			return nil, o, err
		}
		from := logSize(o.LogFile)
		s, err := devenv.StartTemporal(ctx, o)
		if err == nil || attempt == portStarts || ctx.Err() != nil || !bindFailedSince(o.LogFile, from) {
			return s, o, err
		}
		log("Temporal dev server: port %d or %d was taken after it was picked; starting on new ones", o.Port, o.UIPort)
	}
}

// logSize is how long a log file is now, so bindFailedSince reads only what a start wrote.
func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// bindFailedSince reports whether a process wrote a failed bind to its log after offset from.
func bindFailedSince(path string, from int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return false
	}
	tail, err := io.ReadAll(f)
	return err == nil && strings.Contains(string(tail), "address already in use")
}

func newRunID() string { return uuid.NewString()[:8] }
