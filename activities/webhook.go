package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"digitalpost/internal/adapters/webhooks"
)

// WebhookRoundBudget is how long one delivery round posts events and waits for new ones.
// Rounds are long so that a quiet sender costs a few history events an hour, not one per event.
const WebhookRoundBudget = 4 * time.Minute

// DeliverWebhooks runs one delivery round of a sender's webhook. A receiver that fails an
// event ends the round with an error, and Temporal retries it with backoff.
func (a *Activities) DeliverWebhooks(ctx context.Context, senderID string) (webhooks.Round, error) {
	return a.Webhooks.Deliver(ctx, senderID, WebhookRoundBudget, func() { activity.RecordHeartbeat(ctx) })
}
