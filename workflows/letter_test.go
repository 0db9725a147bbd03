package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/adapters/print"
	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/infra/searchattr"
)

// letterTest runs one LetterWorkflow in the SDK's test environment, where timers skip:
// a 72-hour deadline passes in milliseconds.
type letterTest struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	in      LetterInput
	printed []print.Purpose
	notices []notify.Channel
	outcome []activities.Outcome

	// noticeOutcome answers SendNotice per channel (default: sent); noticeErr fails it.
	noticeOutcome map[notify.Channel]notify.Outcome
	noticeErr     error
	noticeDelay   time.Duration
	// firstTryTakes: how long the delivery step's notices take after the delivery itself.
	firstTryTakes time.Duration
	// noDeliveredAt: the delivery step does not say when it delivered (as before it did).
	noDeliveredAt bool
	givenUp       []notify.Channel
	// mailboxOpening is what the mailbox recorded, whether or not a signal told the workflow.
	mailboxOpening *activities.MailboxOpening
	withdrawals    int

	planErr     error     // Deliver fails with this
	printedAt   time.Time // when the last print job was requested
	deliveredAt time.Time // when Deliver ran
	reminders   []time.Time
	// appointmentReminders: when NemSMS appointment reminders went out; moves: appointments moved to.
	appointmentReminders []time.Time
	moves                []time.Time
}

func newLetterTest(t *testing.T, plan activities.Delivery) *letterTest {
	return newLetterTestWith(t, plan, func(*letterTest) {})
}

// newLetterTestWith lets a test change the harness before the mocks are set up.
func newLetterTestWith(t *testing.T, plan activities.Delivery, before func(*letterTest)) *letterTest {
	var suite testsuite.WorkflowTestSuite
	lt := &letterTest{t: t, env: suite.NewTestWorkflowEnvironment(),
		in: LetterInput{LetterID: uuid.New(), SenderID: "region-midt", Deadline: 72 * time.Hour}}
	before(lt)
	lt.env.RegisterActivity(&activities.Activities{})
	lt.env.OnActivity(acts.Deliver, mock.Anything, mock.Anything).Return(
		func(context.Context, uuid.UUID) (activities.Delivery, error) {
			lt.deliveredAt = lt.env.Now()
			return plan, lt.planErr
		})
	lt.env.OnActivity(acts.DeliverAndNotify, mock.Anything, mock.Anything).After(lt.firstTryTakes).Return(
		func(_ context.Context, id uuid.UUID) (activities.Delivery, error) {
			// The mock answers after firstTryTakes: the delivery itself was that long ago.
			lt.deliveredAt = lt.env.Now().Add(-lt.firstTryTakes)
			d := plan
			if lt.firstTryTakes > 0 && !lt.noDeliveredAt {
				d.DeliveredAt = lt.deliveredAt
			}
			if lt.planErr != nil || d.Route.Channel != letters.Digital || lt.noticeDelay > 0 {
				return d, lt.planErr // a slow provider settles no first try: the queue's activity takes noticeDelay
			}
			d.Notices = map[notify.Channel]activities.NoticeOutcome{}
			for _, ch := range []notify.Channel{notify.SMS, notify.Email} {
				if ch == notify.SMS && d.Route.NotifySMS || ch == notify.Email && d.Route.NotifyEmail {
					if out, err := lt.answerNotice(activities.ChannelNotice{LetterID: id, Channel: ch}); err == nil {
						d.Notices[ch] = out
					}
				}
			}
			return d, nil
		})
	if lt.noticeDelay > 0 {
		// A slow provider: the local first try gives up at once, the provider queue's activity
		// takes noticeDelay.
		firstTry := mock.MatchedBy(func(ctx context.Context) bool { return activity.GetInfo(ctx).IsLocalActivity })
		lt.env.OnActivity(acts.SendNotice, firstTry, mock.Anything).Return(activities.NoticeOutcome{},
			temporal.NewApplicationErrorWithOptions("twilio 503", activities.ErrProviderBusy, temporal.ApplicationErrorOptions{}))
	}
	lt.env.OnActivity(acts.SendNotice, mock.Anything, mock.Anything).After(lt.noticeDelay).Return(
		func(_ context.Context, req activities.ChannelNotice) (activities.NoticeOutcome, error) {
			return lt.answerNotice(req)
		})
	lt.env.OnActivity(acts.GiveUpNotice, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.ChannelNotice, _ string) error {
			lt.givenUp = append(lt.givenUp, req.Channel)
			return nil
		})
	lt.env.OnActivity(acts.FindOpening, mock.Anything, mock.Anything).Return(
		func(context.Context, uuid.UUID) (*activities.MailboxOpening, error) { return lt.mailboxOpening, nil })
	lt.env.OnActivity(acts.WithdrawLetter, mock.Anything, mock.Anything).Return(
		func(context.Context, uuid.UUID) (activities.Withdrawal, error) {
			if lt.mailboxOpening != nil {
				return activities.Withdrawal{Opened: lt.mailboxOpening}, nil
			}
			lt.withdrawals++
			return activities.Withdrawal{Withdrawn: true}, nil
		})
	lt.env.OnActivity(acts.PrintLetter, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.PrintRequest) (activities.PrintResult, error) {
			lt.printed = append(lt.printed, req.Purpose)
			lt.printedAt = lt.env.Now()
			return activities.PrintResult{JobID: print.JobID(req.LetterID, req.Purpose), Pages: 1}, nil
		})
	lt.env.OnActivity(acts.MoveAppointment, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ uuid.UUID, at time.Time) error { lt.moves = append(lt.moves, at); return nil })
	lt.env.OnActivity(acts.RecordOutcome, mock.Anything, mock.Anything).Return(
		func(_ context.Context, o activities.Outcome) error { lt.outcome = append(lt.outcome, o); return nil })
	return lt
}

// answerNotice is the providers' answer to a notice: sent, unless noticeOutcome or noticeErr
// say otherwise; reminders and appointment reminders are counted on their own.
func (lt *letterTest) answerNotice(req activities.ChannelNotice) (activities.NoticeOutcome, error) {
	switch req.Purpose {
	case notify.Reminder:
		lt.reminders = append(lt.reminders, lt.env.Now())
		return activities.NoticeOutcome{Outcome: notify.Sent}, nil
	case nemsms.PurposeAppointment:
		lt.appointmentReminders = append(lt.appointmentReminders, lt.env.Now())
		return activities.NoticeOutcome{Outcome: notify.Sent}, nil
	}
	lt.notices = append(lt.notices, req.Channel)
	if out, ok := lt.noticeOutcome[req.Channel]; ok {
		return activities.NoticeOutcome{Outcome: out}, lt.noticeErr
	}
	return activities.NoticeOutcome{Outcome: notify.Sent}, lt.noticeErr
}

func digitalPlan(sms, email bool) activities.Delivery {
	return activities.Delivery{Route: letters.Route{Channel: letters.Digital, NotifySMS: sms, NotifyEmail: email}}
}

func (lt *letterTest) openAfter(d time.Duration, byDelegate bool) {
	lt.env.RegisterDelayedCallback(func() {
		// As the mailbox does: the opening is recorded, then the letter is told.
		lt.mailboxOpening = &activities.MailboxOpening{At: lt.env.Now(), ByDelegate: byDelegate}
		lt.env.SignalWorkflow(OpenedSignal, Opening{At: lt.env.Now(), ByDelegate: byDelegate})
	}, d)
}

func (lt *letterTest) run() LetterState {
	lt.t.Helper()
	lt.env.ExecuteWorkflow(LetterWorkflow, lt.in)
	if !lt.env.IsWorkflowCompleted() {
		lt.t.Fatal("workflow did not complete")
	}
	var st LetterState
	if err := lt.env.GetWorkflowError(); err == nil {
		if err := lt.env.GetWorkflowResult(&st); err != nil {
			lt.t.Fatal(err)
		}
	}
	return st
}

func (lt *letterTest) finalOutcome() activities.Outcome {
	lt.t.Helper()
	if len(lt.outcome) != 1 {
		lt.t.Fatalf("want exactly one recorded outcome, got %+v", lt.outcome)
	}
	return lt.outcome[0]
}

func TestDigitalLetterOpenedInTimeIsNotPrinted(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(true, true))
	lt.openAfter(5*time.Hour, false)
	st := lt.run()
	if st.Status != letters.Opened || st.Channel != letters.Digital {
		t.Fatalf("state %s/%s, want opened/digital", st.Status, st.Channel)
	}
	if len(lt.printed) != 0 {
		t.Fatalf("an opened letter was printed: %v", lt.printed)
	}
	if len(lt.notices) != 2 || lt.notices[0] == lt.notices[1] {
		t.Fatalf("notices %+v, want one on sms and one on e-mail", lt.notices)
	}
	if o := lt.finalOutcome(); o.Status != letters.Opened {
		t.Fatalf("recorded %s", o.Status)
	}
	want := []letters.Status{letters.Received, letters.Delivered, letters.Notified, letters.Opened}
	if got := statuses(st.Timeline); !equal(got, want) {
		t.Fatalf("timeline %v, want %v", got, want)
	}
}

func TestUnopenedLetterEscalatesToPaperAfter72h(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(false, true))
	start := lt.env.Now()
	st := lt.run()
	if st.Status != letters.Escalated || st.Channel != letters.DigitalThenPaper {
		t.Fatalf("state %s/%s, want escalated/digital+paper", st.Status, st.Channel)
	}
	if len(lt.printed) != 1 || lt.printed[0] != print.Escalation {
		t.Fatalf("print jobs %v, want one escalation", lt.printed)
	}
	if waited := lt.printedAt.Sub(start); waited < 72*time.Hour || waited > 73*time.Hour {
		t.Fatalf("escalated after %s, want 72h", waited)
	}
}

func TestPerLetterDeadlineOverridesTheDefault(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(false, false))
	lt.in.Deadline = 40 * time.Hour
	lt.openAfter(50*time.Hour, false) // too late: already escalated
	st := lt.run()
	if st.Status != letters.Escalated {
		t.Fatalf("status %s, want escalated after a 40h deadline", st.Status)
	}
}

func TestDigitalOnlyLetterNeverEscalates(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(true, false))
	lt.in.DigitalOnly = true
	lt.openAfter(30*24*time.Hour, false)
	st := lt.run()
	if st.Status != letters.Opened || len(lt.printed) != 0 {
		t.Fatalf("status %s, printed %v: a digital-only letter must wait for opening", st.Status, lt.printed)
	}
}

// Emigration does not end digital post, and paper goes abroad only to the exempt and for
// physical-only letters (issue 26, item 4): an unopened letter to a citizen abroad waits in
// the mailbox past its deadline and is never printed.
func TestALetterToACitizenAbroadIsNotEscalated(t *testing.T) {
	plan := digitalPlan(true, false)
	plan.Route.Abroad = true
	lt := newLetterTest(t, plan)
	lt.openAfter(30*24*time.Hour, false)
	st := lt.run()
	if st.Status != letters.Opened || len(lt.printed) != 0 {
		t.Fatalf("status %s, printed %v: a letter to a citizen abroad must wait for opening", st.Status, lt.printed)
	}
}

func TestPaperRouteGoesStraightToPrint(t *testing.T) {
	for _, reason := range []string{"recipient is under 15", "recipient is exempt from Digital Post", "letter is physical-only"} {
		t.Run(reason, func(t *testing.T) {
			lt := newLetterTest(t, activities.Delivery{Route: letters.Route{Channel: letters.Paper, Reason: reason}})
			st := lt.run()
			if st.Status != letters.Printed || st.Channel != letters.Paper {
				t.Fatalf("state %s/%s, want printed/paper", st.Status, st.Channel)
			}
			if len(lt.printed) != 1 || lt.printed[0] != print.PaperRoute || len(lt.notices) != 0 {
				t.Fatalf("printed %v notices %v", lt.printed, lt.notices)
			}
		})
	}
}

func TestNoContactDetailsMeansNoNotice(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(false, false))
	lt.openAfter(time.Hour, false)
	st := lt.run()
	if len(lt.notices) != 0 {
		t.Fatalf("notified without contact details: %+v", lt.notices)
	}
	if st.Status != letters.Opened || contains(statuses(st.Timeline), letters.Notified) {
		t.Fatalf("timeline %v", statuses(st.Timeline))
	}
}

func TestFirstLetterToNeverLoggedInCitizenAlsoSendsPaperNotice(t *testing.T) {
	plan := digitalPlan(false, true)
	plan.Route.NeverLoggedIn, plan.SendWaitingNotice = true, true
	lt := newLetterTest(t, plan)
	lt.openAfter(2*time.Hour, false)
	st := lt.run()
	if st.Status != letters.Opened {
		t.Fatalf("status %s", st.Status)
	}
	if len(lt.printed) != 1 || lt.printed[0] != print.WaitingNotice {
		t.Fatalf("print jobs %v, want the waiting notice only", lt.printed)
	}
}

func TestOpeningByDelegateCountsAsOpened(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(false, false))
	lt.openAfter(time.Hour, true)
	st := lt.run()
	last := st.Timeline[len(st.Timeline)-1]
	if st.Status != letters.Opened || last.Note != "opened by a delegate with reading access" {
		t.Fatalf("last entry %+v", last)
	}
}

func TestSenderWithdrawsUnopenedLetter(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(false, false))
	var answer LetterState
	lt.env.RegisterDelayedCallback(func() {
		lt.env.UpdateWorkflow(WithdrawUpdate, "w1", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { t.Errorf("withdrawal rejected: %v", err) },
			OnAccept:   func() {},
			OnComplete: func(v any, err error) { answer = v.(LetterState) },
		}, WithdrawRequest{Sender: "region-midt", Reason: "sent to the wrong citizen"})
	}, 10*time.Hour)
	st := lt.run()
	if st.Status != letters.Withdrawn || answer.Status != letters.Withdrawn {
		t.Fatalf("status %s, update answered %s", st.Status, answer.Status)
	}
	if lt.withdrawals != 1 {
		t.Fatalf("withdrawn in the mailbox %d times, want once", lt.withdrawals)
	}
	if len(lt.printed) != 0 {
		t.Fatal("withdrawn letter was printed")
	}
}

func TestOpenedLetterCannotBeWithdrawn(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(false, false))
	lt.in.DigitalOnly = true
	var rejected error
	// The withdrawal arrives right behind the opening, before the workflow has read it.
	lt.env.RegisterDelayedCallback(func() {
		lt.mailboxOpening = &activities.MailboxOpening{At: lt.env.Now()}
		lt.env.SignalWorkflow(OpenedSignal, Opening{At: lt.env.Now()})
		lt.env.UpdateWorkflow(WithdrawUpdate, "w1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejected = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, WithdrawRequest{Sender: "region-midt", Reason: "too late"})
	}, time.Hour)
	lt.run()
	if rejected == nil || rejected.Error() != "letter has been opened and can no longer be withdrawn" {
		t.Fatalf("rejection %v", rejected)
	}
}

func TestRecipientGoneFromRegistryFailsTheLetter(t *testing.T) {
	lt := newLetterTest(t, activities.Delivery{})
	lt.planErr = temporal.NewNonRetryableApplicationError("letter x: recipient is not in the registry", activities.ErrRecipientUnknown, nil)
	lt.env.ExecuteWorkflow(LetterWorkflow, lt.in)
	err := lt.env.GetWorkflowError()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != "LetterFailed" {
		t.Fatalf("workflow error %v, want LetterFailed", err)
	}
	o := lt.finalOutcome()
	if o.Status != letters.Failed || o.Reason != "letter x: recipient is not in the registry" {
		t.Fatalf("recorded %+v", o)
	}
}

func TestSearchAttributesFollowTheStatus(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(false, false))
	lt.openAfter(time.Hour, false)
	var last string
	lt.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(searchattr.LetterStatus); ok {
			last = v
		}
	}).Return(nil)
	lt.run()
	if last != string(letters.Opened) {
		t.Fatalf("last LetterStatus upserted %q, want opened", last)
	}
}

// The citizen opened the letter in the mailbox, but the signal never reached the workflow
// (Temporal was unreachable). The sender's withdrawal is accepted and then loses: the
// mailbox decides, the sender hears why, and the letter ends opened.
func TestWithdrawalThatLosesToAnUnsignalledOpeningIsRefused(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(false, false))
	lt.mailboxOpening = &activities.MailboxOpening{At: time.Now()}
	var answerErr error
	completed := false
	lt.env.RegisterDelayedCallback(func() {
		lt.env.UpdateWorkflow(WithdrawUpdate, "w1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("withdrawal rejected by the validator: %v", err) }, OnAccept: func() {},
			OnComplete: func(_ any, err error) { completed, answerErr = true, err },
		}, WithdrawRequest{Sender: "region-midt", Reason: "wrong citizen"})
	}, time.Hour)
	st := lt.run()
	if st.Status != letters.Opened || lt.withdrawals != 0 || len(lt.printed) != 0 {
		t.Fatalf("status %s, withdrawals %d, printed %v: want opened, not withdrawn", st.Status, lt.withdrawals, lt.printed)
	}
	var app *temporal.ApplicationError
	if !completed || !errors.As(answerErr, &app) || app.Type() != WithdrawalRefused ||
		app.Message() != "letter has been opened and can no longer be withdrawn" {
		t.Fatalf("withdrawal answered %v", answerErr)
	}
}

// An opening whose signal was lost still stops the escalation: the workflow looks in the
// mailbox before it prints.
func TestOpeningWhoseSignalWasLostIsNeverEscalated(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(true, false))
	lt.mailboxOpening = &activities.MailboxOpening{At: time.Now(), ByDelegate: true}
	st := lt.run()
	if st.Status != letters.Opened || len(lt.printed) != 0 {
		t.Fatalf("status %s, printed %v: an opened letter went to paper", st.Status, lt.printed)
	}
}

func TestOnlyASentNoticeMakesTheLetterNotified(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(true, true))
	lt.noticeOutcome = map[notify.Channel]notify.Outcome{notify.SMS: notify.Unknown, notify.Email: notify.Rejected}
	lt.openAfter(time.Hour, false)
	st := lt.run()
	if contains(statuses(st.Timeline), letters.Notified) {
		t.Fatalf("timeline %v: an unknown or rejected notice counted as notified", statuses(st.Timeline))
	}
}

func TestANoticeStillUnderWayIsCancelledWhenTheLetterIsOpened(t *testing.T) {
	lt := newLetterTestWith(t, digitalPlan(true, false), func(lt *letterTest) { lt.noticeDelay = 10 * time.Hour })
	lt.openAfter(time.Hour, false)
	st := lt.run()
	if st.Status != letters.Opened || contains(statuses(st.Timeline), letters.Notified) {
		t.Fatalf("timeline %v", statuses(st.Timeline))
	}
	if !hasNote(st.Timeline, "sms notice not sent: the letter no longer waits for it") {
		t.Fatalf("timeline %+v", st.Timeline)
	}
}

// A provider down for longer than the deadline must not hold back the paper letter.
func TestEscalationDoesNotWaitForANoticeStillRetrying(t *testing.T) {
	lt := newLetterTestWith(t, digitalPlan(true, false), func(lt *letterTest) { lt.noticeDelay = 40 * time.Hour })
	lt.in.Deadline = 10 * time.Hour
	start := lt.env.Now()
	st := lt.run()
	if st.Status != letters.Escalated {
		t.Fatalf("status %s, want escalated", st.Status)
	}
	if waited := lt.printedAt.Sub(start); waited > 11*time.Hour {
		t.Fatalf("escalated after %s: the retrying notice held the paper letter back", waited)
	}
}

func TestANoticeThatFailsForGoodIsGivenUpOnRecord(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(false, true))
	lt.noticeErr = temporal.NewNonRetryableApplicationError("provider gone", "Boom", nil)
	lt.openAfter(time.Hour, false)
	st := lt.run()
	if len(lt.givenUp) != 1 || lt.givenUp[0] != notify.Email || contains(statuses(st.Timeline), letters.Notified) {
		t.Fatalf("given up %v, timeline %v", lt.givenUp, statuses(st.Timeline))
	}
}

func hasNote(tl []TimelineEntry, note string) bool {
	for _, e := range tl {
		if e.Note == note {
			return true
		}
	}
	return false
}

func statuses(tl []TimelineEntry) []letters.Status {
	var out []letters.Status
	for _, e := range tl {
		if len(out) == 0 || out[len(out)-1] != e.Status {
			out = append(out, e.Status)
		}
	}
	return out
}

func equal(a, b []letters.Status) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func contains(s []letters.Status, v letters.Status) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// A scheduled letter is delivered at its time, and its deadline runs from then.
func TestScheduledLetterIsDeliveredAtItsTimeAndTheDeadlineRunsFromThere(t *testing.T) {
	lt := newLetterTestWith(t, digitalPlan(false, false), func(lt *letterTest) {
		lt.in.DeliverAt = lt.env.Now().Add(48 * time.Hour)
	})
	start := lt.env.Now()
	st := lt.run()
	if got := lt.deliveredAt.Sub(start); got < 48*time.Hour || got > 48*time.Hour+time.Minute {
		t.Fatalf("delivered %s after submission, want 48h", got)
	}
	if st.Status != letters.Escalated {
		t.Fatalf("status %s, want escalated", st.Status)
	}
	if got := lt.printedAt.Sub(start); got < 120*time.Hour || got > 120*time.Hour+time.Minute {
		t.Fatalf("escalated %s after submission, want 48h + the 72h deadline", got)
	}
}

// Until its delivery time a scheduled letter can be withdrawn, and then it is never delivered.
func TestScheduledLetterWithdrawnBeforeItsTimeIsNeverDelivered(t *testing.T) {
	lt := newLetterTestWith(t, digitalPlan(true, true), func(lt *letterTest) {
		lt.in.DeliverAt = lt.env.Now().Add(7 * 24 * time.Hour)
	})
	var answer LetterState
	lt.env.RegisterDelayedCallback(func() {
		lt.env.UpdateWorkflow(WithdrawUpdate, "w1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("withdrawal rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(v any, err error) { answer = v.(LetterState) },
		}, WithdrawRequest{Sender: "region-midt", Reason: "the appointment was cancelled"})
	}, 24*time.Hour)
	st := lt.run()
	delivered := !lt.deliveredAt.IsZero()
	if st.Status != letters.Withdrawn || answer.Status != letters.Withdrawn || delivered || len(lt.notices) != 0 || len(lt.printed) != 0 {
		t.Fatalf("status %s (answer %s), delivered %v, notices %v, printed %v", st.Status, answer.Status, delivered, lt.notices, lt.printed)
	}
}

// An unopened letter reminds the citizen once, the configured time before its deadline, on
// each channel, and then goes to paper at the deadline.
func TestUnopenedLetterRemindsOnceThenEscalates(t *testing.T) {
	lt := newLetterTestWith(t, digitalPlan(true, true), func(lt *letterTest) {
		lt.env.SetStartTime(time.Date(2026, 12, 7, 10, 0, 0, 0, calendar.Copenhagen))
		lt.in.Reminder = 24 * time.Hour
		lt.in.Quiet = calendar.QuietHours{From: 22, Until: 7}
	})
	start := lt.env.Now()
	st := lt.run()
	if len(lt.reminders) != 2 {
		t.Fatalf("%d reminders, want one per channel", len(lt.reminders))
	}
	if got := lt.reminders[0].Sub(start); got != 48*time.Hour {
		t.Fatalf("reminded %s after delivery, want 48h (24h before the 72h deadline)", got)
	}
	if st.Status != letters.Escalated || lt.printedAt.Sub(start) != 72*time.Hour {
		t.Fatalf("status %s, printed %s after delivery", st.Status, lt.printedAt.Sub(start))
	}
}

// A reminder due at night waits for the morning.
func TestReminderDueAtNightWaitsForTheMorning(t *testing.T) {
	lt := newLetterTestWith(t, digitalPlan(true, false), func(lt *letterTest) {
		lt.env.SetStartTime(time.Date(2026, 12, 7, 1, 30, 0, 0, calendar.Copenhagen))
		lt.in.Reminder = 24 * time.Hour
		lt.in.Quiet = calendar.QuietHours{From: 22, Until: 7}
	})
	lt.run()
	want := time.Date(2026, 12, 9, 7, 0, 0, 0, calendar.Copenhagen)
	if len(lt.reminders) != 1 || !lt.reminders[0].Equal(want) {
		t.Fatalf("reminders %v, want one at %s", lt.reminders, want)
	}
}

// A letter opened before its reminder sends none.
func TestOpenedLetterSendsNoReminder(t *testing.T) {
	lt := newLetterTestWith(t, digitalPlan(true, true), func(lt *letterTest) { lt.in.Reminder = 24 * time.Hour })
	lt.openAfter(10*time.Hour, false)
	if st := lt.run(); st.Status != letters.Opened || len(lt.reminders) != 0 {
		t.Fatalf("status %s, %d reminders", st.Status, len(lt.reminders))
	}
}

// A letter read at once still sends its NemSMS appointment reminder a day before the
// appointment, and then ends.
func TestAppointmentReminderOutlivesTheOpening(t *testing.T) {
	var appointment time.Time
	lt := newLetterTestWith(t, digitalPlan(true, false), func(lt *letterTest) {
		appointment = lt.env.Now().Add(5 * 24 * time.Hour)
		lt.in.AppointmentAt, lt.in.AppointmentReminder = appointment, 24*time.Hour
	})
	lt.openAfter(time.Hour, false)
	st := lt.run()
	if st.Status != letters.Opened {
		t.Fatalf("status %s", st.Status)
	}
	if len(lt.appointmentReminders) != 1 || !lt.appointmentReminders[0].Equal(appointment.Add(-24*time.Hour)) {
		t.Fatalf("appointment reminders %v, want one at %s", lt.appointmentReminders, appointment.Add(-24*time.Hour))
	}
}

// Moving the appointment moves the reminder; withdrawing the letter cancels it.
func TestMovedAppointmentMovesTheReminderAndWithdrawalCancelsIt(t *testing.T) {
	var moved time.Time
	lt := newLetterTestWith(t, digitalPlan(true, false), func(lt *letterTest) {
		lt.in.AppointmentAt, lt.in.AppointmentReminder = lt.env.Now().Add(3*24*time.Hour), 24*time.Hour
		moved = lt.env.Now().Add(10 * 24 * time.Hour)
	})
	lt.openAfter(time.Hour, false)
	lt.env.RegisterDelayedCallback(func() {
		lt.env.UpdateWorkflow(MoveAppointmentUpdate, "m1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("move refused: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, MoveAppointment{At: moved, Sender: "region-midt"})
	}, 24*time.Hour)
	lt.run()
	if len(lt.moves) != 1 || !lt.moves[0].Equal(moved) {
		t.Fatalf("moves recorded %v", lt.moves)
	}
	if len(lt.appointmentReminders) != 1 || !lt.appointmentReminders[0].Equal(moved.Add(-24*time.Hour)) {
		t.Fatalf("reminders %v, want one a day before the moved appointment", lt.appointmentReminders)
	}

	withdrawn := newLetterTestWith(t, digitalPlan(true, false), func(lt *letterTest) {
		lt.in.AppointmentAt, lt.in.AppointmentReminder = lt.env.Now().Add(3*24*time.Hour), 24*time.Hour
	})
	withdrawn.env.RegisterDelayedCallback(func() {
		withdrawn.env.UpdateWorkflow(WithdrawUpdate, "w1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("withdrawal refused: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, WithdrawRequest{Sender: "region-midt", Reason: "cancelled"})
	}, time.Hour)
	if st := withdrawn.run(); st.Status != letters.Withdrawn || len(withdrawn.appointmentReminders) != 0 {
		t.Fatalf("withdrawn letter: %s, %d reminders", st.Status, len(withdrawn.appointmentReminders))
	}
}

// A move names the time it moves from; the same move sent again (copied from the history,
// say) finds the appointment elsewhere and is refused, so it cannot move the appointment back
// (issue 23).
func TestAMoveSentAgainDoesNotMoveTheAppointmentBack(t *testing.T) {
	var first, second time.Time
	var original time.Time
	var refused []string
	lt := newLetterTestWith(t, digitalPlan(true, false), func(lt *letterTest) {
		original = lt.env.Now().Add(3 * 24 * time.Hour)
		lt.in.AppointmentAt, lt.in.AppointmentReminder = original, 24*time.Hour
		first, second = lt.env.Now().Add(10*24*time.Hour), lt.env.Now().Add(12*24*time.Hour)
	})
	lt.openAfter(time.Hour, false)
	move := func(id string, m MoveAppointment) func() {
		return func() {
			lt.env.UpdateWorkflow(MoveAppointmentUpdate, id, &testsuite.TestUpdateCallback{
				OnReject: func(err error) { refused = append(refused, id+": "+err.Error()) }, OnAccept: func() {}, OnComplete: func(any, error) {},
			}, m)
		}
	}
	lt.env.RegisterDelayedCallback(move("to-first", MoveAppointment{At: first, Sender: "region-midt", From: original}), 2*time.Hour)
	lt.env.RegisterDelayedCallback(move("to-second", MoveAppointment{At: second, Sender: "region-midt", From: first}), 3*time.Hour)
	lt.env.RegisterDelayedCallback(move("to-first-again", MoveAppointment{At: first, Sender: "region-midt", From: original}), 4*time.Hour)
	lt.run()
	if len(lt.moves) != 2 || !lt.moves[1].Equal(second) {
		t.Fatalf("moves recorded %v, want the first and the second only", lt.moves)
	}
	if len(refused) != 1 || !strings.HasPrefix(refused[0], "to-first-again: the appointment was moved meanwhile") {
		t.Fatalf("refused %q, want the move sent again", refused)
	}
	if len(lt.appointmentReminders) != 1 || !lt.appointmentReminders[0].Equal(second.Add(-24*time.Hour)) {
		t.Fatalf("reminders %v, want one a day before the second time", lt.appointmentReminders)
	}
}

// A new letter delivers and makes both notices' first try in one local step, and runs one
// timer at a time: opened before its reminder, it never starts the deadline's timer.
func TestOpenedLetterTakesOneDeliveryStepAndOneTimer(t *testing.T) {
	lt := newLetterTestWith(t, digitalPlan(true, true), func(lt *letterTest) { lt.in.Reminder = 24 * time.Hour })
	var timers []time.Duration
	var steps []string
	lt.env.SetOnTimerScheduledListener(func(_ string, d time.Duration) { timers = append(timers, d) })
	lt.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		steps = append(steps, info.ActivityType.Name)
	})
	lt.openAfter(10*time.Hour, false)
	if st := lt.run(); st.Status != letters.Opened {
		t.Fatalf("status %s", st.Status)
	}
	if len(timers) != 1 || timers[0] != 48*time.Hour {
		t.Fatalf("timers %v, want only the reminder's (48h)", timers)
	}
	if strings.Join(steps, ", ") != "DeliverAndNotify, FindOpening, RecordOutcome" {
		t.Fatalf("local steps %v, want DeliverAndNotify, FindOpening (the mailbox confirms the opening), RecordOutcome", steps)
	}
	if len(lt.notices) != 2 {
		t.Fatalf("notices %v, want sms and e-mail from the delivery step", lt.notices)
	}
}

// A lean letter's deadline runs from its delivery, not from the end of the notices' first try
// that the same step makes afterwards (a slow provider can take seconds).
func TestLeanLettersDeadlineRunsFromItsDelivery(t *testing.T) {
	lt := newLetterTestWith(t, digitalPlan(true, false), func(lt *letterTest) { lt.firstTryTakes = 8 * time.Second })
	start := lt.env.Now()
	if st := lt.run(); st.Status != letters.Escalated {
		t.Fatalf("status %s", st.Status)
	}
	if got := lt.printedAt.Sub(start); got != 72*time.Hour {
		t.Fatalf("printed %s after delivery, want the 72h deadline exactly", got)
	}
	// The counter-case: a delivery step that does not say when it delivered leaves the
	// workflow to count from its answer, 8 s late. That the two differ is what shows the
	// deadline above ran from the delivery (issue 27, row 10: the old check compared the
	// mock's own value with itself).
	late := newLetterTestWith(t, digitalPlan(true, false), func(lt *letterTest) {
		lt.firstTryTakes, lt.noDeliveredAt = 8*time.Second, true
	})
	lateStart := late.env.Now()
	if st := late.run(); st.Status != letters.Escalated {
		t.Fatalf("status %s", st.Status)
	}
	if got := late.printedAt.Sub(lateStart); got != 72*time.Hour+8*time.Second {
		t.Fatalf("without a delivery time, printed %s after the start, want 72h8s", got)
	}
}

// A withdrawal that is there before the delivery (it came with the start, as update-with-start
// brings it to a letter of a batch still waiting for its start) withdraws the letter without
// delivering it: no Deliver, no notice, nothing printed, and the mailbox asked once.
func TestWithdrawalThatCameWithTheStartWithdrawsWithoutDelivering(t *testing.T) {
	lt := newLetterTestWith(t, digitalPlan(true, true), func(lt *letterTest) {
		lt.in.AppointmentAt, lt.in.AppointmentReminder = lt.env.Now().Add(3*24*time.Hour), 24*time.Hour
	})
	// The test environment hands a workflow an update only between workflow tasks; holding the
	// letter for a second where run begins lets the withdrawal arrive where update-with-start
	// puts it: after the handlers are set up, before anything is delivered.
	lt.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&holdAtRun{}}})
	var steps []string
	lt.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		steps = append(steps, info.ActivityType.Name)
	})
	var answer LetterState
	lt.env.RegisterDelayedCallback(func() {
		lt.env.UpdateWorkflow(WithdrawUpdate, "w1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("withdrawal rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(v any, err error) {
				if err != nil {
					t.Errorf("withdrawal failed: %v", err)
					return
				}
				answer = v.(LetterState)
			},
		}, WithdrawRequest{Sender: "region-midt", Reason: "sent by mistake"})
	}, 0)
	st := lt.run()
	if st.Status != letters.Withdrawn || answer.Status != letters.Withdrawn {
		t.Fatalf("status %s, update answered %s", st.Status, answer.Status)
	}
	if !lt.deliveredAt.IsZero() || len(lt.notices) != 0 || len(lt.printed) != 0 || len(lt.appointmentReminders) != 0 {
		t.Fatalf("delivered %v, notices %v, printed %v, appointment reminders %v; want none of them",
			!lt.deliveredAt.IsZero(), lt.notices, lt.printed, lt.appointmentReminders)
	}
	if len(steps) != 1 || steps[0] != "WithdrawLetter" || lt.withdrawals != 1 {
		t.Fatalf("local steps %v (withdrawn %d times), want only WithdrawLetter", steps, lt.withdrawals)
	}
	if !hasNote(st.Timeline, "withdrawn by the sender before its delivery: sent by mistake") {
		t.Fatalf("timeline %+v", st.Timeline)
	}
}

// holdAtRun sleeps once, for a second, when a letter's run asks for its version: the letter's
// handlers are set up, and nothing is delivered yet.
type holdAtRun struct {
	interceptor.WorkerInterceptorBase
}

func (h *holdAtRun) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &holdAtRunInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type holdAtRunInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (h *holdAtRunInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return h.Next.Init(&holdAtRunOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}})
}

type holdAtRunOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	held bool
}

func (h *holdAtRunOutbound) GetVersion(ctx workflow.Context, changeID string, minSupported, maxSupported workflow.Version) workflow.Version {
	if changeID == reliableLetter && !h.held {
		h.held = true
		_ = h.Next.Sleep(ctx, time.Second)
	}
	return h.Next.GetVersion(ctx, changeID, minSupported, maxSupported)
}

// What `temporal workflow signal --name opened` does from outside: a signal with no opening in
// the mailbox behind it. The letter must not count it, and goes to paper at its deadline.
func TestAnOpeningTheMailboxHasNotRecordedIsIgnored(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(false, false))
	lt.env.RegisterDelayedCallback(func() {
		lt.env.SignalWorkflow(OpenedSignal, Opening{At: lt.env.Now()})
	}, time.Hour)
	st := lt.run()
	if st.Status != letters.Escalated || len(lt.printed) != 1 {
		t.Fatalf("status %s, printed %v: a forged opening stopped the escalation to paper", st.Status, lt.printed)
	}
	if !hasNote(st.Timeline, "an opening signal that the mailbox has no record of was ignored") {
		t.Fatalf("timeline %+v", st.Timeline)
	}
}

// A forged signal first, then the citizen's real opening: the letter is opened, at the
// mailbox's time, not the forged one's.
func TestARealOpeningAfterAForgedOneCounts(t *testing.T) {
	lt := newLetterTest(t, digitalPlan(false, false))
	lt.env.RegisterDelayedCallback(func() {
		lt.env.SignalWorkflow(OpenedSignal, Opening{At: lt.env.Now().Add(-100 * time.Hour), ByDelegate: true})
	}, time.Hour)
	lt.openAfter(5*time.Hour, false)
	st := lt.run()
	if st.Status != letters.Opened || len(lt.printed) != 0 {
		t.Fatalf("status %s, printed %v", st.Status, lt.printed)
	}
	if !hasNote(st.Timeline, "opened by the recipient") {
		t.Fatalf("timeline %+v: the forged signal's delegate was believed", st.Timeline)
	}
}
