package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/adapters/webhooks"
)

// A receiver that fails is retried with backoff, not given up on: the round that failed
// runs again until it goes through, and the workflow ends when the webhook is removed.
func TestWebhookDeliveryRetriesAFailingReceiverWithBackoff(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Activities{})
	var calls []time.Time
	env.OnActivity(acts.DeliverWebhooks, mock.Anything, "region-midt").Return(
		func(context.Context, string) (webhooks.Round, error) {
			calls = append(calls, env.Now())
			switch len(calls) {
			case 1, 2, 3:
				return webhooks.Round{}, &webhooks.RetryLater{Err: "answered 503 Service Unavailable"}
			case 4:
				return webhooks.Round{Delivered: 3}, nil
			}
			return webhooks.Round{Removed: true}, nil
		})
	env.ExecuteWorkflow(WebhookWorkflow, "region-midt")
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %t, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if len(calls) != 5 {
		t.Fatalf("%d rounds, want 5", len(calls))
	}
	if first, second := calls[1].Sub(calls[0]), calls[2].Sub(calls[1]); first < 5*time.Second || second < 2*first {
		t.Fatalf("retries %s then %s apart: want a backoff from 5 s, doubling", first, second)
	}
}

// A quiet sender's workflow does not grow without bound: it continues as new.
func TestWebhookDeliveryContinuesAsNew(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Activities{})
	rounds := 0
	env.OnActivity(acts.DeliverWebhooks, mock.Anything, "skat").Return(
		func(context.Context, string) (webhooks.Round, error) { rounds++; return webhooks.Round{}, nil })
	env.ExecuteWorkflow(WebhookWorkflow, "skat")
	var can *workflow.ContinueAsNewError
	if !errors.As(env.GetWorkflowError(), &can) || rounds != webhookRoundsPerRun {
		t.Fatalf("after %d rounds: %v, want continue-as-new after %d", rounds, env.GetWorkflowError(), webhookRoundsPerRun)
	}
}
