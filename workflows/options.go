package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/adapters/notify"
)

// acts names activities by method value; the worker registers the real instance.
var acts *activities.Activities

// How long each kind of step keeps retrying before the letter gives up on it. Every window
// outlasts a PostgreSQL or Temporal restart by hours: only a permanent error (a typed,
// non-retryable application error) ends a letter early.
const (
	// DatabaseRetryWindow: PostgreSQL steps. Retries back off to one every 5 minutes.
	DatabaseRetryWindow = 24 * time.Hour
	// NoticeRetryWindow: a notice, including the time it waits in its provider's queue.
	// A notice still unsent after it is given up; the letter's paper escalation remains.
	NoticeRetryWindow = 48 * time.Hour
	// PrintRetryWindow: rendering and handing a letter to the print house.
	PrintRetryWindow = 24 * time.Hour
)

// UrgentTaskQueue is where urgent work starts (a single letter, a NemSMS message): a queue
// with workers and task slots of its own, so a bulk run's backlog, which keeps every slot of
// the letters queue's workers busy, never holds an urgent letter's workflow task.
func UrgentTaskQueue(letterQueue string) string { return letterQueue + urgentSuffix }

const urgentSuffix = "-urgent"

// lettersQueue is the letters queue a workflow belongs to, whether it runs on that queue or
// on its urgent queue: both share the providers' queues and their paces.
func lettersQueue(ctx workflow.Context) string {
	return strings.TrimSuffix(workflow.GetInfo(ctx).TaskQueueName, urgentSuffix)
}

// NotifyTaskQueue carried provider calls for letters started before notices moved to a
// queue per provider; its worker stays until no such letter runs.
func NotifyTaskQueue(letterQueue string) string { return letterQueue + "-notify" }

// ProviderTaskQueue is the queue of one provider's calls. The server holds each queue to
// its provider's rate across all workers (TaskQueueActivitiesPerSecond), so a backlog of
// notices waits in Temporal, durably, and never in a worker's memory.
func ProviderTaskQueue(letterQueue string, ch notify.Channel) string {
	return letterQueue + "-" + string(ch)
}

// dbStep runs short PostgreSQL steps as local activities: they take milliseconds, and a
// local activity costs one history event where a normal one costs three plus a workflow task.
// ScheduleToCloseTimeout must be set: without it the SDK caps all retries at one
// StartToCloseTimeout, and a 25-second database stall failed letters for good.
func dbStep(ctx workflow.Context) workflow.Context {
	return databaseStep(ctx, 10*time.Second)
}

// deliveryStep is delivery with the notices' first try (DeliverAndNotify): a database step
// whose attempt may also wait for a pace slot (MaxAhead, 2 s) and two provider calls side by
// side (PROVIDER_TIMEOUT each). A notice it cannot settle goes to its provider's queue, so a
// retry here is for the database.
func deliveryStep(ctx workflow.Context) workflow.Context {
	return databaseStep(ctx, 30*time.Second)
}

// databaseStep is a local activity retried as a database step is, each attempt given attempt.
func databaseStep(ctx workflow.Context, attempt time.Duration) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    attempt,
		ScheduleToCloseTimeout: DatabaseRetryWindow,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrLetterUnknown, activities.ErrRecipientUnknown},
		},
	})
}

// noticeRetries: provider outages (refused connections, DNS, timeouts, 5xx, 429) are
// retried with backoff for the whole window; a 429's Retry-After and the global pace set
// the next delay themselves. A letter the recipient lost is not retried.
var noticeRetries = &temporal.RetryPolicy{
	InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
	NonRetryableErrorTypes: []string{activities.ErrRecipientUnknown, activities.ErrLetterUnknown},
}

// noticeStep sends one notice on its provider's queue. StartToCloseTimeout covers the
// HTTP timeout (PROVIDER_TIMEOUT), a wait for the pace slot and recording the outcome.
func noticeStep(ctx workflow.Context, ch notify.Channel) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              ProviderTaskQueue(lettersQueue(ctx), ch),
		ScheduleToCloseTimeout: NoticeRetryWindow,
		StartToCloseTimeout:    2 * time.Minute,
		RetryPolicy:            noticeRetries,
	})
}

// noticeFirstTry is a notice's one attempt as a local activity: a pace slot at most
// MaxAhead (2 s) away, the provider's answer within PROVIDER_TIMEOUT. Anything short of a
// settled outcome goes on to the provider's queue (noticeStep), so no retry happens here.
func noticeFirstTry(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
}

// notifyLocalStep is how letters started while notices were a local activity send them.
func notifyLocalStep(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 2 * time.Minute, ScheduleToCloseTimeout: NoticeRetryWindow, RetryPolicy: noticeRetries,
	})
}

// notifyStep is how the first letters, before notices were a local activity, send them.
func notifyStep(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           NotifyTaskQueue(lettersQueue(ctx)),
		StartToCloseTimeout: 2 * time.Minute, ScheduleToCloseTimeout: NoticeRetryWindow, RetryPolicy: noticeRetries,
	})
}

// printStep renders and spools a PDF; rendering a long letter with documents can take seconds.
func printStep(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: PrintRetryWindow,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrLetterUnknown, activities.ErrRecipientUnknown, activities.ErrUnprintable},
		},
	})
}
