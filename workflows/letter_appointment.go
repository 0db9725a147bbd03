package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/fairness"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/infra/codec"
)

// A letter that calls the citizen to an appointment: its NemSMS reminder, and the sender's
// moves of the appointment while the letter runs.

// MoveAppointmentUpdate moves a letter's appointment; its NemSMS reminder follows.
const MoveAppointmentUpdate = "move-appointment"

// MoveAppointment is the new time of a letter's appointment.
type MoveAppointment struct {
	codec.Binding // refused when sealed for no workflow (validators)
	At            time.Time
	// Sender is who moves it: only the letter's own sender may.
	Sender string
	// From is the time the mover saw it at: a move is taken only from there (compare and
	// set), so a move sent again later, replayed from a history say, cannot move the
	// appointment back. Zero (a move from a process before this field): taken from anywhere.
	From time.Time
}

// appointment is a letter's appointment and the state of its NemSMS reminder.
type appointment struct {
	at        time.Time
	moved     bool
	cancelled bool // the letter was withdrawn or failed
	done      bool // the reminder was sent, skipped or given up
}

// setupAppointment accepts moves of the appointment until its reminder has gone out; the
// new time is written to PostgreSQL, where the reminder's text is read, before it counts.
func (l *letter) setupAppointment(ctx workflow.Context) error {
	if l.in.AppointmentAt.IsZero() {
		return nil
	}
	// Without a reminder to send (none configured) there is nothing to wait for.
	l.appointment = &appointment{at: l.in.AppointmentAt, done: l.in.AppointmentReminder <= 0}
	return workflow.SetUpdateHandlerWithOptions(ctx, MoveAppointmentUpdate,
		func(ctx workflow.Context, m MoveAppointment) (time.Time, error) {
			err := workflow.ExecuteLocalActivity(dbStep(ctx), acts.MoveAppointment, l.in.LetterID, m.At).Get(ctx, nil)
			if err != nil {
				return l.appointment.at, err
			}
			note := "appointment moved to " + calendar.In(m.At).Format("2006-01-02 15:04")
			if l.appointment.done && l.in.AppointmentReminder > 0 {
				note += "; its reminder had already been sent"
			}
			l.note(ctx, note)
			l.appointment.at, l.appointment.moved = m.At, !l.appointment.done
			return m.At, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(m MoveAppointment) error {
			switch {
			case m.Unbound():
				return errUnboundAct
			case m.Sender != l.in.SenderID:
				return errors.New("only the letter's sender can move its appointment")
			case l.appointment.cancelled || l.withdrawn:
				return fmt.Errorf("the letter is %s; its appointment no longer stands", l.state.Status)
			case !m.At.After(workflow.Now(ctx)):
				return fmt.Errorf("the new appointment time must be in the future")
			case !m.From.IsZero() && !m.From.Truncate(time.Second).Equal(l.appointment.at.Truncate(time.Second)):
				return fmt.Errorf("the appointment was moved meanwhile: it is now %s", calendar.In(l.appointment.at).Format("2006-01-02 15:04"))
			}
			return nil
		}})
}

// remindOfAppointment waits until AppointmentReminder before the appointment, following
// moves, and sends the NemSMS reminder; a withdrawn letter sends none.
func (l *letter) remindOfAppointment(ctx workflow.Context) {
	a := l.appointment
	defer func() { a.done = true }()
	for {
		wait := a.at.Add(-l.in.AppointmentReminder).Sub(workflow.Now(ctx))
		if !a.at.After(workflow.Now(ctx)) {
			l.note(ctx, "no appointment reminder: the appointment has passed")
			return
		}
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		due := workflow.NewTimerWithOptions(timerCtx, max(wait, time.Millisecond), workflow.TimerOptions{Summary: timerAppointmentReminder})
		_ = workflow.Await(ctx, func() bool { return due.IsReady() || a.moved || a.cancelled })
		switch {
		case a.cancelled:
			cancelTimer()
			l.note(ctx, "appointment reminder cancelled: the letter was withdrawn")
			return
		case a.moved:
			cancelTimer()
			a.moved = false
			continue
		}
		var out activities.NoticeOutcome
		// The reminder is due now, whatever the letter's own urgency: it goes before the
		// sender's bulk work, and keeps the letter's sender as its fairness key.
		urgent := workflow.WithPriority(noticeStep(ctx, notify.SMS), temporal.Priority{PriorityKey: fairness.UrgentKey})
		err := workflow.ExecuteActivity(urgent, acts.SendNotice,
			activities.ChannelNotice{LetterID: l.in.LetterID, Channel: notify.SMS, Purpose: nemsms.PurposeAppointment}).Get(ctx, &out)
		if err != nil {
			l.note(ctx, "appointment reminder not sent: "+failureText(err))
		} else {
			l.note(ctx, fmt.Sprintf("appointment reminder by NemSMS %s %s", out.Outcome, out.Detail))
		}
		return
	}
}
