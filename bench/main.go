// Command bench measures the engine against the ceiling Temporal itself sets on the same
// server: empty workflows (baseline) and real letters through the real activities, PostgreSQL
// and the providers' local fakes, in one run. See BENCHMARKS.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/schollz/progressbar/v3"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/errgroup"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/adapters/providerfake"
	"digitalpost/internal/clients/api"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/devenv"
	"digitalpost/internal/infra/engine"
	"digitalpost/internal/infra/history"
	"digitalpost/internal/infra/searchattr"
	"digitalpost/internal/infra/store"
	"digitalpost/internal/infra/telemetry"
	"digitalpost/internal/infra/temporalclient"
)

type options struct {
	letters, concurrency, bulk, waiting int
	cacheSize, costLetters, pollers     int
	slots, urgentSlots                  int
	firstTryAhead                       time.Duration
	loadRate, fairRate, urgentShare     float64
	fairBulk                            int
	reminder                            time.Duration
	metrics                             bool
	temporal, namespace, databaseURL    string
	jsonOut, heapProfile, cpuProfile    string
	phases, submitterFor, compression   string
}

// Results is what one run measured; it is printed as a table and written as JSON.
type Results struct {
	Machine        string             `json:"machine"`
	Server         string             `json:"server"`
	Options        map[string]any     `json:"options"`
	BaselinePerSec float64            `json:"baseline_per_sec,omitempty"`
	ShapePerSec    float64            `json:"letter_shape_per_sec,omitempty"`
	LettersPerSec  float64            `json:"letters_per_sec,omitempty"`
	LetterToShape  float64            `json:"letters_to_shape,omitempty"`
	LetterRatio    float64            `json:"letters_to_baseline,omitempty"`
	LatencyMS      map[string]float64 `json:"submit_to_notified_ms,omitempty"`
	APIPerSec      float64            `json:"api_letters_per_sec,omitempty"`
	APIToLetters   float64            `json:"api_to_in_process,omitempty"`
	APILatencyMS   map[string]float64 `json:"api_submit_to_notified_ms,omitempty"`
	HistoryEvents  map[string]int     `json:"history_events,omitempty"`
	BulkLetters    int                `json:"bulk_letters,omitempty"`
	BulkSeconds    float64            `json:"bulk_seconds_to_all_delivered,omitempty"`
	BulkPerSec     float64            `json:"bulk_per_sec,omitempty"`
	BulkRatio      float64            `json:"bulk_to_baseline,omitempty"`
	BulkNotifiedS  float64            `json:"bulk_seconds_to_all_notified,omitempty"`
	BulkRSSMB      float64            `json:"bulk_worker_rss_mb,omitempty"`
	BulkPeakRSSMB  float64            `json:"bulk_peak_rss_mb,omitempty"`
	BulkPGPerKB    float64            `json:"bulk_postgres_kb_per_letter,omitempty"`
	Waiting        int                `json:"waiting_letters,omitempty"`
	RSSMB          float64            `json:"worker_rss_mb_with_waiting,omitempty"`
	RSSPerLetterKB float64            `json:"rss_kb_per_waiting_letter,omitempty"`
	PGPerLetterKB  float64            `json:"postgres_kb_per_waiting_letter,omitempty"`
	// Cost is what one letter costs on each path (cost phase).
	Cost map[string]*PathCost `json:"cost_per_letter,omitempty"`
	// Submission paths: a submitter in another process (no eager start), and the latency
	// at a fixed offered load (half the measured maximum unless -load-rate says otherwise).
	RemotePerSec    float64            `json:"other_process_letters_per_sec,omitempty"`
	RemoteToLetters float64            `json:"other_process_to_in_process,omitempty"`
	RemoteLatencyMS map[string]float64 `json:"other_process_submit_to_notified_ms,omitempty"`
	LoadOffered     float64            `json:"fixed_load_offered_per_sec,omitempty"`
	LoadAchieved    float64            `json:"fixed_load_achieved_per_sec,omitempty"`
	LoadLatencyMS   map[string]float64 `json:"fixed_load_submit_to_notified_ms,omitempty"`
	LoadSubmitMS    map[string]float64 `json:"fixed_load_submit_ms,omitempty"`
	// The deployed shape at half load: letters from another process at half the in-process rate.
	RemoteLoadOffered   float64            `json:"other_process_fixed_load_per_sec,omitempty"`
	RemoteLoadLatencyMS map[string]float64 `json:"other_process_fixed_load_submit_to_notified_ms,omitempty"`
	// Fairness: sender B's single letters (another process, one a second) during sender A's bulk
	// run at the providers' production rates, against B alone; A's throughput against A alone.
	Fairness *FairnessResult `json:"fairness,omitempty"`
}

func main() {
	var o options
	flag.IntVar(&o.letters, "letters", 1000, "letters (and empty workflows) in the throughput phases")
	flag.IntVar(&o.concurrency, "concurrency", 50, "concurrent submitters")
	flag.IntVar(&o.bulk, "bulk", 10000, "letters in the bulk run")
	flag.IntVar(&o.waiting, "waiting", 20000, "letters left waiting for opening")
	flag.StringVar(&o.temporal, "temporal", "", "Temporal frontend host:port; empty starts a dev server in memory from the Temporal CLI")
	flag.StringVar(&o.namespace, "namespace", "default", "Temporal namespace")
	flag.StringVar(&o.databaseURL, "database-url", store.TestServerURL(), "PostgreSQL server; the bench creates its own database there and drops it")
	flag.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	flag.IntVar(&o.cacheSize, "cache", 2000, "worker's sticky workflow cache size (WORKER_WORKFLOW_CACHE_SIZE)")
	flag.BoolVar(&o.metrics, "metrics", true, "record the SDK's and the engine's metrics, as a production worker does")
	flag.DurationVar(&o.reminder, "reminder", 24*time.Hour, "LETTER_REMINDER_BEFORE: each letter's reminder timer (0: none, as before reminders)")
	flag.StringVar(&o.heapProfile, "heap-profile", "", "write a heap profile after the waiting phase to this file")
	flag.StringVar(&o.cpuProfile, "cpu-profile", "", "write a CPU profile of this process (worker, client, fakes) during the letters phase to this file")
	flag.StringVar(&o.compression, "grpc-compression", "gzip", "TEMPORAL_GRPC_COMPRESSION: gzip or none")
	flag.IntVar(&o.pollers, "pollers", 0, "WORKER_WORKFLOW_TASK_POLLERS: the letters worker's workflow task pollers (0: autoscaled)")
	flag.IntVar(&o.slots, "slots", 10, "WORKER_WORKFLOW_TASK_SLOTS: workflow tasks the letters worker runs at once")
	flag.IntVar(&o.urgentSlots, "urgent-slots", 10, "WORKER_URGENT_WORKFLOW_TASK_SLOTS: workflow tasks the urgent queue's worker runs at once")
	flag.DurationVar(&o.firstTryAhead, "first-try-ahead", notify.DefaultFirstTryAhead, "how far ahead a notice's first try may take its provider's pace slot")
	flag.IntVar(&o.costLetters, "cost-letters", 300, "letters per path in the cost phase")
	flag.Float64Var(&o.loadRate, "load-rate", 0, "offered letters/s in the load phase; 0: half the letters phase's rate")
	flag.IntVar(&o.fairBulk, "fair-bulk", 10000, "letters in sender A's bulk run in the fairness phase")
	flag.Float64Var(&o.urgentShare, "urgent-share", 0.1, "share of each provider's rate kept for urgent notices (PROVIDER_URGENT_SHARE; production's default)")
	flag.Float64Var(&o.fairRate, "fair-rate", 50, "provider calls per second in the fairness phase (SMS_RATE_PER_SECOND and EMAIL_RATE_PER_SECOND; production's default)")
	flag.StringVar(&o.phases, "phases", "baseline,shape,letters,api,remote,load,history,cost,bulk,waiting,fairness", "phases to run")
	flag.StringVar(&o.submitterFor, "submitter", "", "internal: run as the other-process submitter of the remote phase, with this task queue")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if o.submitterFor != "" {
		if err := runSubmitter(ctx, o); err != nil {
			fmt.Fprintln(os.Stderr, "bench submitter:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// EmptyWorkflow is the baseline: the least work Temporal can do for a workflow.
func EmptyWorkflow(workflow.Context) error { return nil }

// ShapeWorkflow has a letter's shape with none of its work: two local steps, a search
// attribute, a deadline timer, the opened signal, a final step. Its rate is Temporal's own
// ceiling for a letter on this server; letters/shape is what our code costs on top.
func ShapeWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	for range 2 {
		if err := workflow.ExecuteLocalActivity(ctx, noop).Get(ctx, nil); err != nil {
			return err
		}
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, searchattr.LetterStatus.ValueSet("delivered"))
	timer := workflow.NewTimer(ctx, letters.DefaultDeadline)
	opened := workflow.GetSignalChannel(ctx, "opened")
	_ = workflow.Await(ctx, func() bool { return opened.Len() > 0 || timer.IsReady() })
	if err := workflow.ExecuteLocalActivity(ctx, noop).Get(ctx, nil); err != nil {
		return err
	}
	return workflow.UpsertTypedSearchAttributes(ctx, searchattr.LetterStatus.ValueSet("opened"))
}

func noop(context.Context) error { return nil }

type bench struct {
	o        options
	e        *engine.Engine
	runID    string
	twilio   *providerfake.Twilio
	sendgrid *providerfake.SendGrid
	digital  []string    // CPR numbers of citizens with e-mail and mobile, index-aligned with their contacts
	readers  []uuid.UUID // registry ids of the digital citizens, as a signed-in mailbox page knows them
	quiet    []string    // CPR numbers of citizens without contact details
	notified []chan struct{}
	arrivals []atomic.Int32
	byMobile map[string]int
	byEmail  map[string]int
	res      Results
	opened   uuid.UUID
	trips    *store.RoundTrips
	cfg      config.Config
}

func run(ctx context.Context, o options) error {
	// The run id goes into every message id: letter ids (and so workflow ids) follow from the
	// sender's message id, and a durable Temporal remembers the last run's workflows.
	b := &bench{o: o, runID: fmt.Sprint(time.Now().Unix())}
	b.res.Options = map[string]any{"letters": o.letters, "concurrency": o.concurrency, "bulk": o.bulk, "waiting": o.waiting, "cache": o.cacheSize}
	b.res.Machine = fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	closeAll, err := b.setup(ctx)
	defer closeAll()
	if err != nil {
		return err
	}
	phases := map[string]func(context.Context) error{"baseline": b.baseline, "shape": b.shape, "letters": b.lettersPhase, "api": b.apiPhase, "history": b.historyPhase,
		"bulk": b.bulkPhase, "waiting": b.waitingPhase, "cost": b.costPhase, "remote": b.remotePhase, "load": b.loadPhase, "fairness": b.fairnessPhase}
	for _, name := range strings.Split(o.phases, ",") {
		p, ok := phases[strings.TrimSpace(name)]
		if !ok {
			return fmt.Errorf("-phases: unknown phase %q", name)
		}
		fmt.Fprintf(os.Stderr, "── %s\n", name)
		if err := p(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	b.print()
	if o.jsonOut != "" {
		out, _ := json.MarshalIndent(b.res, "", "  ")
		return os.WriteFile(o.jsonOut, append(out, '\n'), 0o644)
	}
	return nil
}

func (b *bench) setup(ctx context.Context) (func(), error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	dbURL, drop, err := createDatabase(ctx, b.o.databaseURL, "dp_bench_"+b.runID)
	if err != nil {
		return closeAll, err
	}
	closers = append(closers, drop)
	b.trips = &store.RoundTrips{}
	// 30 here and 10 in the submitter process: with the durable server's own pools (about 50)
	// everything stays under a stock PostgreSQL's 100 connections.
	db, err := store.Open(ctx, dbURL, 30, store.CountingRoundTrips(b.trips))
	if err != nil {
		return closeAll, err
	}
	closers = append(closers, db.Close)
	if err := store.Migrate(ctx, db); err != nil {
		return closeAll, err
	}

	address := b.o.temporal
	b.res.Server = "Temporal at " + address
	if address == "" {
		cli, ok := devenv.FindTemporalCLI()
		if !ok {
			return closeAll, fmt.Errorf("no Temporal CLI: %s", devenv.InstallHint)
		}
		srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{ExistingPath: cli, LogLevel: "error",
			ExtraArgs: append([]string{"--headless"}, devenv.DevServerTuning()...), ClientOptions: &client.Options{Logger: quiet()}})
		if err != nil {
			return closeAll, err
		}
		closers = append(closers, func() { _ = srv.Stop() })
		address = srv.FrontendHostPort()
		b.res.Server = "Temporal CLI dev server " + devenv.TemporalCLIVersion + ", in memory"
	}

	b.twilio, b.sendgrid = providerfake.NewTwilio(), providerfake.NewSendGrid()
	closers = append(closers, b.twilio.Server.Close, b.sendgrid.Server.Close)
	b.twilio.OnMessage = func(m providerfake.SMS) { b.arrived(b.byMobile, m.To) }
	b.sendgrid.OnMail = func(m providerfake.Mail) { b.arrived(b.byEmail, m.To) }
	cfg := config.Config{
		DatabaseURL: dbURL, TemporalAddress: address, TemporalNamespace: b.o.namespace, TaskQueue: "bench-" + b.runID,
		OpenDeadline: letters.DefaultDeadline, SMSRatePerSecond: 100000, EmailRatePerSecond: 100000, ProviderUrgentShare: b.o.urgentShare, RecoveryGrace: time.Minute, ProviderTimeout: 10 * time.Second,
		TwilioAccountSID: b.twilio.AccountSID, TwilioAuthToken: b.twilio.AuthToken, TwilioFrom: "DigitalPost", TwilioBaseURL: b.twilio.Server.URL,
		SendGridAPIKey: b.sendgrid.APIKey, SendGridFrom: "no-reply@bench.test", SendGridBaseURL: b.sendgrid.Server.URL,
		PrintSpoolDir: must(os.MkdirTemp("", "bench-spool-")), PayloadKeys: codec.NewKeySpec("bench"),
		WorkflowCacheSize: b.o.cacheSize, WorkflowTaskPollers: b.o.pollers, WorkflowTaskSlots: b.o.slots, UrgentWorkflowTaskSlots: b.o.urgentSlots, TemporalCompression: b.o.compression, ReminderBefore: b.o.reminder, QuietHours: "22-07",
	}
	closers = append(closers, func() { os.RemoveAll(cfg.PrintSpoolDir) })
	b.cfg = cfg
	keys, _ := codec.ParseKeys(cfg.PayloadKeys)
	opts, err := temporalclient.Options(cfg, keys, quiet())
	if err != nil {
		return closeAll, err
	}
	var metrics *telemetry.Metrics // as in production: the SDK's and the engine's metrics
	if b.o.metrics {
		if metrics, err = telemetry.New(quiet()); err != nil {
			return closeAll, err
		}
		opts.MetricsHandler = metrics.Temporal
	}
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return closeAll, err
	}
	closers = append(closers, tc.Close)
	if err := searchattr.Register(ctx, tc, cfg.TemporalNamespace); err != nil {
		return closeAll, err
	}
	b.e, err = engine.New(cfg, db, tc)
	if err != nil {
		return closeAll, err
	}
	if metrics != nil {
		b.e.SetMetrics(metrics)
	}
	b.e.Notices.FirstTryAhead = b.o.firstTryAhead
	workers := b.e.Workers()
	workers[0].RegisterWorkflow(EmptyWorkflow)
	workers[0].RegisterWorkflow(ShapeWorkflow)
	stop, err := b.e.StartWorkers(ctx, workers)
	if err != nil {
		return closeAll, err
	}
	closers = append(closers, stop)
	return closeAll, b.seed(ctx, db)
}

// seed registers the bench's senders and citizens straight through COPY: seeding is not measured.
func (b *bench) seed(ctx context.Context, db *pgxpool.Pool) error {
	for _, id := range []string{"bench", "bench-bulk", "bench-waiting", "bench-cost", senderA + "-alone", senderA, senderA + "-again", senderB} {
		if err := b.e.Registry.AddSender(ctx, registry.Sender{ID: id, Organisation: "Region Bench", ReturnAddress: "Benchvej 1\n8000 Aarhus C"}); err != nil {
			return err
		}
	}
	// The fairness phase's sender B writes to citizens of its own, after everyone else's.
	nDigital := b.firstFairCitizen() + fairCitizens
	nQuiet := min(max(b.o.waiting, 1), 2000)
	b.byMobile, b.byEmail = map[string]int{}, map[string]int{}
	var rows [][]any
	login := time.Now()
	for i := range nDigital + nQuiet {
		number, born := citizenNumber(i)
		email, mobile := "", ""
		id := uuid.New()
		if i < nDigital {
			email, mobile = fmt.Sprintf("c%d@bench.test", i), fmt.Sprintf("+453%07d", i)
			b.digital, b.readers = append(b.digital, number), append(b.readers, id)
			b.byMobile[mobile], b.byEmail[email] = i, i
		} else {
			b.quiet = append(b.quiet, number)
		}
		rows = append(rows, []any{id, number, fmt.Sprintf("Borger %d", i), born,
			"Benchvej 1\n8000 Aarhus C", "enrolled", login, email, mobile})
	}
	_, err := db.CopyFrom(ctx, pgx.Identifier{"citizens"},
		[]string{"id", "cpr", "name", "birth_date", "address", "enrolment", "last_login_at", "email", "mobile"}, pgx.CopyFromRows(rows))
	b.notified = make([]chan struct{}, nDigital)
	b.arrivals = make([]atomic.Int32, nDigital)
	for i := range b.notified {
		b.notified[i] = make(chan struct{})
	}
	return err
}

// citizenNumber is the CPR number of the bench's citizen i and their birth date: unique,
// well-formed numbers of adults born 1940–1989 (seventh digit 1: the 1900s). The digital
// citizens come first, so digital citizen i is citizenNumber(i) in any process.
func citizenNumber(i int) (string, time.Time) {
	day, month, yy := i%28+1, (i/28)%12+1, 40+(i/336)%50
	return fmt.Sprintf("%02d%02d%02d%04d", day, month, yy, i/16800+1000), time.Date(1900+yy, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

func digitalCitizen(i int) string {
	n, _ := citizenNumber(i)
	return n
}

// arrived counts a notice for a digital citizen; the second (SMS and e-mail) means notified.
func (b *bench) arrived(index map[string]int, to string) {
	if i, ok := index[to]; ok && b.arrivals[i].Add(1) == 2 {
		close(b.notified[i])
	}
}

func (b *bench) baseline(ctx context.Context) error {
	n := b.o.letters
	elapsed, err := b.parallel(ctx, n, "empty workflows", func(ctx context.Context, i int) error {
		run, err := b.e.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("bench-empty-%s-%d", b.runID, i), TaskQueue: b.e.Config.TaskQueue, EnableEagerStart: true}, EmptyWorkflow)
		if err != nil {
			return err
		}
		return run.Get(ctx, nil)
	})
	b.res.BaselinePerSec = float64(n) / elapsed.Seconds()
	return err
}

func (b *bench) shape(ctx context.Context) error {
	n := b.o.letters
	elapsed, err := b.parallel(ctx, n, "letter-shaped workflows", func(ctx context.Context, i int) error {
		return b.runShape(ctx, fmt.Sprintf("bench-shape-%s-%d", b.runID, i))
	})
	b.res.ShapePerSec = float64(n) / elapsed.Seconds()
	return err
}

// runShape starts one ShapeWorkflow as a letter starts, opens it and waits for its end.
func (b *bench) runShape(ctx context.Context, id string) error {
	run, err := b.e.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: b.e.Config.TaskQueue, EnableEagerStart: true}, ShapeWorkflow)
	if err != nil {
		return err
	}
	if err := b.e.Temporal.SignalWorkflow(ctx, run.GetID(), "", "opened", nil); err != nil {
		return err
	}
	return run.Get(ctx, nil)
}

func (b *bench) lettersPhase(ctx context.Context) error {
	if b.o.cpuProfile != "" {
		f, err := os.Create(b.o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	perSec, latency, err := b.measureLetters(ctx, "letters", func(ctx context.Context, i int) (uuid.UUID, error) {
		r, err := b.e.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "bench", MessageID: fmt.Sprintf("letter-%s-%d", b.runID, i),
			RecipientCPR: b.digital[i], Subject: "Indkaldelse", Body: "Du er indkaldt."})
		if i == 0 {
			b.opened = r.LetterID
		}
		return r.LetterID, err
	})
	b.res.LettersPerSec, b.res.LatencyMS = perSec, latency
	if b.res.BaselinePerSec > 0 {
		b.res.LetterRatio = b.res.LettersPerSec / b.res.BaselinePerSec
	}
	if b.res.ShapePerSec > 0 {
		b.res.LetterToShape = b.res.LettersPerSec / b.res.ShapePerSec
	}
	return err
}

// apiPhase is the letters phase with every letter submitted over HTTP, as a sender's own
// system would: POST /v1/letters to the senders' API on a loopback port, concurrency clients.
func (b *bench) apiPhase(ctx context.Context) error {
	srv, err := api.New(b.e.PostOffice, b.e.Config, b.e.Readiness(), quiet())
	if err != nil {
		return err
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	_, key, err := b.e.APIKeys.Create(ctx, "bench")
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: b.o.concurrency}, Timeout: time.Minute}
	b.resetArrivals()
	perSec, latency, err := b.measureLetters(ctx, "letters over HTTP", func(ctx context.Context, i int) (uuid.UUID, error) {
		body, _ := json.Marshal(map[string]string{"message_id": fmt.Sprintf("api-%s-%d", b.runID, i), "recipient_cpr": b.digital[i],
			"subject": "Indkaldelse", "text": "Du er indkaldt."})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/letters", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return uuid.Nil, err
		}
		defer resp.Body.Close()
		var l struct {
			ID uuid.UUID `json:"id"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || resp.StatusCode != http.StatusCreated {
			return uuid.Nil, fmt.Errorf("POST /v1/letters: %s (%v)", resp.Status, err)
		}
		return l.ID, nil
	})
	b.res.APIPerSec, b.res.APILatencyMS = perSec, latency
	if b.res.LettersPerSec > 0 {
		b.res.APIToLetters = perSec / b.res.LettersPerSec
	}
	return err
}

// measureLetters submits n letters with submit, concurrency at a time, waits for each to be
// notified (both notices at the fakes), opens it and waits for its workflow to end; it returns
// letters per second and the submit → notified latency percentiles.
func (b *bench) measureLetters(ctx context.Context, what string, submit func(context.Context, int) (uuid.UUID, error)) (float64, map[string]float64, error) {
	return b.measureLettersN(ctx, what, b.o.letters, submit)
}

// measureLettersN is measureLetters for n letters.
func (b *bench) measureLettersN(ctx context.Context, what string, n int, submit func(context.Context, int) (uuid.UUID, error)) (float64, map[string]float64, error) {
	latency := make([]time.Duration, n)
	elapsed, err := b.parallel(ctx, n, what, func(ctx context.Context, i int) error {
		t0 := time.Now()
		id, err := submit(ctx, i)
		if err != nil {
			return err
		}
		select {
		case <-b.notified[i]:
		case <-time.After(2 * time.Minute):
			return fmt.Errorf("letter %d: not notified within 2 minutes", i)
		}
		latency[i] = time.Since(t0)
		if err := b.open(ctx, id, i); err != nil {
			return err
		}
		return b.e.Temporal.GetWorkflow(ctx, letters.WorkflowID(id), "").Get(ctx, nil)
	})
	return float64(n) / elapsed.Seconds(), percentiles(latency), err
}

// percentiles are p50, p95 and p99 of the durations, in milliseconds.
func percentiles(ds []time.Duration) map[string]float64 {
	if len(ds) == 0 {
		return nil
	}
	ds = append([]time.Duration(nil), ds...)
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	pct := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000 }
	return map[string]float64{"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99)}
}

// open opens letter id as digital citizen i does on the mailbox page, signed in.
func (b *bench) open(ctx context.Context, id uuid.UUID, i int) error {
	_, err := b.e.PostOffice.OpenBy(ctx, id, b.readers[i])
	return err
}

// resetArrivals forgets the notices counted so far, so the same citizens can be notified again.
func (b *bench) resetArrivals() {
	for i := range b.notified {
		b.notified[i] = make(chan struct{})
		b.arrivals[i].Store(0)
	}
}

func (b *bench) historyPhase(ctx context.Context) error {
	b.res.HistoryEvents = map[string]int{}
	count := func(path string, id uuid.UUID) error {
		h, err := history.Fetch(ctx, b.e.Temporal, letters.WorkflowID(id))
		b.res.HistoryEvents[path] = len(h.GetEvents())
		return err
	}
	if b.opened != uuid.Nil {
		if err := count("opened", b.opened); err != nil {
			return err
		}
	}
	for path, sub := range map[string]postoffice.Submission{
		"escalated": {RecipientCPR: b.quiet[0], Deadline: time.Second},
		"paper":     {RecipientCPR: b.quiet[0], PhysicalOnly: true},
	} {
		sub.SenderID, sub.MessageID, sub.Subject, sub.Body = "bench", "history-"+path+"-"+b.runID, "Historik", "Tekst"
		r, err := b.e.PostOffice.Submit(ctx, sub)
		if err != nil {
			return err
		}
		if err := b.e.Temporal.GetWorkflow(ctx, r.WorkflowID, "").Get(ctx, nil); err != nil {
			return err
		}
		if err := count(path, r.LetterID); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) bulkPhase(ctx context.Context) error {
	pg0, err := databaseSize(ctx, b.e)
	if err != nil {
		return err
	}
	subs := make([]postoffice.Submission, b.o.bulk)
	for i := range subs {
		subs[i] = postoffice.Submission{SenderID: "bench-bulk", MessageID: fmt.Sprintf("bulk-%s-%d", b.runID, i), RecipientCPR: b.digital[i],
			Subject: "Brev til alle husstande", Body: "Tekst"}
	}
	t0 := time.Now()
	elapsed, err := b.submitAndAwaitDelivery(ctx, "bench-bulk", subs)
	if err != nil {
		return err
	}
	b.res.BulkLetters, b.res.BulkSeconds = b.o.bulk, elapsed.Seconds()
	b.res.BulkPerSec = float64(b.o.bulk) / elapsed.Seconds()
	if b.res.BaselinePerSec > 0 {
		b.res.BulkRatio = b.res.BulkPerSec / b.res.BaselinePerSec
	}
	// Delivered is not the end of a bulk letter's first day: both notices must be out too.
	if err := b.awaitCount(ctx, "notices of bench-bulk", 2*len(subs), sentNotices, "bench-bulk"); err != nil {
		return err
	}
	b.res.BulkNotifiedS = time.Since(t0).Seconds()
	pg1, err := databaseSize(ctx, b.e)
	b.res.BulkPGPerKB = float64(pg1-pg0) / 1024 / float64(b.o.bulk)
	b.res.BulkPeakRSSMB = float64(peakRSS()) / (1 << 20)
	b.res.BulkRSSMB = float64(settledRSS()) / (1 << 20)
	return err
}

func (b *bench) waitingPhase(ctx context.Context) error {
	rss0 := settledRSS()
	pg0, err := databaseSize(ctx, b.e)
	if err != nil {
		return err
	}
	subs := make([]postoffice.Submission, b.o.waiting)
	for i := range subs {
		subs[i] = postoffice.Submission{SenderID: "bench-waiting", MessageID: fmt.Sprintf("waiting-%s-%d", b.runID, i),
			RecipientCPR: b.quiet[i%len(b.quiet)], Subject: "Venter", Body: "Tekst"}
	}
	if _, err := b.submitAndAwaitDelivery(ctx, "bench-waiting", subs); err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // let the last workflow tasks finish
	rss1 := settledRSS()
	if b.o.heapProfile != "" {
		f, err := os.Create(b.o.heapProfile)
		if err != nil {
			return err
		}
		_ = pprof.WriteHeapProfile(f)
		f.Close()
	}
	pg1, err := databaseSize(ctx, b.e)
	b.res.Waiting = b.o.waiting
	b.res.RSSMB = float64(rss1) / (1 << 20)
	b.res.RSSPerLetterKB = float64(rss1-rss0) / 1024 / float64(b.o.waiting)
	b.res.PGPerLetterKB = float64(pg1-pg0) / 1024 / float64(b.o.waiting)
	return err
}

// submitAndAwaitDelivery runs subs through the bulk path and waits until every letter of
// the sender is in a mailbox; it returns the time from submission to the last delivery.
func (b *bench) submitAndAwaitDelivery(ctx context.Context, sender string, subs []postoffice.Submission) (time.Duration, error) {
	started := newBar(len(subs), "starting "+sender)
	t0 := time.Now()
	if _, err := b.e.PostOffice.SubmitBulk(ctx, subs, postoffice.BulkOptions{Concurrency: b.o.concurrency,
		Progress: func(n int) { _ = started.Set(n) }}); err != nil {
		return 0, err
	}
	_ = started.Finish()
	err := b.awaitCount(ctx, "delivered "+sender, len(subs),
		`SELECT count(*) FROM letters WHERE sender_id = $1 AND status IN ('delivered', 'notified')`, sender)
	return time.Since(t0), err
}

// sentNotices counts the notices sent for a sender's letters.
const sentNotices = `SELECT count(*) FROM notifications n JOIN letters l ON l.id = n.letter_id WHERE l.sender_id = $1 AND n.state = 'sent'`

// awaitCount polls a count(*) query until it reaches n, showing what it counts on a bar.
func (b *bench) awaitCount(ctx context.Context, what string, n int, query string, args ...any) error {
	bar := newBar(n, what)
	for {
		var got int
		if err := b.e.DB.QueryRow(ctx, query, args...).Scan(&got); err != nil {
			return err
		}
		_ = bar.Set(got)
		if got >= n {
			_ = bar.Finish()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// parallel runs n jobs, at most concurrency at once, and returns the wall time.
func (b *bench) parallel(ctx context.Context, n int, what string, job func(context.Context, int) error) (time.Duration, error) {
	bar := newBar(n, what)
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.o.concurrency)
	t0 := time.Now()
	for i := range n {
		g.Go(func() error {
			err := job(gctx, i)
			_ = bar.Set(int(done.Add(1)))
			return err
		})
	}
	err := g.Wait()
	elapsed := time.Since(t0)
	_ = bar.Finish()
	return elapsed, err
}

func (b *bench) print() {
	r := b.res
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "server\t%s\nmachine\t%s\n", r.Server, r.Machine)
	if r.BaselinePerSec > 0 {
		fmt.Fprintf(w, "baseline\t%.1f empty workflows/s\t(%d, %d concurrent, eager start)\n", r.BaselinePerSec, b.o.letters, b.o.concurrency)
	}
	if r.ShapePerSec > 0 {
		fmt.Fprintf(w, "shape\t%.1f letter-shaped workflows/s\tTemporal's ceiling for a letter: no-op steps, timer, signal (ratio to baseline %.2f)\n",
			r.ShapePerSec, r.ShapePerSec/max(r.BaselinePerSec, 1e-9))
	}
	if r.LettersPerSec > 0 {
		fmt.Fprintf(w, "letters\t%.1f letters/s\tratio to baseline %.2f (target ≥ 0.80), to shape %.2f\n", r.LettersPerSec, r.LetterRatio, r.LetterToShape)
		fmt.Fprintf(w, "latency\tsubmit → delivered and notified\tp50 %.0f ms, p95 %.0f ms, p99 %.0f ms\n", r.LatencyMS["p50"], r.LatencyMS["p95"], r.LatencyMS["p99"])
	}
	if r.APIPerSec > 0 {
		fmt.Fprintf(w, "api\t%.1f letters/s over HTTP\tratio to in-process %.2f; submit → notified p50 %.0f ms, p95 %.0f ms, p99 %.0f ms\n",
			r.APIPerSec, r.APIToLetters, r.APILatencyMS["p50"], r.APILatencyMS["p95"], r.APILatencyMS["p99"])
	}
	if r.RemotePerSec > 0 {
		fmt.Fprintf(w, "other process\t%.1f letters/s submitted from another process (no eager start)\tratio to in-process %.2f; submit → notified p50 %.0f ms, p95 %.0f ms, p99 %.0f ms\n",
			r.RemotePerSec, r.RemoteToLetters, r.RemoteLatencyMS["p50"], r.RemoteLatencyMS["p95"], r.RemoteLatencyMS["p99"])
	}
	if r.RemoteLoadOffered > 0 {
		fmt.Fprintf(w, "other process, half load\t%.1f letters/s offered from another process\tsubmit → notified p50 %.0f ms, p95 %.0f ms, p99 %.0f ms (target p99 ≤ 150 ms)\n",
			r.RemoteLoadOffered, r.RemoteLoadLatencyMS["p50"], r.RemoteLoadLatencyMS["p95"], r.RemoteLoadLatencyMS["p99"])
	}
	if f := r.Fairness; f != nil {
		fmt.Fprintf(w, "fairness, B idle\t%d single letters, one a second, from another process\tsubmit → notified p50 %.0f ms, p99 %.0f ms\n",
			f.IdleLetters, f.BIdleMS["p50"], f.BIdleMS["p99"])
		fmt.Fprintf(w, "fairness, A alone\t%d bulk letters at %.0f calls/s per provider\t%.1f letters/s to all notices sent (%.1f s); %.1f letters/s alone again after A with B\n",
			f.BulkLetters, f.Rate, f.AAlonePerSec, f.AAloneSeconds, f.AAfterPerSec)
		fmt.Fprintf(w, "fairness, A and B\t%d of B's letters during A's run\tB p50 %.0f ms, p99 %.0f ms = %.2f × idle p99 (target ≤ 2 and ≤ 1 s); A %.1f letters/s = %.2f × alone, the mean of before and after (target ≥ 0.9)\n",
			f.BusyLetters, f.BBusyMS["p50"], f.BBusyMS["p99"], f.BP99Ratio, f.ABusyPerSec, f.AThroughputRatio)
	}
	if r.LoadOffered > 0 {
		fmt.Fprintf(w, "fixed load\t%.1f letters/s offered (%.1f achieved)\tsubmit → notified p50 %.0f ms, p95 %.0f ms, p99 %.0f ms (target p99 ≤ 150 ms); submit alone p99 %.0f ms\n",
			r.LoadOffered, r.LoadAchieved, r.LoadLatencyMS["p50"], r.LoadLatencyMS["p95"], r.LoadLatencyMS["p99"], r.LoadSubmitMS["p99"])
	}
	for _, path := range costPaths {
		if c := r.Cost[path]; c != nil {
			fmt.Fprintf(w, "cost, %s\t%.1f PostgreSQL round trips, %.0f B WAL, %.0f B stored\t%.1f events, %.0f B history, %.1f billable actions; CPU ms: worker process %.1f, Temporal %.1f, PostgreSQL %.1f\n",
				path, c.PGRoundTrips, c.PGWALBytes, c.PGStorageBytes, c.HistoryEvents, c.HistoryBytes, c.Actions, c.WorkerCPUMS, c.TemporalCPUMS, c.PostgresCPUMS)
		}
	}
	if r.HistoryEvents != nil {
		fmt.Fprintf(w, "history\tevents per letter\topened %d (target ≤ 20), escalated %d, paper %d\n",
			r.HistoryEvents["opened"], r.HistoryEvents["escalated"], r.HistoryEvents["paper"])
	}
	if r.BulkLetters > 0 {
		fmt.Fprintf(w, "bulk\t%d letters delivered in %.1f s, notified in %.1f s\t%.1f letters/s delivered, ratio to baseline %.2f; process RSS %.0f MB (peak %.0f MB), +%.2f KB PostgreSQL per letter\n",
			r.BulkLetters, r.BulkSeconds, r.BulkNotifiedS, r.BulkPerSec, r.BulkRatio, r.BulkRSSMB, r.BulkPeakRSSMB, r.BulkPGPerKB)
	}
	if r.Waiting > 0 {
		fmt.Fprintf(w, "waiting\t%d letters waiting for opening\tprocess RSS %.0f MB (target ≤ 300), +%.2f KB RSS and +%.2f KB PostgreSQL per letter\n",
			r.Waiting, r.RSSMB, r.RSSPerLetterKB, r.PGPerLetterKB)
	}
	_ = w.Flush()
}

func newBar(n int, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions(n, progressbar.OptionSetDescription(what), progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetVisibility(stderrIsTerminal()),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }))
}

// peakRSS is the most this process has held resident so far, in bytes.
func peakRSS() int64 {
	return procStatusKB("VmHWM:") * 1024
}

// settledRSS is the resident set after a GC has returned what it can, in bytes.
func settledRSS() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return procStatusKB("VmRSS:") * 1024
}

// procStatusKB reads one kB field of /proc/self/status.
func procStatusKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb
		}
	}
	return 0
}

func databaseSize(ctx context.Context, e *engine.Engine) (int64, error) {
	var n int64
	err := e.DB.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
	return n, err
}

// createDatabase makes a fresh database for the run and returns a function that drops it.
func createDatabase(ctx context.Context, serverURL, name string) (string, func(), error) {
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", func() {}, fmt.Errorf("PostgreSQL at %s: %w (set -database-url)", serverURL, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", func() {}, err
	}
	cfg, _ := pgx.ParseConfig(serverURL)
	url := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
	if cfg.Password != "" {
		url = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Password, cfg.Host, cfg.Port, name)
	}
	drop := func() {
		c, err := pgx.Connect(context.Background(), serverURL)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return url, drop, nil
}

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// stderrIsTerminal: progress bars are drawn for a person watching, not into log files.
func stderrIsTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
