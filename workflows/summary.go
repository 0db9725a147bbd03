package workflows

import (
	"fmt"
	"strings"
	"time"

	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/letters"
)

// What an operator reads in the Temporal UI: a letter's summary and details when it starts, a
// name on each of its timers, and what it waits for now. None of it holds personal data or
// content: the sender, the path and the times, never the recipient, the subject or the text.
// Temporal stores them sealed like every payload; the UI shows them through the codec server.

// Timer names, as the UI shows them in place of "Timer 3d".
const (
	timerScheduledDelivery   = "scheduled delivery"
	timerOpenDeadline        = "open deadline: paper unless opened"
	timerReminder            = "reminder before the open deadline"
	timerAppointmentReminder = "NemSMS appointment reminder"
	timerAnswerDeadline      = "answer deadline"
	timerGrantedRun          = "granted: this run's length, then continue as new"
)

// LetterSummary is a letter's one-line summary and its details (Markdown), for the options that
// start its workflow.
func LetterSummary(in LetterInput, urgent bool) (summary, details string) {
	urgency := "bulk"
	if urgent {
		urgency = "urgent"
	}
	summary = fmt.Sprintf("Letter from %s (%s)", in.SenderID, urgency)
	var d strings.Builder
	fmt.Fprintf(&d, "**Sender:** %s  \n**Urgency:** %s  \n", in.SenderID, urgency)
	switch {
	case in.DigitalOnly:
		d.WriteString("**Path:** digital only; never printed  \n")
	default:
		deadline := in.Deadline
		if deadline <= 0 {
			deadline = letters.DefaultDeadline
		}
		fmt.Fprintf(&d, "**Path:** digital when the recipient can receive it, then paper unless opened within %s of delivery  \n", span(deadline))
		if in.Reminder > 0 {
			fmt.Fprintf(&d, "**Reminder:** %s before the open deadline, to a recipient with a notice channel  \n", span(in.Reminder))
		}
	}
	if !in.DeliverAt.IsZero() {
		fmt.Fprintf(&d, "**Scheduled delivery:** %s  \n", danishTime(in.DeliverAt))
	}
	if !in.AppointmentAt.IsZero() && in.AppointmentReminder > 0 {
		fmt.Fprintf(&d, "**NemSMS appointment reminder:** %s before the appointment  \n", span(in.AppointmentReminder))
	}
	return summary, strings.TrimSuffix(d.String(), "  \n")
}

func danishTime(t time.Time) string { return calendar.In(t).Format("2006-01-02 15:04 MST") }

// span says a duration as a person would: "3 days", "24 hours", "90 minutes".
func span(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d >= 2*time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
