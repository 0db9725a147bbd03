package workflows

import (
	"fmt"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/adapters/notify"
)

// NemSMSInput starts a NemSMS message; its text and recipient stay in PostgreSQL.
type NemSMSInput struct{ MessageID uuid.UUID }

// NemSMSWorkflow sends one NemSMS message on the SMS provider's queue, at its pace and
// retried through an outage, and records a message given up.
func NemSMSWorkflow(ctx workflow.Context, in NemSMSInput) (activities.NoticeOutcome, error) {
	var out activities.NoticeOutcome
	err := workflow.ExecuteActivity(noticeStep(ctx, notify.SMS), acts.SendNemSMS, in.MessageID).Get(ctx, &out)
	if err == nil {
		return out, nil
	}
	why := fmt.Sprintf("NemSMS message given up after %s: %s", NoticeRetryWindow, failureText(err))
	if recErr := workflow.ExecuteLocalActivity(dbStep(ctx), acts.GiveUpNemSMS, in.MessageID, why).Get(ctx, nil); recErr != nil {
		return out, recErr
	}
	return out, temporal.NewNonRetryableApplicationError(why, "NemSMSFailed", err)
}
