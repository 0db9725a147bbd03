package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/adapters/webhooks"
)

// WebhookWorkflowID names a sender's delivery workflow: one per sender, so its events go
// out in order and one slow receiver holds back nobody else's.
func WebhookWorkflowID(senderID string) string { return "webhook-" + senderID }

// webhookRoundsPerRun bounds the history: a run continues as new after this many rounds
// (about three hours when the sender is quiet).
const webhookRoundsPerRun = 50

// WebhookWorkflow delivers a sender's events to its webhook for as long as it has one. Each
// round is an activity that posts what is pending and waits for more; a receiver that fails
// is retried with backoff, from seconds up to ten minutes apart, until it takes the event or
// the event is given up on after webhooks.GiveUpAfter (recorded for the sender).
func WebhookWorkflow(ctx workflow.Context, senderID string) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: activities.WebhookRoundBudget + 2*time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 10 * time.Minute},
	})
	for range webhookRoundsPerRun {
		var r webhooks.Round
		if err := workflow.ExecuteActivity(ctx, acts.DeliverWebhooks, senderID).Get(ctx, &r); err != nil {
			return err
		}
		if r.Removed {
			return nil
		}
	}
	return workflow.NewContinueAsNewError(ctx, WebhookWorkflow, senderID)
}
