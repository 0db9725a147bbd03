// Package engine wires the ports, activities and workflows together once, for the worker,
// the command line and the integration tests alike.
package engine

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/errgroup"

	"digitalpost/activities"
	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/adapters/print"
	"digitalpost/internal/adapters/printhouse"
	"digitalpost/internal/adapters/webhooks"
	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/desks/operations"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/desks/recovery"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/apikeys"
	"digitalpost/internal/domain/audit"
	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/dossier"
	"digitalpost/internal/domain/events"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/fairness"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/mailbox"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/domain/pagesessions"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/domain/statistics"
	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/rollout"
	"digitalpost/internal/infra/store"
	"digitalpost/internal/infra/telemetry"
	"digitalpost/internal/infra/temporalclient"
	"digitalpost/workflows"
)

// Engine is the assembled system around one PostgreSQL pool and one Temporal client.
type Engine struct {
	Config     config.Config
	DB         *pgxpool.Pool
	Temporal   client.Client
	Registry   *registry.Registry
	Letters    *letters.Store
	Mailbox    *mailbox.Mailbox
	Notices    *notify.Service
	PrintJobs  *print.Jobs
	Cases      *exemption.Store
	Access     *access.Store
	Activities *activities.Activities
	PostOffice *postoffice.PostOffice
	Desk       *borgerservice.Desk
	Operations *operations.Desk
	APIKeys    *apikeys.Keys
	Events     *events.Feed
	Webhooks   *webhooks.Hooks
	Receipts   *printhouse.Receipts
	NemSMS     *nemsms.Store
	// Lookups records senders' look-ups in the registry; nil when no key is configured
	// (LOOKUP_AUDIT_KEY or PAYLOAD_KEYS), and then look-ups are not answered.
	Lookups *audit.Lookups
	// Statistics counts letters, notices and citizens (the post office answers with them);
	// PageSessions are the pages' sign-ins.
	Statistics   *statistics.Stats
	PageSessions *pagesessions.Rows
	Metrics      *telemetry.Metrics // nil: no metrics
	// TakeOverDeployment makes this build the Worker Deployment's current version at start,
	// whatever was current: the dev runtime's, which has no rollout to wait for.
	TakeOverDeployment bool
}

// SetMetrics hands the process's metrics to the parts that count.
func (e *Engine) SetMetrics(m *telemetry.Metrics) {
	e.Metrics, e.Activities.Metrics, e.Notices.Metrics, e.Receipts.Metrics, e.PostOffice.Metrics = m, m, m, m, m
}

// Readiness is what a process of the engine needs to work: its PostgreSQL and its Temporal.
func (e *Engine) Readiness() []telemetry.Check {
	return []telemetry.Check{
		{Part: "PostgreSQL", Ping: e.DB.Ping},
		{Part: "Temporal", Ping: func(ctx context.Context) error { _, err := e.Temporal.CheckHealth(ctx, nil); return err }},
	}
}

// CaseCounts are the open and overdue exemption cases, for the metrics' gauges.
func (e *Engine) CaseCounts(ctx context.Context) (open, overdue int64, err error) {
	err = e.DB.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE overdue) FROM exemption_cases
		WHERE status IN ('awaiting_proxy_verification', 'awaiting_decision')`).Scan(&open, &overdue)
	return open, overdue, err
}

// Connect opens PostgreSQL (migrated) and Temporal the way the worker does, with a small pool,
// and assembles the engine on them: the command line's operator and demo commands use it.
// closeAll closes both.
func Connect(ctx context.Context, cfg config.Config, poolSize int32, logger *slog.Logger, inst temporalclient.Instruments) (e *Engine, closeAll func(), err error) {
	if cfg.DatabaseURL == "" {
		return nil, nil, errors.New("DATABASE_URL is not set; start the system with `go run ./worker -dev` first")
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, poolSize)
	if err != nil {
		return nil, nil, err
	}
	if err := store.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, nil, err
	}
	tc, err := temporalclient.DialWith(ctx, cfg, logger, inst)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	if e, err = New(cfg, db, tc); err != nil {
		tc.Close()
		db.Close()
		return nil, nil, err
	}
	return e, func() { tc.Close(); db.Close() }, nil
}

// New assembles the engine. Providers without credentials fall back to the dev outbox.
func New(cfg config.Config, db *pgxpool.Pool, tc client.Client) (*Engine, error) {
	e := &Engine{Config: cfg, DB: db, Temporal: tc, Registry: registry.New(db), Letters: letters.NewStore(db),
		PrintJobs: print.NewJobs(db), Cases: exemption.NewStore(db), Access: access.NewStore(db), Receipts: printhouse.New(db),
		NemSMS: nemsms.NewStore(db, cfg.NemSMSTerms)}
	e.Mailbox = mailbox.New(db, e.Access.MayRead) // a delegate with reading access may open letters
	var sms, email notify.Provider = notify.NewOutbox(db), notify.NewOutbox(db)
	if cfg.TwilioAccountSID != "" {
		t, err := notify.NewTwilio(cfg.TwilioAccountSID, cfg.TwilioAuthToken, cfg.TwilioFrom, cfg.TwilioBaseURL, cfg.ProviderTimeout)
		if err != nil {
			return nil, err
		}
		sms = t
	}
	if cfg.SendGridAPIKey != "" {
		email = notify.NewSendGrid(cfg.SendGridAPIKey, cfg.SendGridFrom, cfg.SendGridFromName, cfg.SendGridBaseURL, cfg.ProviderTimeout)
	}
	e.Notices = notify.NewService(db, sms, email, notify.Rates{SMS: cfg.SMSRatePerSecond, Email: cfg.EmailRatePerSecond, UrgentShare: cfg.ProviderUrgentShare})
	e.Activities = &activities.Activities{Registry: e.Registry, Letters: e.Letters, Mailbox: e.Mailbox,
		Notices: e.Notices, PrintJobs: e.PrintJobs, Printer: print.Spool{Dir: cfg.SpoolDir()},
		Cases: e.Cases, Access: e.Access, Temporal: e.Temporal, NemSMS: e.NemSMS, LetterDeadline: cfg.OpenDeadline,
		// Danish time: a citizen's age, and the date printed on a letter, are Copenhagen's.
		Now: func() time.Time { return calendar.In(time.Now()) }}
	quiet, err := calendar.ParseQuietHours(cfg.QuietHours)
	if err != nil {
		return nil, fmt.Errorf("REMINDER_QUIET_HOURS: %w", err)
	}
	e.Activities.Quiet = quiet
	weights, err := fairness.ParseWeights(cfg.SenderWeightDefault, cfg.SenderWeights)
	if err != nil {
		return nil, err
	}
	e.PostOffice = &postoffice.PostOffice{Weights: weights, BulkStartsPerSecond: bulkStarts(cfg), Temporal: tc, TaskQueue: cfg.TaskQueue, Registry: e.Registry,
		Letters: e.Letters, Mailbox: e.Mailbox, DefaultDeadline: cfg.OpenDeadline, Reminder: cfg.ReminderBefore, Quiet: quiet,
		NemSMS: e.NemSMS, AppointmentReminder: cfg.NemSMSAppointmentReminder, Post: citizenpost.NewStore(db)}
	e.PostOffice.Routing = rollout.NewRouting(e.Deployment(), tc)
	e.Desk = &borgerservice.Desk{Temporal: tc, TaskQueue: cfg.TaskQueue, Registry: e.Registry, Cases: e.Cases, Access: e.Access, NemSMS: e.NemSMS,
		ResponseDeadline: cfg.ReadingAccessDeadline, Municipality: cfg.MunicipalitySenderID,
		ServiceDeadline: func(now time.Time) time.Time {
			if cfg.ExemptionServiceDeadline > 0 { // demos: minutes instead of working days
				return now.Add(cfg.ExemptionServiceDeadline)
			}
			return calendar.AddWorkingDays(now, cfg.ExemptionServiceWorkingDays)
		}}
	e.APIKeys, e.Events = apikeys.New(db), events.NewFeed(db)
	e.Statistics, e.PageSessions = statistics.New(db), pagesessions.New(db)
	e.Operations = operations.New(e.Registry, e.APIKeys, e.Notices, e.PostOffice.Post, db)
	e.PostOffice.Statistics = e.Statistics
	e.PostOffice.Notices, e.PostOffice.PrintJobs, e.PostOffice.Events = e.Notices, e.PrintJobs, e.Events
	e.Webhooks = webhooks.New(db, e.Events)
	auditKey, err := lookupAuditKey(cfg)
	if err != nil {
		return nil, err
	}
	if auditKey != nil {
		e.Lookups = audit.NewLookups(db, auditKey)
	}
	e.Webhooks.AllowHTTP, e.Webhooks.AllowInternal = cfg.WebhookAllowHTTP, cfg.WebhookAllowInternal
	if cfg.PayloadKeys != "" {
		if e.Webhooks.Secrets, err = codec.ParseKeys(cfg.PayloadKeys); err != nil {
			return nil, err
		}
	}
	e.Activities.Webhooks = e.Webhooks
	if e.PostOffice.Dossiers, err = dossierSigner(cfg); err != nil {
		return nil, err
	}
	e.PostOffice.Keys, e.PostOffice.Webhooks, e.PostOffice.Receipts, e.PostOffice.Lookups = e.APIKeys, e.Webhooks, e.Receipts, e.Lookups
	e.Activities.Recovery = &recovery.Sweep{Letters: e.Letters, Cases: e.Cases, Access: e.Access,
		PostOffice: e.PostOffice, Desk: e.Desk, Grace: cfg.RecoveryGrace, Webhooks: e.Webhooks, Events: e.Events}
	return e, nil
}

// dossierSigner signs with DOSSIER_SIGNING_KEYS, else with a key derived from the first payload
// key (named after it: "derived-<payload key id>"); nil when neither is set. Rotating the
// payload keys then changes the dossier key and old dossiers no longer verify against GET
// /v1/keys: set DOSSIER_SIGNING_KEYS to rotate it on its own, keeping the old keys listed.
func dossierSigner(cfg config.Config) (*dossier.Signer, error) {
	if cfg.DossierSigningKeys != "" {
		return dossier.ParseKeys(cfg.DossierSigningKeys)
	}
	if cfg.PayloadKeys == "" {
		return nil, nil
	}
	seed, err := codec.DeriveKey(cfg.PayloadKeys, "dossier signing")
	if err != nil {
		return nil, err
	}
	id, _, _ := strings.Cut(strings.TrimSpace(cfg.PayloadKeys), ":")
	id = strings.Map(func(r rune) rune { // a payload key's id may hold what a dossier key's may not
		if r < 128 && (r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return r
		}
		return '-'
	}, id)
	if len(id) > 50 {
		id = id[:50]
	}
	return dossier.ParseKeys("derived-" + id + ":" + base64.StdEncoding.EncodeToString(seed))
}

// lookupAuditKey is LOOKUP_AUDIT_KEY, else a key derived from the active payload key; nil
// when neither is set.
func lookupAuditKey(cfg config.Config) ([]byte, error) {
	if cfg.LookupAuditKey != "" {
		key, err := base64.StdEncoding.DecodeString(cfg.LookupAuditKey)
		if err != nil || len(key) < 32 {
			return nil, errors.New("LOOKUP_AUDIT_KEY must be at least 32 bytes in standard base64")
		}
		return key, nil
	}
	if cfg.PayloadKeys == "" {
		return nil, nil
	}
	return codec.DeriveKey(cfg.PayloadKeys, "registry look-up audit")
}

// registeredWorkflows are the workflows the letter worker registers, each with how it meets a
// rollout. Workflows lists them from here, for the replay tests: a workflow added here without
// a recorded history fails them.
var registeredWorkflows = []struct {
	fn        any
	behaviour workflow.VersioningBehavior
}{
	{workflows.LetterWorkflow, rollout.Waits},
	{workflows.ExemptionCaseWorkflow, rollout.Waits},
	{workflows.ReadingAccessWorkflow, rollout.Waits},
	{workflows.WebhookWorkflow, rollout.Waits},
	{workflows.NemSMSWorkflow, rollout.Waits}, // may wait hours behind the SMS backlog
	{workflows.RecoveryWorkflow, rollout.EndsSoon},
}

// Workflows are the workflow functions Workers registers on the letter worker.
func Workflows() []any {
	fns := make([]any, len(registeredWorkflows))
	for i, w := range registeredWorkflows {
		fns[i] = w.fn
	}
	return fns
}

// setCacheSize sets the process-wide sticky cache once, before the first worker exists.
var setCacheSize sync.Once

// Workers builds the letter worker and one worker per provider queue; Run starts them.
func (e *Engine) Workers() []worker.Worker {
	setCacheSize.Do(func() {
		if e.Config.WorkflowCacheSize > 0 {
			worker.SetStickyWorkflowCacheSize(e.Config.WorkflowCacheSize)
		}
	})
	version := e.Deployment().WorkerOptions()
	// The letters queue and its urgent queue run the same workflows with task slots of their
	// own: a bulk run keeps every slot of the first busy, and an urgent letter's workflow task
	// would wait for one however high its priority (the SDK learns a task's priority only
	// after it has taken a slot to poll for it).
	letters := func(queue string, slots int) worker.Worker {
		w := worker.New(e.Temporal, queue, worker.Options{
			WorkflowTaskPollerBehavior:             workflowTaskPollers(e.Config.WorkflowTaskPollers),
			MaxConcurrentWorkflowTaskExecutionSize: workflowTaskSlots(slots),
			DeploymentOptions:                      version,
			WorkerStopTimeout:                      e.Config.WorkerStopTimeout,
		})
		for _, wf := range registeredWorkflows {
			opts := workflow.RegisterOptions{}
			if version.UseVersioning {
				opts.VersioningBehavior = wf.behaviour
			}
			w.RegisterWorkflowWithOptions(wf.fn, opts)
		}
		w.RegisterActivity(e.Activities)
		return w
	}
	all := []worker.Worker{
		letters(e.Config.TaskQueue, e.Config.WorkflowTaskSlots),
		letters(workflows.UrgentTaskQueue(e.Config.TaskQueue), e.Config.UrgentWorkflowTaskSlots),
	}

	// Each provider's calls have their own queue, and the server holds each queue to the
	// provider's rate across all workers (TaskQueueActivitiesPerSecond): the account's limit
	// is kept globally and durably, and a backlog waits in Temporal.
	for _, p := range []struct {
		ch   notify.Channel
		rate float64
	}{{notify.SMS, e.Config.SMSRatePerSecond}, {notify.Email, e.Config.EmailRatePerSecond}} {
		w := worker.New(e.Temporal, workflows.ProviderTaskQueue(e.Config.TaskQueue, p.ch), worker.Options{
			TaskQueueActivitiesPerSecond:       notify.PacedRate(p.rate),
			MaxConcurrentActivityExecutionSize: ConcurrentCalls(p.rate),
			DeploymentOptions:                  version,
			WorkerStopTimeout:                  e.Config.WorkerStopTimeout,
		})
		w.RegisterActivity(e.Activities.SendNotice)
		if p.ch == notify.SMS {
			w.RegisterActivity(e.Activities.SendNemSMS) // NemSMS messages share the SMS account's pace
		}
		all = append(all, w)
	}

	// Letters started before notices moved to the providers' queues sent them here; the
	// notify service paces them like the rest.
	old := worker.New(e.Temporal, workflows.NotifyTaskQueue(e.Config.TaskQueue), worker.Options{
		TaskQueueActivitiesPerSecond: notify.PacedRate(min(e.Config.SMSRatePerSecond, e.Config.EmailRatePerSecond)),
		DeploymentOptions:            version,
		WorkerStopTimeout:            e.Config.WorkerStopTimeout,
	})
	old.RegisterActivity(e.Activities.NotifyRecipient)
	return append(all, old)
}

// Deployment is the Worker Deployment version this process's workers are.
func (e *Engine) Deployment() rollout.Deployment {
	return rollout.For(e.Config.WorkerDeploymentName, e.Config.WorkerBuildID)
}

// bulkStarts is how fast a bulk run starts its letters: BULK_STARTS_PER_SECOND, else as fast
// as the faster provider's shared lane takes their notices (the urgent lane is not theirs),
// and unpaced when a provider has no limit.
func bulkStarts(cfg config.Config) float64 {
	switch {
	case cfg.BulkStartsPerSecond > 0:
		return cfg.BulkStartsPerSecond
	case cfg.SMSRatePerSecond <= 0 || cfg.EmailRatePerSecond <= 0:
		return 0
	}
	sms, _ := notify.Lanes(cfg.SMSRatePerSecond, cfg.ProviderUrgentShare)
	email, _ := notify.Lanes(cfg.EmailRatePerSecond, cfg.ProviderUrgentShare)
	return max(sms, email)
}

// workflowTaskPollers: autoscaled (0), with the normal queue's pollers apart from the sticky
// queue's, so a letter's first task never waits for a sticky backlog to drain; or n pollers
// shared between both queues.
func workflowTaskPollers(n int) worker.PollerBehavior {
	if n > 0 {
		return worker.NewPollerBehaviorSimpleMaximum(worker.PollerBehaviorSimpleMaximumOptions{MaximumNumberOfPollers: max(n, 2)})
	}
	return worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{})
}

// workflowTaskSlots: n, at least the SDK's least of two (0 keeps the SDK's default).
func workflowTaskSlots(n int) int {
	if n == 1 {
		return 2
	}
	return n
}

// ConcurrentCalls bounds a provider worker's calls in flight to a quarter second of its rate
// (0, no limit, keeps the SDK's default). A call taken from the queue waits in the worker for
// its pace slot; had the worker taken seconds' worth at once (the server's rate limiter lets a
// second's worth through in a burst), every later call, another sender's urgent one included,
// would queue behind them in the pace. Left in Temporal's queue instead, the next call taken is
// the one priority and fairness between senders choose.
func ConcurrentCalls(rate float64) int {
	if rate <= 0 {
		return 0
	}
	return max(8, int(math.Ceil(rate*QueueWindow.Seconds())))
}

// QueueWindow is how much of its provider's rate a worker takes from the queue at once.
const QueueWindow = 250 * time.Millisecond

// RecoveryEvery is how often the recovery sweep runs.
const RecoveryEvery = 30 * time.Second

// Run ensures the recovery schedule exists, then runs the workers until ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.EnsureRecoverySchedule(ctx); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	// The print house's receipt files, beside the spool: every worker looks, PostgreSQL
	// decides (a receipt read twice is a recorded duplicate).
	receipts := printhouse.Folder{Dir: printhouse.ReceiptsDir(e.Config.SpoolDir()), Receipts: e.Receipts, Log: slog.Default()}
	g.Go(func() error { return receipts.Watch(ctx) })
	stop, err := e.StartWorkers(ctx, e.Workers())
	if err != nil {
		return err
	}
	g.Go(func() error { <-ctx.Done(); stop(); return nil })
	return g.Wait()
}

// StartWorkers starts workers (from Workers, perhaps with more registered) and, on the
// deployment's very first start, makes this build its current version, without which a
// versioned worker is given no new workflows. stop stops them all.
func (e *Engine) StartWorkers(ctx context.Context, workers []worker.Worker) (stop func(), err error) {
	stop = func() { // together: each waits for its tasks in flight
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Go(w.Stop)
		}
		wg.Wait()
	}
	for i, w := range workers {
		if err := w.Start(); err != nil {
			for _, started := range workers[:i] {
				started.Stop()
			}
			return nil, fmt.Errorf("start worker: %w", err)
		}
	}
	adopt := e.Deployment().AdoptIfFirst
	if e.TakeOverDeployment {
		adopt = e.Deployment().Adopt
	}
	if err := adopt(ctx, e.Temporal, slog.Default()); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// EnsureRecoverySchedule creates the Temporal Schedule of the recovery sweep, once for the
// whole system: every worker tries at start-up, and the first one creates it.
func (e *Engine) EnsureRecoverySchedule(ctx context.Context) error {
	id := workflows.RecoverySchedule + "-" + e.Config.TaskQueue
	_, err := e.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      id,
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: RecoveryEvery}}},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Action: &client.ScheduleWorkflowAction{
			ID: id, Workflow: workflows.RecoveryWorkflow, TaskQueue: e.Config.TaskQueue,
			WorkflowExecutionTimeout: time.Hour,
		},
	})
	if err != nil && !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create recovery schedule %s: %w", id, err)
	}
	return nil
}
