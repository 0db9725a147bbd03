package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/domain/smslength"
)

// SendNemSMS sends a sender's NemSMS message through the SMS provider, once, at the
// provider's pace: the same claims as a notice, keyed by the message's id. A citizen who
// unsubscribed meanwhile gets nothing.
func (a *Activities) SendNemSMS(ctx context.Context, id uuid.UUID) (NoticeOutcome, error) {
	m, err := a.NemSMS.Message(ctx, id)
	if errors.Is(err, nemsms.ErrNoMessage) {
		return NoticeOutcome{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("NemSMS message %s is not stored", id), ErrLetterUnknown, nil)
	}
	if err != nil {
		return NoticeOutcome{}, err
	}
	sub, err := a.NemSMS.SubscriptionOf(ctx, m.CitizenID)
	if errors.Is(err, nemsms.ErrNotSubscribed) || err == nil && !sub.Active() {
		return a.nemsmsOutcome(ctx, id, NoticeOutcome{Outcome: notify.Skipped, Detail: "the citizen is no longer signed up for NemSMS"})
	}
	if err != nil {
		return NoticeOutcome{}, err
	}
	outcome, err := a.Notices.Send(ctx, notify.Notice{LetterID: id, Channel: notify.SMS, Purpose: nemsms.PurposeMessage,
		To: sub.Mobile, Body: m.Body, Standalone: true, Urgent: true}, false)
	out, err := noticeResult(outcome, err)
	if err != nil {
		return out, err
	}
	return a.nemsmsOutcome(ctx, id, out)
}

func (a *Activities) nemsmsOutcome(ctx context.Context, id uuid.UUID, out NoticeOutcome) (NoticeOutcome, error) {
	status := map[notify.Outcome]string{notify.Sent: "sent", notify.Rejected: "failed", notify.Skipped: "skipped"}[out.Outcome]
	if status == "" {
		return out, nil // unknown: listed for operators, the message stays queued
	}
	return out, a.NemSMS.SetStatus(ctx, id, status, out.Detail)
}

// GiveUpNemSMS records a message whose sending was retried for its whole window in vain.
func (a *Activities) GiveUpNemSMS(ctx context.Context, id uuid.UUID, why string) error {
	if err := a.Notices.GiveUp(ctx, id, notify.SMS, nemsms.PurposeMessage, why); err != nil {
		return err
	}
	return a.NemSMS.SetStatus(ctx, id, "failed", why)
}

// appointmentReminder is the NemSMS reminder of a letter's appointment, to the citizen's
// NemSMS number; it names the sender and the time, never what the appointment is about.
func (a *Activities) appointmentReminder(ctx context.Context, req ChannelNotice, addr letters.Addressing) (NoticeOutcome, error) {
	if addr.AppointmentAt == nil {
		return NoticeOutcome{Outcome: notify.Skipped, Detail: "the letter has no appointment"}, nil
	}
	sub, err := a.NemSMS.SubscriptionOf(ctx, addr.RecipientID)
	if errors.Is(err, nemsms.ErrNotSubscribed) || err == nil && !sub.Active() {
		return NoticeOutcome{Outcome: notify.Skipped, Detail: "the citizen has not signed up for NemSMS"}, nil
	}
	if err != nil {
		return NoticeOutcome{}, err
	}
	at := calendar.In(*addr.AppointmentAt)
	body := fmt.Sprintf("Påmindelse fra %s: Du har en aftale %s kl. %s.", addr.Organisation, calendar.DanishDate(at), at.Format("15.04"))
	body = smslength.Fit(body)
	outcome, err := a.Notices.Send(ctx, notify.Notice{LetterID: req.LetterID, Channel: notify.SMS, Purpose: req.Purpose,
		To: sub.Mobile, Body: body, Standalone: true, Urgent: true}, false)
	return noticeResult(outcome, err)
}

// MoveAppointment records a letter's new appointment time, where the reminder's text is read.
func (a *Activities) MoveAppointment(ctx context.Context, letter uuid.UUID, at time.Time) error {
	return a.Letters.MoveAppointment(ctx, letter, at)
}
