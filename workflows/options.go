package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
)

// acts names activities by method value; the worker registers the real instance.
var acts *activities.Activities

// NotifyTaskQueue carries provider calls (SMS, e-mail) on their own queue beside the
// letter queue, so the server can rate-limit them without slowing the rest of a letter.
func NotifyTaskQueue(letterQueue string) string { return letterQueue + "-notify" }

// dbStep runs short PostgreSQL steps as local activities: they take milliseconds, and a
// local activity costs one history event where a normal one costs three plus a workflow task.
// Retries are bounded but patient (about half an hour), since giving up fails the letter.
func dbStep(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 40,
		},
	})
}

// noticeRetries: a provider outage is waited out for about half an hour; a letter the
// recipient lost is not retried.
var noticeRetries = &temporal.RetryPolicy{
	InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 12,
	NonRetryableErrorTypes: []string{activities.ErrRecipientUnknown, activities.ErrLetterUnknown},
}

// notifyLocalStep calls Twilio and SendGrid as a local activity. Each provider call has a
// 10 s HTTP timeout (PROVIDER_TIMEOUT); the providers' rate limits are kept by a token
// bucket in each worker process (NOTIFY_RATE_PER_SECOND).
func notifyLocalStep(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second, RetryPolicy: noticeRetries,
	})
}

// notifyStep is how letters started before notices became local activities send them:
// a normal activity on the notify queue, rate-limited by the server.
func notifyStep(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           NotifyTaskQueue(workflow.GetInfo(ctx).TaskQueueName),
		StartToCloseTimeout: 30 * time.Second, RetryPolicy: noticeRetries,
	})
}

// printStep renders and spools a PDF; rendering a long letter with documents can take seconds.
func printStep(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 20,
		},
	})
}
