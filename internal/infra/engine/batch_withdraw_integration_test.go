package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/mailbox"
	"digitalpost/internal/infra/testenv"
	"digitalpost/workflows"
)

// storeRun stores a bulk run of n letters to Anna (digital, SMS and e-mail notices) without
// starting any of them: the state of a batch whose starts are still under way.
func storeRun(t *testing.T, s *testenv.System, n int, appointmentAt *time.Time) []letters.Letter {
	t.Helper()
	run := make([]postoffice.Submission, n)
	for i := range run {
		run[i] = postoffice.Submission{SenderID: "region-midt", MessageID: fmt.Sprintf("waiting-%d", i), RecipientCPR: annaCPR,
			Subject: "Indkaldelse", Body: "Tekst", DigitalOnly: true, AppointmentAt: appointmentAt}
	}
	_, stored, err := s.PostOffice.StoreBulk(context.Background(), run, nil)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func startedAt(t *testing.T, s *testenv.System, id uuid.UUID) *time.Time {
	t.Helper()
	var at *time.Time
	if err := s.DB.QueryRow(context.Background(), `SELECT started_at FROM letters WHERE id = $1`, id).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}

// A letter of a batch can be withdrawn while it waits for its start: the withdrawal starts
// its workflow (update-with-start), which withdraws it without delivering it. The batch's
// start and the recovery sweep's start then find the workflow and change nothing: the letter
// stays withdrawn, never reaches the mailbox and sends no notice, while the rest of the batch
// is delivered.
func TestWithdrawingALetterWaitingInABatch(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	stored := storeRun(t, s, 4, nil)
	last := stored[len(stored)-1]

	st, err := s.PostOffice.Withdraw(ctx, last.ID, "sendt ved en fejl")
	if err != nil || st.Status != letters.Withdrawn {
		t.Fatalf("withdrawal of a letter waiting in its batch: %s, %v; want withdrawn", st.Status, err)
	}
	if l, _ := s.Letters.Get(ctx, last.ID); l.Status != letters.Withdrawn {
		t.Fatalf("letter is %s in PostgreSQL right after its withdrawal, want withdrawn", l.Status)
	}
	if startedAt(t, s, last.ID) == nil {
		t.Fatal("the withdrawal started the letter's workflow but left the start unconfirmed for the sweep")
	}
	for _, l := range stored[:len(stored)-1] {
		if startedAt(t, s, l.ID) != nil {
			t.Fatalf("letter %s of the batch is confirmed started before the batch started it", l.ID)
		}
	}

	// The batch goes on; the recovery sweep's start (Resume) comes too, late.
	if err := s.PostOffice.StartBulk(ctx, stored, postoffice.BulkOptions{Concurrency: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.PostOffice.Resume(ctx, last); err != nil {
		t.Fatalf("the sweep's start of the withdrawn letter: %v", err)
	}
	for _, l := range stored[:len(stored)-1] {
		waitForStatus(t, s, l.ID, letters.Notified)
	}
	testenv.Eventually(t, 20*time.Second, "the other letters' notices", func() bool {
		return len(s.Twilio.Messages()) == len(stored)-1 && len(s.SendGrid.Mails()) == len(stored)-1
	})

	res, err := waitForResult(t, s, last.ID)
	if err != nil || res.Status != letters.Withdrawn {
		t.Fatalf("withdrawn letter's workflow ended %s, %v", res.Status, err)
	}
	for _, e := range res.Timeline {
		if e.Status == letters.Delivered || e.Status == letters.Notified {
			t.Fatalf("the withdrawn letter was %s: %+v", e.Status, res.Timeline)
		}
	}
	if l, _ := s.Letters.Get(ctx, last.ID); l.Status != letters.Withdrawn {
		t.Fatalf("withdrawn letter is %s in PostgreSQL after its batch started, want withdrawn", l.Status)
	}
	if _, err := s.Mailbox.Entry(ctx, last.ID); !errors.Is(err, mailbox.ErrNotInMailbox) {
		t.Fatalf("the withdrawn letter has a mailbox entry (%v)", err)
	}
	// No sleep needed: the other letters' notices are all out and the withdrawn letter's
	// workflow has ended (both awaited above), so nothing can still send for it.
	var notices int
	if err := s.DB.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE letter_id = $1`, last.ID).Scan(&notices); err != nil {
		t.Fatal(err)
	}
	if notices != 0 || len(s.Twilio.Messages()) != len(stored)-1 || len(s.SendGrid.Mails()) != len(stored)-1 {
		t.Fatalf("notices for the withdrawn letter: %d recorded; at the providers %d SMS and %d e-mails for %d delivered letters",
			notices, len(s.Twilio.Messages()), len(s.SendGrid.Mails()), len(stored)-1)
	}

	// Withdrawn once is withdrawn: a second withdrawal is refused with the state.
	_, err = s.PostOffice.Withdraw(ctx, last.ID, "")
	var refused *postoffice.Refused
	if !errors.As(err, &refused) || refused.Reason != "letter is withdrawn and can no longer be withdrawn" {
		t.Fatalf("second withdrawal answered %v", err)
	}
}

// A letter whose workflow has ended although PostgreSQL still has it under way (an operator
// terminated it) is not started again by a withdrawal: the refusal names the stored state.
func TestWithdrawingALetterWhoseWorkflowEndedIsRefused(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	r, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR,
		Subject: "Indkaldelse", Body: "Tekst", DigitalOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, r.LetterID, letters.Notified)
	if err := s.Temporal.TerminateWorkflow(ctx, letters.WorkflowID(r.LetterID), "", "operator"); err != nil {
		t.Fatal(err)
	}
	_, err = s.PostOffice.Withdraw(ctx, r.LetterID, "for sent")
	var refused *postoffice.Refused
	if !errors.As(err, &refused) || refused.Reason != "letter is notified and can no longer be withdrawn" {
		t.Fatalf("withdrawal of a letter whose workflow ended answered %v", err)
	}
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, letters.WorkflowID(r.LetterID), "")
	if err != nil || desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("the letter's workflow is %v (%v), want the terminated one, not started again", desc.GetWorkflowExecutionInfo().GetStatus(), err)
	}
}

// The appointment of a letter waiting in its batch can be moved: the move starts the
// letter's workflow with it, the NemSMS reminder follows the new time, and the batch's start
// changes nothing.
func TestMovingTheAppointmentOfALetterWaitingInABatch(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	if _, err := s.Desk.SubscribeNemSMS(ctx, annaCPR, s.NemSMS.Terms, ""); err != nil {
		t.Fatal(err)
	}
	s.PostOffice.AppointmentReminder = 3 * time.Second
	first := time.Now().Add(time.Hour).Truncate(time.Second)
	stored := storeRun(t, s, 2, &first)
	last := stored[len(stored)-1]

	at := time.Now().Add(8 * time.Second).Truncate(time.Second)
	moved, err := s.PostOffice.MoveAppointment(ctx, last.ID, at.Format(time.RFC3339))
	if err != nil || !moved.Equal(at) {
		t.Fatalf("moving the appointment of a letter waiting in its batch: %v, %v; want %v", moved, err, at)
	}
	if l, _ := s.Letters.Get(ctx, last.ID); l.AppointmentAt == nil || !l.AppointmentAt.Equal(at) {
		t.Fatalf("appointment in PostgreSQL %v, want %v", l.AppointmentAt, at)
	}
	// The batch goes on with the letters as it stored them, the appointment at its first time.
	if err := s.PostOffice.StartBulk(ctx, stored, postoffice.BulkOptions{Concurrency: 2}); err != nil {
		t.Fatal(err)
	}
	for _, l := range stored {
		waitForStatus(t, s, l.ID, letters.Notified)
	}
	testenv.Eventually(t, 20*time.Second, "the moved appointment's reminder", func() bool {
		return len(smsTo(s, "+4520000001", "Du har en aftale")) == 1
	})
	if early := at.Add(-3 * time.Second).Add(-time.Second); time.Now().Before(early) {
		t.Fatalf("reminder before its time %s", at.Add(-3*time.Second))
	}
	if startedAt(t, s, last.ID) == nil {
		t.Fatal("the move started the letter's workflow but left the start unconfirmed for the sweep")
	}
	st, err := s.PostOffice.Status(ctx, last.ID)
	if err != nil || !hasTimelineNote(st, "appointment moved to") {
		t.Fatalf("timeline %+v (%v), want the move", st.Timeline, err)
	}
	// One delivery and one new-post SMS per letter, one reminder: the move's start and the
	// batch's start are one workflow.
	// Awaited, not slept on: every letter delivered and its SMS out, and the one reminder.
	var entries int
	testenv.Eventually(t, 20*time.Second, "every letter delivered with its SMS, and the reminder", func() bool {
		if err := s.DB.QueryRow(ctx, `SELECT count(*) FROM mailbox_entries`).Scan(&entries); err != nil {
			t.Fatal(err)
		}
		return entries >= len(stored) && len(s.Twilio.Messages()) >= len(stored)+1
	})
	if n, all := len(smsTo(s, "+4520000001", "Du har en aftale")), len(s.Twilio.Messages()); n != 1 || all != len(stored)+1 || entries != len(stored) {
		t.Fatalf("%d appointment reminders, %d SMS in all, %d mailbox entries for %d letters", n, all, entries, len(stored))
	}
}

func hasTimelineNote(st workflows.LetterState, words string) bool {
	for _, e := range st.Timeline {
		if strings.Contains(e.Note, words) {
			return true
		}
	}
	return false
}
