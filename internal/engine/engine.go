// Package engine wires the ports, activities and workflows together once, for the worker,
// the command line and the integration tests alike.
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	"digitalpost/activities"
	"digitalpost/internal/access"
	"digitalpost/internal/borgerservice"
	"digitalpost/internal/config"
	"digitalpost/internal/exemption"
	"digitalpost/internal/letters"
	"digitalpost/internal/mailbox"
	"digitalpost/internal/notify"
	"digitalpost/internal/postoffice"
	"digitalpost/internal/print"
	"digitalpost/internal/registry"
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
}

// New assembles the engine. Providers without credentials fall back to the dev outbox.
func New(cfg config.Config, db *pgxpool.Pool, tc client.Client) (*Engine, error) {
	e := &Engine{Config: cfg, DB: db, Temporal: tc, Registry: registry.New(db), Letters: letters.NewStore(db),
		PrintJobs: print.NewJobs(db), Cases: exemption.NewStore(db), Access: access.NewStore(db)}
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
	e.Notices = notify.NewService(db, sms, email, cfg.NotifyRatePerSecond)
	e.Activities = &activities.Activities{Registry: e.Registry, Letters: e.Letters, Mailbox: e.Mailbox,
		Notices: e.Notices, PrintJobs: e.PrintJobs, Printer: print.Spool{Dir: cfg.SpoolDir()},
		Cases: e.Cases, Access: e.Access, LetterDeadline: cfg.OpenDeadline,
		Now: func() time.Time { return time.Now().UTC() }}
	e.PostOffice = &postoffice.PostOffice{Temporal: tc, TaskQueue: cfg.TaskQueue, Registry: e.Registry,
		Letters: e.Letters, Mailbox: e.Mailbox, DefaultDeadline: cfg.OpenDeadline}
	e.Desk = &borgerservice.Desk{Temporal: tc, TaskQueue: cfg.TaskQueue, Registry: e.Registry, Cases: e.Cases, Access: e.Access,
		ResponseDeadline: cfg.ReadingAccessDeadline,
		ServiceDeadline: func(now time.Time) time.Time {
			if cfg.ExemptionServiceDeadline > 0 { // demos: minutes instead of working days
				return now.Add(cfg.ExemptionServiceDeadline)
			}
			return exemption.AddWorkingDays(now, cfg.ExemptionServiceWorkingDays)
		}}
	return e, nil
}

// setCacheSize sets the process-wide sticky cache once, before the first worker exists.
var setCacheSize sync.Once

// Workers builds the letter worker and the provider worker; Run starts both.
func (e *Engine) Workers() []worker.Worker {
	setCacheSize.Do(func() {
		if e.Config.WorkflowCacheSize > 0 {
			worker.SetStickyWorkflowCacheSize(e.Config.WorkflowCacheSize)
		}
	})
	main := worker.New(e.Temporal, e.Config.TaskQueue, worker.Options{})
	main.RegisterWorkflow(workflows.LetterWorkflow)
	main.RegisterWorkflow(workflows.ExemptionCaseWorkflow)
	main.RegisterWorkflow(workflows.ReadingAccessWorkflow)
	main.RegisterActivity(e.Activities)

	// Provider calls get their own queue so the server can hold them to the providers' rate
	// limits (TaskQueueActivitiesPerSecond is enforced across all workers of the queue).
	notifyWorker := worker.New(e.Temporal, workflows.NotifyTaskQueue(e.Config.TaskQueue), worker.Options{
		TaskQueueActivitiesPerSecond: e.Config.NotifyRatePerSecond,
	})
	notifyWorker.RegisterActivity(e.Activities.NotifyRecipient)
	return []worker.Worker{main, notifyWorker}
}

// strandedAfter is how old a letter still "received" must be before the worker starts its
// workflow itself; a normal submission starts it within milliseconds.
const strandedAfter = 5 * time.Minute

// Run runs the workers until ctx ends, and every few minutes starts the workflows of letters
// whose submitting process died before it could.
func (e *Engine) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		for {
			if n, err := e.PostOffice.ResumeStranded(ctx, strandedAfter); err != nil && ctx.Err() == nil {
				slog.Warn("resuming stranded letters failed", "error", err)
			} else if n > 0 {
				slog.Info("checked letters stored but possibly never started", "letters", n)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(strandedAfter):
			}
		}
	})
	for _, w := range e.Workers() {
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		g.Go(func() error { <-ctx.Done(); w.Stop(); return nil })
	}
	return g.Wait()
}
