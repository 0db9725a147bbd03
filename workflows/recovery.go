package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
)

// RecoverySchedule is the id of the Temporal Schedule that runs RecoveryWorkflow every
// 30 seconds (engine.RecoveryEvery). A Schedule, not a loop in each worker: one sweep for the whole system, visible to
// operators in the UI, with overlapping runs skipped.
const RecoverySchedule = "digitalpost-recovery"

// RecoveryWorkflow starts the letters, cases and reading access requests whose workflows
// were never started, and returns what it found; a failure shows the run in red.
func RecoveryWorkflow(ctx workflow.Context) (activities.SweepReport, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var r activities.SweepReport
	err := workflow.ExecuteActivity(ctx, acts.RecoverUnstarted).Get(ctx, &r)
	if err == nil && r.Failed > 0 {
		workflow.GetLogger(ctx).Warn("recovery sweep could not start everything", "failed", r.Failed)
	}
	return r, err
}
