package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"digitalpost/activities"
	"digitalpost/internal/adapters/print"
	"digitalpost/internal/adapters/printhouse"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/mailbox"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/engine"
	"digitalpost/internal/infra/testenv"
	"digitalpost/workflows"
)

const (
	annaCPR = "010180-1234"
	boCPR   = "020275-2345"
)

func seed(t *testing.T, s *testenv.System) {
	t.Helper()
	ctx := context.Background()
	if err := s.Registry.AddSender(ctx, registry.Sender{ID: "region-midt", Organisation: "Region Midtjylland",
		ProducingUnit: "Aarhus Universitetshospital", ReturnAddress: "Skottenborg 26\n8800 Viborg"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []registry.NewCitizen{
		{CPR: annaCPR, Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C", Email: "anna@example.dk", Mobile: "+4520000001"},
		{CPR: boCPR, Name: "Bo Nielsen", Address: "Nørregade 2\n8000 Aarhus C"},
	} {
		if _, err := s.Registry.AddCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
}

func waitForResult(t *testing.T, s *testenv.System, id uuid.UUID) (workflows.LetterState, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var st workflows.LetterState
	err := s.Temporal.GetWorkflow(ctx, letters.WorkflowID(id), "").Get(ctx, &st)
	return st, err
}

func waitForStatus(t *testing.T, s *testenv.System, id uuid.UUID, want letters.Status) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, "letter "+string(want), func() bool {
		st, err := s.PostOffice.Status(context.Background(), id)
		return err == nil && st.Status == want
	})
}

func TestLetterIsDeliveredNotifiedAndOpened(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	r, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR,
		Subject: "Indkaldelse til kræftscreening", Body: "Du er indkaldt til en undersøgelse for brystkræft."})
	if err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, r.LetterID, letters.Notified)

	sms, mails := s.Twilio.Messages(), s.SendGrid.Mails()
	if len(sms) != 1 || sms[0].To != "+4520000001" || len(mails) != 1 || mails[0].To != "anna@example.dk" {
		t.Fatalf("want one SMS and one e-mail to Anna, got %+v %+v", sms, mails)
	}
	// Rule 8: the notice names the sender and nothing of the content.
	for _, text := range []string{sms[0].Body, mails[0].Text, mails[0].Subject} {
		if !strings.Contains(text, "Region Midtjylland") && text != mails[0].Text {
			t.Errorf("notice does not name the sender: %q", text)
		}
		if strings.Contains(text, "kræft") || strings.Contains(text, "screening") {
			t.Errorf("notice leaks letter content: %q", text)
		}
	}
	if len([]rune(sms[0].Body)) > 160 {
		t.Errorf("SMS is %d characters", len([]rune(sms[0].Body)))
	}

	entry, err := s.PostOffice.Open(ctx, r.LetterID, annaCPR)
	if err != nil {
		t.Fatal(err)
	}
	st, err := waitForResult(t, s, r.LetterID)
	if err != nil || st.Status != letters.Opened {
		t.Fatalf("result %+v, %v", st.Status, err)
	}
	stored, err := s.Letters.Get(ctx, r.LetterID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != letters.Opened || entry.OpenedBy == nil || *entry.OpenedBy != entry.CitizenID {
		t.Fatalf("stored %s, opened by %v", stored.Status, entry.OpenedBy)
	}
	if jobs, err := s.PrintJobs.ForLetter(ctx, r.LetterID); err != nil || len(jobs) != 0 {
		t.Fatalf("an opened letter was printed: %+v (%v)", jobs, err)
	}
}

func TestUnopenedLetterEscalatesToAValidPDF(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	r, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: boCPR,
		Subject: "Svar på ansøgning", Body: "Din ansøgning er godkendt.", Deadline: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st, err := waitForResult(t, s, r.LetterID)
	if err != nil || st.Status != letters.Escalated || st.Channel != letters.DigitalThenPaper {
		t.Fatalf("result %s/%s, %v", st.Status, st.Channel, err)
	}
	jobs, err := s.PrintJobs.ForLetter(ctx, r.LetterID)
	if err != nil || len(jobs) != 1 || jobs[0].Purpose != print.Escalation {
		t.Fatalf("print jobs %+v %v", jobs, err)
	}
	pdf, err := os.ReadFile(jobs[0].PDFPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := print.ValidatePDF(pdf); err != nil {
		t.Fatalf("escalated letter's print file: %v", err)
	}
	if n, _ := print.PageCount(pdf); n != 1 {
		t.Fatalf("pages %d", n)
	}
	if _, err := os.Stat(strings.TrimSuffix(jobs[0].PDFPath, ".pdf") + ".json"); err != nil {
		t.Fatalf("no manifest beside the PDF: %v", err)
	}
	if len(s.Twilio.Messages())+len(s.SendGrid.Mails()) != 0 {
		t.Fatal("Bo registered no contact details but was notified")
	}
}

func TestSameMessageIDDeliversOnce(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	sub := postoffice.Submission{SenderID: "region-midt", MessageID: "run-42/anna", RecipientCPR: annaCPR,
		Subject: "Indkaldelse", Body: "Du er indkaldt."}
	var wg sync.WaitGroup
	receipts := make([]postoffice.Receipt, 4)
	errs := make([]error, 4)
	for i := range receipts {
		wg.Go(func() { receipts[i], errs[i] = s.PostOffice.Submit(ctx, sub) })
	}
	wg.Wait()
	fresh := 0
	for i, r := range receipts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if r.LetterID != receipts[0].LetterID {
			t.Fatalf("one message id gave two letters: %s %s", r.LetterID, receipts[0].LetterID)
		}
		if !r.Duplicate {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d submissions claimed to be new", fresh)
	}
	waitForStatus(t, s, receipts[0].LetterID, letters.Notified)
	if _, err := s.PostOffice.Open(ctx, receipts[0].LetterID, annaCPR); err != nil {
		t.Fatal(err)
	}
	if _, err := waitForResult(t, s, receipts[0].LetterID); err != nil {
		t.Fatal(err)
	}
	// Submitting once more after the letter finished still delivers nothing new.
	again, err := s.PostOffice.Submit(ctx, sub)
	if err != nil || !again.Duplicate {
		t.Fatalf("late repeat: %+v %v", again, err)
	}
	rows, entries := countRows(t, s, `SELECT count(*) FROM letters`), countRows(t, s, `SELECT count(*) FROM mailbox_entries`)
	if rows != 1 || entries != 1 || len(s.Twilio.Messages()) != 1 || len(s.SendGrid.Mails()) != 1 {
		t.Fatalf("letters %d, mailbox entries %d, sms %d, mails %d: want one of each",
			rows, entries, len(s.Twilio.Messages()), len(s.SendGrid.Mails()))
	}
}

func TestBadInputIsRefusedAndNothingIsWritten(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	pdf, _, _ := print.Render(print.Sheet{Subject: "x", Body: "x"}, nil)
	cases := map[string]struct {
		sub   postoffice.Submission
		field string
	}{
		"malformed CPR":     {postoffice.Submission{RecipientCPR: "12345"}, "to"},
		"unknown recipient": {postoffice.Submission{RecipientCPR: "111111-1118"}, "to"},
		"empty subject":     {postoffice.Submission{Subject: " "}, "subject"},
		"missing content":   {postoffice.Submission{Body: ""}, "content"},
		"document over 10 MB": {postoffice.Submission{Documents: []letters.Document{
			{Filename: "big.pdf", Content: append(append([]byte{}, pdf...), make([]byte, letters.MaxDocumentBytes)...)}}}, "document 1 (big.pdf)"},
		"non-PDF document that may be printed": {postoffice.Submission{Documents: []letters.Document{
			{Filename: "note.txt", Content: []byte("hello")}}}, "document 1 (note.txt)"},
		"unknown sender": {postoffice.Submission{SenderID: "nobody"}, "sender"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			sub := postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR, Subject: "Emne", Body: "Tekst",
				MessageID: "bad-" + name}
			if c.sub.RecipientCPR != "" {
				sub.RecipientCPR = c.sub.RecipientCPR
			}
			if c.sub.Subject != "" {
				sub.Subject = c.sub.Subject
			}
			if name == "missing content" {
				sub.Body = ""
			}
			if c.sub.SenderID != "" {
				sub.SenderID = c.sub.SenderID
			}
			sub.Documents = c.sub.Documents
			_, err := s.PostOffice.Submit(ctx, sub)
			var list fielderr.List
			if !errors.As(err, &list) || !contains(fielderr.Fields(err), c.field) {
				t.Fatalf("error %v, want one naming %q", err, c.field)
			}
			if strings.Contains(err.Error(), "1111111118") || strings.Contains(err.Error(), "0101801234") {
				t.Fatalf("error repeats the CPR number: %v", err)
			}
			_, err = s.Temporal.DescribeWorkflowExecution(ctx, letters.WorkflowID(letters.IDFor(sub.SenderID, sub.MessageID)), "")
			var notFound *serviceerror.NotFound
			if !errors.As(err, &notFound) {
				t.Fatalf("a workflow was started for bad input: %v", err)
			}
		})
	}
	if rows := countRows(t, s, `SELECT count(*) FROM letters`); rows != 0 {
		t.Fatalf("%d letter rows written for bad input", rows)
	}
}

func TestLetterToDeletedRecipientFails(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	s.Cancel() // workers stop: the recipient disappears between submission and delivery
	r, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: boCPR, Subject: "Emne", Body: "Tekst"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Letters.Get(ctx, r.LetterID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Registry.DeleteCitizen(ctx, *l.RecipientID); err != nil {
		t.Fatal(err)
	}
	restarted, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(restarted) }()
	_, err = waitForResult(t, s, r.LetterID)
	if err == nil || !strings.Contains(err.Error(), "recipient is not in the registry") {
		t.Fatalf("workflow error %v", err)
	}
	l, _ = s.Letters.Get(ctx, r.LetterID)
	if l.Status != letters.Failed || !strings.Contains(l.FailureReason, "recipient is not in the registry") {
		t.Fatalf("stored %s %q", l.Status, l.FailureReason)
	}
}

// countRows runs a count query; a query that fails fails the test instead of reading as 0.
func countRows(t *testing.T, s *testenv.System, query string) int {
	t.Helper()
	var n int
	if err := s.DB.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mustCPR(s string) cpr.Number {
	n, err := cpr.Parse(s)
	if err != nil {
		panic(err)
	}
	return n
}

func TestBulkRunIsAllOrNothingAndDeliversOnce(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	run := make([]postoffice.Submission, 40)
	for i := range run {
		to := annaCPR
		if i%2 == 1 {
			to = boCPR
		}
		run[i] = postoffice.Submission{SenderID: "region-midt", MessageID: fmt.Sprintf("household-%d", i), RecipientCPR: to,
			Subject: "Brev til alle husstande", Body: "Tekst", DigitalOnly: true}
	}
	broken := append([]postoffice.Submission{}, run...)
	broken[7].Subject = ""
	broken[30].RecipientCPR = "999999-9999"
	_, err := s.PostOffice.SubmitBulk(ctx, broken, postoffice.BulkOptions{})
	fields := fielderr.Fields(err)
	if !contains(fields, "letter 8: subject") || !contains(fields, "letter 31: to") || len(fields) != 2 {
		t.Fatalf("refusal names %v (%v)", fields, err)
	}
	if rows := countRows(t, s, `SELECT count(*) FROM letters`); rows != 0 {
		t.Fatalf("a refused run wrote %d letters", rows)
	}

	var progress []int
	receipts, err := s.PostOffice.SubmitBulk(ctx, run, postoffice.BulkOptions{Concurrency: 8,
		Progress: func(n int) { progress = append(progress, n) }})
	if err != nil || len(receipts) != len(run) || progress[len(progress)-1] != len(run) {
		t.Fatalf("receipts %d, progress %v, %v", len(receipts), progress, err)
	}
	// Every start is confirmed when the run returns: the recovery sweep has nothing to redo.
	if unconfirmed := countRows(t, s, `SELECT count(*) FROM letters WHERE started_at IS NULL`); unconfirmed != 0 {
		t.Fatalf("%d started letters left unconfirmed", unconfirmed)
	}
	// Every letter delivered, and each of Anna's (every other one) notified by SMS and e-mail.
	testenv.Eventually(t, 30*time.Second, "all letters delivered and Anna's notices sent", func() bool {
		return countRows(t, s, `SELECT count(*) FROM letters WHERE status IN ('delivered', 'notified')`) == len(run) &&
			countRows(t, s, `SELECT count(*) FROM notifications WHERE state = 'sent'`) == len(run)
	})
	// The same run again, say after the sender's job was restarted, delivers nothing new: every
	// letter is the first run's, as a duplicate, so no workflow was started and the counts below
	// are final, not merely read too early.
	again, err := s.PostOffice.SubmitBulk(ctx, run, postoffice.BulkOptions{})
	if err != nil || len(again) != len(run) {
		t.Fatalf("repeated run: %d receipts, %v", len(again), err)
	}
	for i, r := range again {
		if !r.Duplicate || r.LetterID != receipts[i].LetterID {
			t.Fatalf("letter %d of the repeated run: %+v, want the first run's %s as a duplicate", i+1, r, receipts[i].LetterID)
		}
	}
	rows, entries := countRows(t, s, `SELECT count(*) FROM letters`), countRows(t, s, `SELECT count(*) FROM mailbox_entries`)
	notices := countRows(t, s, `SELECT count(*) FROM notifications`)
	if rows != len(run) || entries != len(run) || notices != len(run) || len(s.Twilio.Messages()) != len(run)/2 || len(s.SendGrid.Mails()) != len(run)/2 {
		t.Fatalf("letters %d, mailbox entries %d, notices %d, sms %d, e-mails %d after a repeated run of %d",
			rows, entries, notices, len(s.Twilio.Messages()), len(s.SendGrid.Mails()), len(run))
	}
}

func TestLetterStoredByADeadSubmitterIsStartedByTheRecoverySweep(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	// The submitter stored the letter and died before starting its workflow.
	anna, err := s.Registry.CitizenByCPR(ctx, mustCPR(annaCPR))
	if err != nil {
		t.Fatal(err)
	}
	l := letters.Letter{ID: letters.IDFor("region-midt", "crashed-1"), SenderID: "region-midt", MessageID: "crashed-1",
		RecipientID: &anna.ID, Subject: "Indkaldelse", Body: "Tekst", Deadline: time.Hour}
	if _, _, err := s.Letters.Create(ctx, l, nil); err != nil {
		t.Fatal(err)
	}
	sweep := func() activities.SweepReport {
		r, err := s.Activities.Recovery.Sweep(ctx, func(activities.SweepReport) {})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := sweep(); r.Letters != 0 {
		t.Fatalf("a letter within its grace period was swept: %+v", r)
	}
	if _, err := s.DB.Exec(ctx, `UPDATE letters SET created_at = now() - interval '10 minutes' WHERE id = $1`, l.ID); err != nil {
		t.Fatal(err)
	}
	if r := sweep(); r.Letters != 1 || r.Failed != 0 {
		t.Fatalf("sweep %+v", r)
	}
	waitForStatus(t, s, l.ID, letters.Notified)
	// The start is confirmed: the next sweep does not look at it again.
	if r := sweep(); r.Letters != 0 {
		t.Fatalf("a started letter was swept again: %+v", r)
	}
	testenv.Eventually(t, 10*time.Second, "the SMS notice", func() bool { return len(s.Twilio.Messages()) == 1 })
}

// One sweep for the whole system: a Temporal Schedule that every worker ensures.
func TestRecoveryRunsAsOneScheduleForTheSystem(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	ctx := context.Background()
	if err := s.EnsureRecoverySchedule(ctx); err != nil { // a second worker starting up
		t.Fatal(err)
	}
	h := s.Temporal.ScheduleClient().GetHandle(ctx, workflows.RecoverySchedule+"-"+s.Config.TaskQueue)
	desc, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Schedule.Spec.Intervals) != 1 || desc.Schedule.Spec.Intervals[0].Every != engine.RecoveryEvery {
		t.Fatalf("schedule spec %+v", desc.Schedule.Spec)
	}
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "a recovery sweep to complete", func() bool {
		d, err := h.Describe(ctx)
		return err == nil && len(d.Info.RecentActions) > 0 && len(d.Info.RunningWorkflows) == 0
	})
}

// The citizen opens the letter while Temporal is unreachable: the mailbox records the
// opening but the signal fails. Opening it again reaches the workflow, and the letter ends
// opened, not escalated.
func TestOpeningReachesTheWorkflowAfterAFailedSignal(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	r, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR,
		Subject: "Indkaldelse", Body: "Tekst", Deadline: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, r.LetterID, letters.Notified)
	down, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	offline := *s.PostOffice
	offline.Temporal = down
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := offline.Open(short, r.LetterID, annaCPR); err == nil {
		t.Fatal("the opening's signal could not have been sent, yet Open reported success")
	}
	if _, err := s.PostOffice.Open(ctx, r.LetterID, annaCPR); err != nil {
		t.Fatal(err)
	}
	st, err := waitForResult(t, s, r.LetterID)
	if err != nil || st.Status != letters.Opened {
		t.Fatalf("letter %s %v, want opened", st.Status, err)
	}
}

// The sender's withdrawal of an opened letter is refused with the reason, and the letter
// stays opened in PostgreSQL and in its workflow.
func TestWithdrawingAnOpenedLetterIsRefusedWithTheReason(t *testing.T) {
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
	if _, err := s.PostOffice.Open(ctx, r.LetterID, annaCPR); err != nil {
		t.Fatal(err)
	}
	_, err = s.PostOffice.Withdraw(ctx, r.LetterID, "wrong citizen")
	var refused *postoffice.Refused
	if !errors.As(err, &refused) || !strings.Contains(refused.Reason, "opened") {
		t.Fatalf("withdrawal answered %v, want a refusal naming the opening", err)
	}
	if l, err := s.Letters.Get(ctx, r.LetterID); err != nil || l.Status != letters.Opened {
		t.Fatalf("letter is %s in PostgreSQL (%v), want opened", l.Status, err)
	}
}

// A scheduled letter waits for its time (withdrawable until then), then is delivered; a
// registered letter goes to the print house as registered mail.
func TestScheduledDeliveryAndRegisteredPaper(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	at := time.Now().Add(4 * time.Second)
	later, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR,
		Subject: "Senere", Body: "Tekst", DeliverAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	// Asked only while it is still well before the time: under a full suite's load the
	// submission alone has taken longer than the 4 s, and Temporal may fire a timer a little
	// early (the same second's slack the delivery time is checked with below).
	st, statusErr := s.PostOffice.Status(ctx, later.LetterID)
	_, entryErr := s.Mailbox.Entry(ctx, later.LetterID)
	if asked := time.Now(); asked.Before(at.Add(-time.Second)) {
		if statusErr != nil || st.Status != letters.Received {
			t.Fatalf("a letter scheduled for later is %s before its time (%v)", st.Status, statusErr)
		}
		if !errors.Is(entryErr, mailbox.ErrNotInMailbox) {
			t.Fatalf("a scheduled letter's mailbox entry before its time: %v, want none", entryErr)
		}
	}
	waitForStatus(t, s, later.LetterID, letters.Notified)
	if e, err := s.Mailbox.Entry(ctx, later.LetterID); err != nil || e.DeliveredAt.Before(at.Add(-time.Second)) {
		t.Fatalf("delivered at %v (%v), scheduled for %v", e.DeliveredAt, err, at)
	}

	registered, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: boCPR,
		Subject: "Afgørelse", Body: "Tekst", PhysicalOnly: true, PostalCategory: "registered_proof"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := waitForResult(t, s, registered.LetterID); err != nil || res.Status != letters.Printed {
		t.Fatalf("registered letter %s %v", res.Status, err)
	}
	jobs, err := s.PrintJobs.ForLetter(ctx, registered.LetterID)
	if err != nil || len(jobs) != 1 || jobs[0].PostalCategory != "registered_proof" {
		t.Fatalf("print jobs %+v, want one registered_proof job", jobs)
	}
	manifest, err := os.ReadFile(strings.TrimSuffix(jobs[0].PDFPath, ".pdf") + ".json")
	if err != nil || !strings.Contains(string(manifest), `"postal_category": "registered_proof"`) {
		t.Fatalf("manifest %s %v", manifest, err)
	}
}

// The print house's receipts reach the letter: the dev print house answers the spool, the
// workers read the receipts folder, and the letter moves to posted, or to returned.
func TestPrintHouseReceiptsMoveTheLetter(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	send := func(id string) uuid.UUID {
		r, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: boCPR, MessageID: id,
			Subject: "På papir", Body: "Tekst", PhysicalOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := waitForResult(t, s, r.LetterID); err != nil || res.Status != letters.Printed {
			t.Fatalf("letter %s %v", res.Status, err)
		}
		return r.LetterID
	}
	posted := send("posted")
	if n, err := (printhouse.DevHouse{Spool: s.Config.SpoolDir(), ReturnShare: 0, Now: time.Now}).Answer(); err != nil || n != 1 {
		t.Fatalf("dev print house answered %d (%v)", n, err)
	}
	waitForStatus(t, s, posted, letters.Posted)
	returned := send("returned")
	if _, err := (printhouse.DevHouse{Spool: s.Config.SpoolDir(), ReturnShare: 1, Now: time.Now}).Answer(); err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, returned, letters.Returned)
	st, err := s.PostOffice.Status(ctx, returned)
	if err != nil || len(st.Timeline) == 0 {
		t.Fatalf("status %+v %v", st, err)
	}
	if last := st.Timeline[len(st.Timeline)-1]; last.Status != letters.Returned || !strings.Contains(last.Note, "undeliverable") {
		t.Fatalf("timeline ends %+v", last)
	}
	evs, err := s.Events.ForLetter(ctx, returned)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "received,printed,posted,returned" {
		t.Fatalf("the sender's events for the returned letter: %v", kinds)
	}
}
