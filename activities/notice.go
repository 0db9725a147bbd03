package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/nemsms"
)

// ChannelNotice asks for the new-post notice of one letter on one channel. The address is
// read from the registry here, so it never travels through workflow history.
type ChannelNotice struct {
	LetterID uuid.UUID
	Channel  notify.Channel
	// Purpose: the new-post notice (empty, as in letters from before reminders) or a reminder.
	Purpose notify.Purpose `json:",omitempty"`
}

// NoticeOutcome is how a notice ended: sent, rejected, unknown or skipped (notify.Outcome).
type NoticeOutcome struct {
	Outcome notify.Outcome
	Detail  string
}

// ErrProviderBusy marks a notice to be retried after the delay the provider or the pace set.
const ErrProviderBusy = "ProviderBusy"

// SendNotice tells the citizen on one channel that new post has arrived. It runs on the
// channel's own task queue, whose server-side rate limit keeps the backlog in Temporal; the
// notify service adds a global, burst-free pace and the exactly-once bookkeeping. Any
// failure short of a definite rejection is retried by Temporal.
func (a *Activities) SendNotice(ctx context.Context, req ChannelNotice) (NoticeOutcome, error) {
	addr, err := a.Letters.Addressing(ctx, req.LetterID)
	if errors.Is(err, letters.ErrNotFound) {
		return NoticeOutcome{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("letter %s is not stored", req.LetterID), ErrLetterUnknown, nil)
	}
	if err != nil {
		return NoticeOutcome{}, err
	}
	if !addr.HasRecipient {
		return NoticeOutcome{}, recipientUnknown(req.LetterID)
	}
	if req.Purpose == nemsms.PurposeAppointment {
		return a.appointmentReminder(ctx, req, addr)
	}
	if now := a.Now(); req.Purpose == notify.Reminder && a.Quiet.Contains(now) {
		// A reminder retried into the night (a provider backlog, an outage) waits for the morning.
		return NoticeOutcome{}, temporal.NewApplicationErrorWithOptions("reminders wait out the quiet hours", ErrProviderBusy,
			temporal.ApplicationErrorOptions{NextRetryDelay: a.Quiet.After(now).Sub(now)})
	}
	to := addr.Mobile
	if req.Channel == notify.Email {
		to = addr.Email
	}
	if to == "" {
		return NoticeOutcome{Outcome: notify.Skipped, Detail: "no " + string(req.Channel) + " registered"}, nil
	}
	notice := notify.NewPostNotice(req.LetterID, req.Channel, to, addr.Organisation)
	if req.Purpose == notify.Reminder {
		notice = notify.ReminderNotice(req.LetterID, req.Channel, to, addr.Organisation)
	}
	notice.Urgent = addr.Urgency == letters.Urgent
	outcome, err := a.Notices.Send(ctx, notice, true)
	return noticeResult(outcome, err)
}

// noticeResult turns the notify service's answer into an activity result: a rejection is
// an outcome the workflow records, a pace or 429 delay becomes Temporal's next retry delay.
func noticeResult(outcome notify.Outcome, err error) (NoticeOutcome, error) {
	var later *notify.RetryLater
	switch {
	case outcome == notify.Rejected:
		return NoticeOutcome{Outcome: notify.Rejected, Detail: errText(err)}, nil
	case errors.As(err, &later):
		return NoticeOutcome{}, temporal.NewApplicationErrorWithOptions(later.Error(), ErrProviderBusy,
			temporal.ApplicationErrorOptions{NextRetryDelay: later.After})
	case err != nil:
		return NoticeOutcome{}, err
	}
	return NoticeOutcome{Outcome: outcome}, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// GiveUpNotice records that a notice was retried for its whole window in vain.
func (a *Activities) GiveUpNotice(ctx context.Context, req ChannelNotice, why string) error {
	return a.Notices.GiveUp(ctx, req.LetterID, req.Channel, notify.NewPost, why)
}

// NoticeRequest is how letters started before notices moved to the providers' own queues
// ask for both channels at once.
type NoticeRequest struct {
	LetterID uuid.UUID
	SMS      bool
	Email    bool
}

// NoticeResult says what happened on each channel of a NoticeRequest.
type NoticeResult struct {
	SMS   string
	Email string
}

// Any tells whether at least one notice was sent.
func (r NoticeResult) Any() bool {
	return r.SMS == string(notify.Sent) || r.Email == string(notify.Sent)
}

// NotifyRecipient serves letters started before notices moved to the providers' queues
// (as a local activity, or on the old notify queue). It sends through the same service, so
// they too are paced globally and sent exactly once.
func (a *Activities) NotifyRecipient(ctx context.Context, req NoticeRequest) (NoticeResult, error) {
	var res NoticeResult
	for _, ch := range []struct {
		want bool
		ch   notify.Channel
		out  *string
	}{{req.SMS, notify.SMS, &res.SMS}, {req.Email, notify.Email, &res.Email}} {
		if !ch.want {
			continue
		}
		out, err := a.SendNotice(ctx, ChannelNotice{LetterID: req.LetterID, Channel: ch.ch})
		if err != nil {
			return res, err
		}
		*ch.out = string(out.Outcome)
	}
	return res, nil
}

// heartbeat is a no-op outside an activity (unit tests call activities directly).
func heartbeat(ctx context.Context, details ...any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details...)
	}
}
