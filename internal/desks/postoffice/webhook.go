package postoffice

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"digitalpost/workflows"
)

// StartWebhookDelivery makes sure the sender's webhook delivery workflow runs. It is
// idempotent: a running one is left as it is.
func (p *PostOffice) StartWebhookDelivery(ctx context.Context, senderID string) error {
	_, err := p.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.WebhookWorkflowID(senderID),
		TaskQueue:                p.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		Priority:                 p.Weights.Share(senderID),
	}, workflows.WebhookWorkflow, senderID)
	if err != nil {
		return fmt.Errorf("start webhook delivery for %s: %w", senderID, err)
	}
	return nil
}
