package workflows

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"digitalpost/activities"
	"digitalpost/internal/domain/letters"
)

// The sender's withdrawal and the citizen's opening reach a waiting letter at the same moment
// of workflow time, in either order, and the mailbox (the harness's WithdrawLetter and
// FindOpening, deciding on one row as PostgreSQL does) took one of them first. Exactly one
// wins: an opened letter is not withdrawn, a withdrawn letter is never shown as opened, and the
// sender's answer says what the letter became.
func TestWithdrawalAndOpeningAtTheSameMomentHaveOneWinner(t *testing.T) {
	for _, c := range []struct {
		name string
		// signalFirst: the opening's signal is in the letter before the withdrawal's Update.
		signalFirst bool
		// mailboxOpened: the mailbox recorded the opening before the withdrawal reached it;
		// otherwise the withdrawal took the row, and the signal names an opening the mailbox
		// refused.
		mailboxOpened bool
		want          letters.Status
	}{
		{"withdrawal then opening, the mailbox took the opening", false, true, letters.Opened},
		{"opening then withdrawal, the mailbox took the opening", true, true, letters.Opened},
		{"withdrawal then opening, the mailbox took the withdrawal", false, false, letters.Withdrawn},
	} {
		t.Run(c.name, func(t *testing.T) {
			lt := newLetterTest(t, digitalPlan(true, true))
			lt.in.DigitalOnly = true // nothing but the race ends the wait
			var (
				rejected, answerErr error
				answer              LetterState
				completed           bool
			)
			lt.env.RegisterDelayedCallback(func() {
				open := func() {
					if c.mailboxOpened {
						lt.mailboxOpening = &activities.MailboxOpening{At: lt.env.Now()}
					}
					lt.env.SignalWorkflow(OpenedSignal, Opening{At: lt.env.Now()})
				}
				withdraw := func() {
					lt.env.UpdateWorkflow(WithdrawUpdate, "w1", &testsuite.TestUpdateCallback{
						OnReject: func(err error) { rejected = err }, OnAccept: func() {},
						OnComplete: func(v any, err error) {
							completed, answerErr = true, err
							if st, ok := v.(LetterState); ok {
								answer = st
							}
						},
					}, WithdrawRequest{Sender: "region-midt", Reason: "sent to the wrong citizen"})
				}
				if c.signalFirst {
					open()
					withdraw()
				} else {
					withdraw()
					open()
				}
			}, time.Hour)
			st := lt.run()
			if st.Status != c.want {
				t.Fatalf("letter ended %s, want %s (timeline %v)", st.Status, c.want, statuses(st.Timeline))
			}
			withdrawn := completed && answerErr == nil && answer.Status == letters.Withdrawn
			switch st.Status {
			case letters.Opened:
				if withdrawn || lt.withdrawals != 0 || contains(statuses(st.Timeline), letters.Withdrawn) {
					t.Fatalf("opened letter was withdrawn too: answer %s %v, %d withdrawals in the mailbox", answer.Status, answerErr, lt.withdrawals)
				}
				// The sender hears the withdrawal lost: refused at the door, or after it was accepted.
				var app *temporal.ApplicationError
				refusedLater := completed && errors.As(answerErr, &app) && app.Type() == WithdrawalRefused
				if rejected == nil && !refusedLater {
					t.Fatalf("the withdrawal of an opened letter was neither rejected nor refused: %v %v", rejected, answerErr)
				}
				if o := lt.finalOutcome(); o.Status != letters.Opened {
					t.Fatalf("recorded outcome %s, want opened", o.Status)
				}
			case letters.Withdrawn:
				if !withdrawn || rejected != nil || lt.withdrawals != 1 {
					t.Fatalf("withdrawal answered %s %v (rejected %v), %d withdrawals in the mailbox", answer.Status, answerErr, rejected, lt.withdrawals)
				}
				if contains(statuses(st.Timeline), letters.Opened) || contains(statuses(answer.Timeline), letters.Opened) {
					t.Fatalf("withdrawn letter is shown as opened: %v", statuses(st.Timeline))
				}
			}
		})
	}
}
