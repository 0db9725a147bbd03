// Package workflows holds the deterministic orchestration: no I/O, no clocks, no goroutines.
package workflows

import (
	"digitalpost/internal/infra/codec"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/adapters/print"
	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/searchattr"
)

// Names a client uses to talk to a running letter.
const (
	OpenedSignal   = "opened"
	WithdrawUpdate = "withdraw"
	StatusQuery    = "status"
)

// LetterInput starts a letter. Content and recipient stay in PostgreSQL; only the id
// and the few facts the workflow branches on travel through history.
type LetterInput struct {
	LetterID    uuid.UUID
	SenderID    string
	Deadline    time.Duration // how long the letter may stay unopened; 0 takes the default
	DigitalOnly bool          // never escalate to paper
	// DeliverAt: wait until then before delivering (scheduled delivery). Zero, as for every
	// letter started before scheduling existed, delivers at once: old histories replay the same.
	DeliverAt time.Time
	// Reminder: this long before the deadline an unopened letter sends a reminder notice on
	// the citizen's channels, once, moved out of the Quiet hours (Danish time) to the morning.
	// Zero, as for letters from before reminders, sends none.
	Reminder time.Duration
	Quiet    calendar.QuietHours
	// AppointmentAt: the letter calls to an appointment, and a NemSMS reminder goes out
	// AppointmentReminder before it (to a subscribed citizen). Zero: none.
	AppointmentAt       time.Time
	AppointmentReminder time.Duration
}

// Opening is the mailbox's signal that someone opened the letter. It only wakes the letter:
// the mailbox, where the signed-in citizen's opening was recorded, confirms it before it counts.
type Opening struct {
	At         time.Time
	ByDelegate bool // a delegate with reading access opened it on the citizen's behalf
}

// WithdrawRequest is the sender's request to take a letter back.
type WithdrawRequest struct {
	codec.Binding // refused when sealed for no workflow (validators)
	Reason        string
	// Sender is who asks: only the letter's own sender may take it back.
	Sender string
}

// TimelineEntry is one step of a letter's life, for the status query.
type TimelineEntry struct {
	At     time.Time
	Status letters.Status
	Note   string
}

// LetterState is what the status query returns.
type LetterState struct {
	LetterID      uuid.UUID
	Status        letters.Status
	Channel       letters.Channel
	FailureReason string
	Timeline      []TimelineEntry
}

// letter is one letter's workflow state; handlers only record, the run method decides.
type letter struct {
	in    LetterInput
	state LetterState

	// lifecycle is the letter's reliableLetter version; legacy is set for a letter started
	// before the current lifecycle (letter_legacy.go).
	lifecycle workflow.Version
	legacy    legacyLetter

	openings        workflow.ReceiveChannel
	opened          *Opening
	checkingOpening bool // an opening signal is being confirmed with the mailbox
	withdrawal      *WithdrawRequest
	withdrawn       bool
	withdrawRefusal string // why a withdrawal that was accepted lost to an opening
	atPrintHouse    bool   // once true, the letter can no longer be withdrawn
	appointment     *appointment
}

// reliableLetter is the change id of the letter's lifecycle; growing one change id keeps new
// letters at one version marker. Versions 2 and 3 are the current lifecycle (run); older
// letters replay theirs in letter_legacy.go.
const reliableLetter = "reliable-letter"

// The versions of reliableLetter: the notices on the providers' queues, the mailbox deciding
// opening against withdrawal, a last look in the mailbox before paper (version 1); delivery and
// the notices' first try in one local activity, and one wait timer at a time, the reminder's
// then the deadline's (version 2, the oldest run reads); an opening signal counts only when the
// mailbox confirms it (version 3, openingConfirmed).
const (
	oldestRunLifecycle = 2
	openingConfirmed   = 3
	currentLifecycle   = openingConfirmed
)

// LetterWorkflow carries one letter from submission to the citizen: paper or digital
// mailbox, notices, the wait for opening, and escalation to paper when unopened.
func LetterWorkflow(ctx workflow.Context, in LetterInput) (LetterState, error) {
	if in.Deadline <= 0 {
		in.Deadline = letters.DefaultDeadline
	}
	l := &letter{in: in, state: LetterState{LetterID: in.LetterID, Status: letters.Received}}
	if err := l.setup(ctx); err != nil {
		return l.state, err
	}
	if err := l.setupAppointment(ctx); err != nil {
		return l.state, err
	}
	if l.appointment == nil || l.appointment.done {
		return l.run(ctx)
	}
	// The appointment's reminder may fall after the letter has been read or printed: the
	// workflow waits for it, unless the letter was withdrawn or failed.
	workflow.Go(ctx, l.remindOfAppointment)
	st, err := l.run(ctx)
	if err != nil || st.Status == letters.Withdrawn {
		l.appointment.cancelled = true
	}
	if waitErr := workflow.Await(ctx, func() bool { return l.appointment.done && workflow.AllHandlersFinished(ctx) }); waitErr != nil {
		return st, waitErr
	}
	return l.state, err
}

func (l *letter) setup(ctx workflow.Context) error {
	l.state.Timeline = []TimelineEntry{{At: workflow.Now(ctx), Status: letters.Received, Note: "letter received"}}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (LetterState, error) { return l.state, nil }); err != nil {
		return err
	}
	// The opened signal is read where the letter waits (awaitOpeningOrDeadline), not by a
	// goroutine of its own: every goroutine stays in memory for as long as the letter waits.
	l.openings = workflow.GetSignalChannel(ctx, OpenedSignal)
	// Withdrawal is an Update, not a Signal: the sender needs to know whether it worked,
	// and a validator turns away a letter already opened or printed before it reaches history.
	return workflow.SetUpdateHandlerWithOptions(ctx, WithdrawUpdate,
		func(ctx workflow.Context, req WithdrawRequest) (LetterState, error) {
			l.withdrawal = &req
			err := workflow.Await(ctx, func() bool { return l.state.Status.Final() || l.withdrawRefusal != "" })
			if err == nil && !l.legacy.unreliable() && l.state.Status != letters.Withdrawn {
				reason := l.withdrawRefusal
				if reason == "" {
					reason = fmt.Sprintf("letter is %s and can no longer be withdrawn", l.state.Status)
				}
				return l.state, temporal.NewNonRetryableApplicationError(reason, WithdrawalRefused, nil)
			}
			return l.state, err
		},
		workflow.UpdateHandlerOptions{Validator: func(req WithdrawRequest) error {
			switch {
			case req.Unbound():
				return errUnboundAct
			case req.Sender != l.in.SenderID:
				return errors.New("only the letter's sender can withdraw it")
			case l.withdrawal != nil:
				return errors.New("letter is already being withdrawn")
			case l.opened != nil || l.openings.Len() > 0 || l.checkingOpening: // an opening may wait in the channel, or be asked of the mailbox
				return errors.New("letter has been opened and can no longer be withdrawn")
			case l.atPrintHouse:
				return errors.New("letter is at the print house and can no longer be withdrawn")
			case !l.state.Status.Withdrawable():
				return fmt.Errorf("letter is %s and can no longer be withdrawn", l.state.Status)
			}
			return nil
		}})
}

// WithdrawalRefused is the error type of a withdrawal that lost its race (to an opening, or
// to the print house) after it was accepted.
const WithdrawalRefused = "WithdrawalRefused"

// run is the letter's current lifecycle.
func (l *letter) run(ctx workflow.Context) (LetterState, error) {
	l.lifecycle = workflow.GetVersion(ctx, reliableLetter, workflow.DefaultVersion, currentLifecycle)
	if l.lifecycle < oldestRunLifecycle {
		return l.runLegacy(ctx, l.lifecycle)
	}
	if done, err := l.awaitScheduledDelivery(ctx); done || err != nil {
		if err != nil {
			return l.fail(ctx, err)
		}
		return l.finishRecorded(ctx, letters.Withdrawn, "withdrawn by the sender before its delivery: "+l.withdrawal.Reason)
	}
	if l.withdrawal != nil {
		// The withdrawal came before the delivery, with the start itself (a letter of a batch
		// withdrawn while it waited for its start): the letter is withdrawn without ever reaching
		// the mailbox. Letters started before this delivered first, then withdrew; the version is
		// asked only here, so letters without an early withdrawal carry no marker for it.
		if workflow.GetVersion(ctx, "withdraw-before-delivery", workflow.DefaultVersion, 1) == 1 {
			if err := l.decideWithdrawal(ctx); err != nil {
				return l.fail(ctx, err)
			}
			if l.withdrawn {
				return l.finishRecorded(ctx, letters.Withdrawn, "withdrawn by the sender before its delivery: "+l.withdrawal.Reason)
			}
		}
	}
	var plan activities.Delivery
	var deliver workflow.Future
	if l.withdrawal == nil {
		deliver = workflow.ExecuteLocalActivity(deliveryStep(ctx), acts.DeliverAndNotify, l.in.LetterID)
	} else { // a withdrawal already here is decided before any notice
		deliver = workflow.ExecuteLocalActivity(dbStep(ctx), acts.Deliver, l.in.LetterID)
	}
	if err := deliver.Get(ctx, &plan); err != nil {
		return l.fail(ctx, err)
	}
	if l.withdrawal != nil {
		if err := l.decideWithdrawal(ctx); err != nil {
			return l.fail(ctx, err)
		}
		if l.withdrawn {
			return l.finishRecorded(ctx, letters.Withdrawn, "withdrawn by the sender: "+l.withdrawal.Reason)
		}
	}
	if plan.Route.Channel == letters.Paper {
		return l.sendOnPaper(ctx, print.PaperRoute, plan.Route.Reason, letters.Printed, letters.Paper)
	}
	l.transition(ctx, letters.Delivered, letters.Digital, "delivered to the digital mailbox")

	notices := l.notify(ctx, plan, l.firstTryWithDelivery(plan))
	waitingNotice := l.sendWaitingNotice(ctx, plan)

	if l.opened == nil && !l.withdrawn {
		l.awaitOpeningOrDeadline(ctx, plan, oneTimerAtATime)
	}
	if err := l.settleTheWait(ctx); err != nil {
		return l.fail(ctx, err)
	}
	switch {
	case l.opened != nil:
		workflow.SetCurrentDetails(ctx, "Opened.")
	case l.withdrawal != nil:
		workflow.SetCurrentDetails(ctx, "Withdrawn by the sender.")
	default:
		workflow.SetCurrentDetails(ctx, "Not opened by the deadline: going to paper.")
	}
	// Whatever ended the wait, a notice still under way has lost its point: the letter was
	// read, taken back, or goes to paper now. A provider outage longer than the deadline must
	// not hold back the paper letter.
	notices.stop()
	return l.end(ctx, notices, waitingNotice)
}

// sendWaitingNotice prints a paper notice that digital post waits, for a recipient who has
// never logged in (rule 5); nil when none is due.
func (l *letter) sendWaitingNotice(ctx workflow.Context, plan activities.Delivery) workflow.Future {
	if !plan.SendWaitingNotice {
		return nil
	}
	return workflow.ExecuteActivity(printStep(ctx), acts.PrintLetter, activities.PrintRequest{
		LetterID: l.in.LetterID, Purpose: print.WaitingNotice, Reason: "recipient has never logged in to Digital Post"})
}

// end waits for the notices and the paper notice under way, then ends the letter as the wait
// decided: opened, withdrawn, or on paper.
func (l *letter) end(ctx workflow.Context, notices notices, waitingNotice workflow.Future) (LetterState, error) {
	// Notices already under way finish before the letter does, so their outcome is on record.
	_ = notices.done.Get(ctx, nil)
	if waitingNotice != nil {
		if err := waitingNotice.Get(ctx, nil); err != nil {
			l.note(ctx, "paper notice that digital post is waiting could not be printed: "+failureText(err))
		} else {
			l.note(ctx, "paper notice sent: digital post is waiting")
		}
	}

	switch {
	case l.opened != nil:
		who := "the recipient"
		if l.opened.ByDelegate {
			who = "a delegate with reading access"
		}
		return l.finish(ctx, letters.Opened, "", "opened by "+who)
	case l.withdrawn:
		return l.finishRecorded(ctx, letters.Withdrawn, "withdrawn by the sender: "+l.withdrawal.Reason)
	case l.withdrawal != nil:
		return l.finish(ctx, letters.Withdrawn, "", "withdrawn by the sender: "+l.withdrawal.Reason)
	default:
		return l.sendOnPaper(ctx, print.Escalation, fmt.Sprintf("not opened within %s", l.in.Deadline),
			letters.Escalated, letters.DigitalThenPaper)
	}
}

// awaitScheduledDelivery holds a scheduled letter until its delivery time; the sender may
// withdraw it meanwhile. It reports whether the letter was withdrawn.
func (l *letter) awaitScheduledDelivery(ctx workflow.Context) (bool, error) {
	wait := l.in.DeliverAt.Sub(workflow.Now(ctx))
	if l.in.DeliverAt.IsZero() || wait <= 0 {
		return false, nil
	}
	l.note(ctx, "scheduled for delivery at "+calendar.In(l.in.DeliverAt).Format("2006-01-02 15:04 MST"))
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	workflow.SetCurrentDetails(ctx, "Scheduled: delivered to the mailbox at "+danishTime(l.in.DeliverAt)+", unless withdrawn before.")
	due := workflow.NewTimerWithOptions(timerCtx, wait, workflow.TimerOptions{Summary: timerScheduledDelivery})
	if err := workflow.Await(ctx, func() bool { return due.IsReady() || l.withdrawal != nil }); err != nil {
		return false, err
	}
	if l.withdrawal == nil {
		return false, nil
	}
	cancelTimer()
	if err := l.decideWithdrawal(ctx); err != nil {
		return false, err
	}
	return l.withdrawn, nil
}

// settleTheWait decides what ended the wait, with the mailbox as the judge. A withdrawal
// goes through only if nobody opened the letter first; a deadline sends the letter to paper
// only if the mailbox has no opening whose signal was lost on the way.
func (l *letter) settleTheWait(ctx workflow.Context) error {
	if l.opened != nil {
		return nil
	}
	if l.withdrawal != nil {
		return l.decideWithdrawal(ctx)
	}
	l.atPrintHouse = true // from here the letter is on its way to paper; withdrawals are refused
	var found *activities.MailboxOpening
	if err := workflow.ExecuteLocalActivity(dbStep(ctx), acts.FindOpening, l.in.LetterID).Get(ctx, &found); err != nil {
		return err
	}
	if found != nil {
		l.opened = &Opening{At: found.At, ByDelegate: found.ByDelegate}
	}
	return nil
}

// decideWithdrawal asks the mailbox to withdraw the letter; an opening that came first wins.
func (l *letter) decideWithdrawal(ctx workflow.Context) error {
	var w activities.Withdrawal
	if err := workflow.ExecuteLocalActivity(dbStep(ctx), acts.WithdrawLetter, l.in.LetterID).Get(ctx, &w); err != nil {
		return err
	}
	if w.Withdrawn {
		l.withdrawn = true
		return nil
	}
	l.opened = &Opening{At: w.Opened.At, ByDelegate: w.Opened.ByDelegate}
	l.withdrawRefusal = "letter has been opened and can no longer be withdrawn"
	l.note(ctx, "withdrawal refused: the letter was opened first")
	return nil
}

// notices are the new-post notices under way; done settles when each has an outcome.
type notices struct {
	done workflow.Future
	stop workflow.CancelFunc
}

// notify sends the new-post notices on the citizen's registered channels (rule 4), each
// first as a local activity inside the letter's first workflow task (the cheap path, taken
// whenever the provider has a pace slot within a second or two and answers), and when that
// does not settle it, as an activity on the provider's queue. The queue is where a backlog or
// an outage waits: durably in Temporal, held by the server to the provider's rate across all
// workers, retried for hours. A local activity alone is not enough: its retries live in one
// worker's memory, and a backlog of them outgrew their timeout and was dropped. With neither
// an e-mail nor a mobile number, none is sent.
func (l *letter) notify(ctx workflow.Context, plan activities.Delivery, firstTry func(workflow.Context, notify.Channel) workflow.Future) notices {
	if !plan.Route.NotifySMS && !plan.Route.NotifyEmail {
		l.note(ctx, "no notice: the recipient registered neither e-mail nor mobile")
		none, settle := workflow.NewFuture(ctx)
		settle.Set(nil, nil)
		return notices{done: none, stop: func() {}}
	}
	ctx, stop := workflow.WithCancel(ctx)
	var pending []workflow.Future
	if plan.Route.NotifySMS {
		pending = append(pending, l.sendNotice(ctx, notify.SMS, firstTry(ctx, notify.SMS)))
	}
	if plan.Route.NotifyEmail {
		pending = append(pending, l.sendNotice(ctx, notify.Email, firstTry(ctx, notify.Email)))
	}
	all, settle := workflow.NewFuture(ctx)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for _, f := range pending {
			_ = f.Get(ctx, nil)
		}
		settle.Set(nil, nil)
	})
	return notices{done: all, stop: stop}
}

// firstTryWithDelivery is the notices' first try as the delivery made it: a channel the plan
// has no outcome for goes straight to its provider's queue.
func (l *letter) firstTryWithDelivery(plan activities.Delivery) func(workflow.Context, notify.Channel) workflow.Future {
	return func(ctx workflow.Context, ch notify.Channel) workflow.Future {
		tried, settle := workflow.NewFuture(ctx)
		if out, ok := plan.Notices[ch]; ok {
			settle.Set(out, nil)
		} else {
			settle.Set(nil, temporal.NewApplicationError("the first try with the delivery did not settle the notice", "FirstTryUnsettled"))
		}
		return tried
	}
}

// sendNotice sends one channel's notice after its first try; the returned future settles once
// its outcome is on the timeline. Only a notice the provider accepted makes the letter notified.
func (l *letter) sendNotice(ctx workflow.Context, ch notify.Channel, firstTry workflow.Future) workflow.Future {
	req := activities.ChannelNotice{LetterID: l.in.LetterID, Channel: ch}
	done, settle := workflow.NewFuture(ctx)
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer settle.Set(nil, nil)
		var out activities.NoticeOutcome
		err := firstTry.Get(ctx, &out)
		if err != nil && !temporal.IsCanceledError(err) {
			err = workflow.ExecuteActivity(noticeStep(ctx, ch), acts.SendNotice, req).Get(ctx, &out)
		}
		switch {
		case err == nil && out.Outcome == notify.Sent && l.state.Status == letters.Delivered:
			l.transition(ctx, letters.Notified, "", string(ch)+" notice sent")
		case err == nil && out.Outcome == notify.Sent:
			l.note(ctx, string(ch)+" notice sent")
		case err == nil && out.Outcome == notify.Unknown:
			l.note(ctx, string(ch)+" notice outcome unknown: a worker died during the provider call; listed for operators (starter notices --stuck)")
		case err == nil:
			l.note(ctx, strings.TrimSpace(fmt.Sprintf("%s notice %s %s", ch, out.Outcome, out.Detail)))
		case temporal.IsCanceledError(err):
			l.note(ctx, string(ch)+" notice not sent: the letter no longer waits for it")
		default:
			why := fmt.Sprintf("%s notice given up after %s: %s", ch, NoticeRetryWindow, failureText(err))
			l.note(ctx, why)
			record, _ := workflow.NewDisconnectedContext(ctx)
			_ = workflow.ExecuteLocalActivity(dbStep(record), acts.GiveUpNotice, req, why).Get(record, nil)
		}
	})
	return done
}

// timers says how a letter times its wait: oneTimerAtATime, the reminder's then the
// deadline's, from the delivery (the current lifecycle: most letters are opened before their
// reminder and never start the deadline's timer); bothTimersAtOnce, from the wait's start
// (letters from before).
type timers bool

const (
	oneTimerAtATime  timers = true
	bothTimersAtOnce timers = false
)

// awaitOpeningOrDeadline waits for the citizen (or a delegate) to open the letter, the
// sender to withdraw it, or the deadline. A digital-only letter has no deadline (rule 6), nor
// has a letter to a citizen living abroad: paper goes abroad only to the exempt and for
// physical-only letters. (The route is the delivery's recorded result: a history from before
// routes said so replays without it, as it ran.)
func (l *letter) awaitOpeningOrDeadline(ctx workflow.Context, plan activities.Delivery, t timers) {
	// The timers are not cancelled when the letter is opened: the workflow completes right
	// after, and skipping the cancels saves a history event each.
	var deadline, reminder workflow.Future
	var deadlineAt time.Time
	if !l.in.DigitalOnly && !plan.Route.Abroad {
		now, delivered := workflow.Now(ctx), workflow.Now(ctx)
		if t == oneTimerAtATime && !plan.DeliveredAt.IsZero() && plan.DeliveredAt.Before(now) {
			delivered = plan.DeliveredAt // the first try of the notices came after the delivery
		}
		deadlineAt = delivered.Add(l.in.Deadline)
		at, remind := ReminderTime(delivered, l.in.Deadline, l.in.Reminder, l.in.Quiet)
		remind = remind && (plan.Route.NotifySMS || plan.Route.NotifyEmail)
		if !remind || t == bothTimersAtOnce {
			deadline = workflow.NewTimerWithOptions(ctx, deadlineAt.Sub(now), workflow.TimerOptions{Summary: timerOpenDeadline})
		}
		details := "In the mailbox, waiting to be opened; on paper at " + danishTime(deadlineAt) + " unless opened."
		if remind {
			reminder = workflow.NewTimerWithOptions(ctx, at.Sub(now), workflow.TimerOptions{Summary: timerReminder})
			details += " Reminder at " + danishTime(at) + "."
		}
		workflow.SetCurrentDetails(ctx, details)
	} else if plan.Route.Abroad {
		workflow.SetCurrentDetails(ctx, "In the mailbox, waiting to be opened; the citizen lives abroad, so it is not printed.")
	} else {
		workflow.SetCurrentDetails(ctx, "In the mailbox, waiting to be opened; digital only, never printed.")
	}
	ready := func(f workflow.Future) bool { return f != nil && f.IsReady() }
	for {
		_ = workflow.Await(ctx, func() bool {
			return l.openings.Len() > 0 || l.withdrawal != nil || ready(deadline) || ready(reminder)
		})
		if l.openings.Len() > 0 {
			// A signal whose payload the codec refused (plaintext, or sealed for another
			// workflow) is dropped by ReceiveAsync: it must not end the wait either.
			var o Opening
			if !l.openings.ReceiveAsync(&o) {
				l.note(ctx, "an opening signal that no Digital Post process sealed for this letter was ignored")
				continue
			}
			if l.opened = l.confirmOpening(ctx, o); l.opened != nil {
				return
			}
			continue
		}
		if !ready(reminder) || l.withdrawal != nil || ready(deadline) {
			break
		}
		reminder = nil // once
		l.remind(ctx, plan)
		if deadline == nil {
			deadline = workflow.NewTimerWithOptions(ctx, max(deadlineAt.Sub(workflow.Now(ctx)), time.Millisecond), workflow.TimerOptions{Summary: timerOpenDeadline})
		}
	}
}

// confirmOpening returns the mailbox's opening of the letter, or nil when it has none: the
// signal was not the mailbox's, and the letter goes on waiting. The signal can be sent by anyone
// who reaches Temporal; the mailbox records only a signed-in citizen's (or delegate's) opening.
// Letters from before openingConfirmed took the signal's word, and replay so.
func (l *letter) confirmOpening(ctx workflow.Context, signalled Opening) *Opening {
	if l.lifecycle < openingConfirmed {
		return &signalled
	}
	var found *activities.MailboxOpening
	l.checkingOpening = true
	err := workflow.ExecuteLocalActivity(dbStep(ctx), acts.FindOpening, l.in.LetterID).Get(ctx, &found)
	l.checkingOpening = false
	if err != nil {
		// Unchecked, the signal does not count; the deadline asks the mailbox again before any
		// paper goes out (settleTheWait), so a real opening is not lost.
		l.note(ctx, "an opening could not be checked with the mailbox: "+failureText(err))
		return nil
	}
	if found == nil {
		l.note(ctx, "an opening signal that the mailbox has no record of was ignored")
		return nil
	}
	return &Opening{At: found.At, ByDelegate: found.ByDelegate}
}

// ReminderTime is when a letter delivered at delivered with this deadline reminds an
// unopened recipient: before the deadline, moved out of the quiet hours; ok is false when
// there is no such time (no reminder asked for, or none left before the deadline).
func ReminderTime(delivered time.Time, deadline, before time.Duration, quiet calendar.QuietHours) (time.Time, bool) {
	if before <= 0 || before >= deadline {
		return time.Time{}, false
	}
	at := quiet.After(delivered.Add(deadline - before))
	return at, at.Before(delivered.Add(deadline))
}

// remind sends the reminder notice on each channel the citizen registered, through the
// providers' queues; the letter goes on waiting meanwhile.
func (l *letter) remind(ctx workflow.Context, plan activities.Delivery) {
	l.note(ctx, "reminder: the letter is still unopened")
	for _, ch := range []notify.Channel{notify.SMS, notify.Email} {
		if ch == notify.SMS && !plan.Route.NotifySMS || ch == notify.Email && !plan.Route.NotifyEmail {
			continue
		}
		sent := workflow.ExecuteActivity(noticeStep(ctx, ch), acts.SendNotice,
			activities.ChannelNotice{LetterID: l.in.LetterID, Channel: ch, Purpose: notify.Reminder})
		workflow.Go(ctx, func(ctx workflow.Context) {
			var out activities.NoticeOutcome
			switch err := sent.Get(ctx, &out); {
			case err != nil:
				l.note(ctx, string(ch)+" reminder not sent: "+failureText(err))
			default:
				l.note(ctx, strings.TrimSpace(fmt.Sprintf("%s reminder %s %s", ch, out.Outcome, out.Detail)))
			}
		})
	}
}

// sendOnPaper hands the letter to remote print and ends it in the given state.
func (l *letter) sendOnPaper(ctx workflow.Context, purpose print.Purpose, reason string, final letters.Status, ch letters.Channel) (LetterState, error) {
	l.atPrintHouse = true
	l.note(ctx, "sent to remote print: "+reason)
	var job activities.PrintResult
	err := workflow.ExecuteActivity(printStep(ctx), acts.PrintLetter, activities.PrintRequest{
		LetterID: l.in.LetterID, Purpose: purpose, Reason: reason}).Get(ctx, &job)
	if err != nil {
		return l.fail(ctx, err)
	}
	return l.finish(ctx, final, ch, fmt.Sprintf("print job %s spooled (%d pages)", job.JobID, job.Pages))
}

// finishRecorded ends the letter in a state an activity already wrote to PostgreSQL.
func (l *letter) finishRecorded(ctx workflow.Context, status letters.Status, note string) (LetterState, error) {
	l.transition(ctx, status, "", note)
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return l.state, nil
}

// finish records the final state in PostgreSQL and ends the workflow once every
// update handler (a withdrawal waiting for its answer) has returned.
func (l *letter) finish(ctx workflow.Context, status letters.Status, ch letters.Channel, note string) (LetterState, error) {
	err := workflow.ExecuteLocalActivity(dbStep(ctx), acts.RecordOutcome, activities.Outcome{
		LetterID: l.in.LetterID, Status: status, Channel: ch, Reason: l.state.FailureReason}).Get(ctx, nil)
	if err != nil {
		return l.state, err
	}
	l.transition(ctx, status, ch, note)
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return l.state, nil
}

// fail ends the letter as failed with the reason; the workflow fails too, so an operator
// sees it in red, but not before PostgreSQL knows.
func (l *letter) fail(ctx workflow.Context, cause error) (LetterState, error) {
	l.state.FailureReason = failureText(cause)
	if _, err := l.finish(ctx, letters.Failed, "", "failed: "+l.state.FailureReason); err != nil {
		return l.state, err
	}
	return l.state, temporal.NewNonRetryableApplicationError("letter failed: "+l.state.FailureReason, "LetterFailed", cause)
}

// transition moves the letter to a new status and keeps the operators' search attributes
// current. "notified" is not upserted: it is a step within "delivered" that PostgreSQL and
// the timeline show, and leaving it out saves an event and a visibility write per letter.
func (l *letter) transition(ctx workflow.Context, status letters.Status, ch letters.Channel, note string) {
	l.state.Status = status
	l.state.Timeline = append(l.state.Timeline, TimelineEntry{At: workflow.Now(ctx), Status: status, Note: note})
	if status == letters.Notified {
		return
	}
	updates := []temporal.SearchAttributeUpdate{searchattr.LetterStatus.ValueSet(string(status))}
	if ch != "" && ch != l.state.Channel {
		l.state.Channel = ch
		updates = append(updates, searchattr.LetterChannel.ValueSet(string(ch)))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

func (l *letter) note(ctx workflow.Context, note string) {
	l.state.Timeline = append(l.state.Timeline, TimelineEntry{At: workflow.Now(ctx), Status: l.state.Status, Note: note})
}

func failureText(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
