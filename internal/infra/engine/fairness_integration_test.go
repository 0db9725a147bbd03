package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"digitalpost/activities"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/fairness"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/testenv"
	"digitalpost/workflows"
)

// Every letter carries its sender as its fairness key on Temporal's queues, with the sender's
// weight, and its urgency as the priority: a single letter urgent, a bulk run's letters bulk,
// unless the sender says otherwise. The urgency is stored, so every later start of the letter
// (the recovery sweep's, a withdrawal's) gives it the same place. Urgent letters run on the
// urgent queue, whose workers' task slots a bulk run never takes, once its workers poll it.
func TestLettersCarryTheirSenderAndUrgencyIntoTemporalsQueues(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	urgentQueue := workflows.UrgentTaskQueue(s.Config.TaskQueue)
	testenv.Eventually(t, 20*time.Second, "the urgent queue polled by the current build", func() bool {
		return s.PostOffice.Routing.Polled(ctx, urgentQueue)
	})
	weights, err := fairness.ParseWeights(1, "region-midt=3")
	if err != nil {
		t.Fatal(err)
	}
	s.PostOffice.Weights = weights

	single, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", MessageID: "single", RecipientCPR: annaCPR,
		Subject: "Indkaldelse", Body: "Tekst"})
	if err != nil {
		t.Fatal(err)
	}
	markedBulk, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", MessageID: "marked-bulk", RecipientCPR: annaCPR,
		Subject: "Nyhedsbrev", Body: "Tekst", Urgency: letters.Bulk})
	if err != nil {
		t.Fatal(err)
	}
	run := make([]postoffice.Submission, 2)
	for i := range run {
		run[i] = postoffice.Submission{SenderID: "region-midt", MessageID: fmt.Sprintf("run-%d", i), RecipientCPR: annaCPR, Subject: "Til alle", Body: "Tekst"}
	}
	run[1].Urgency = letters.Urgent
	bulk, err := s.PostOffice.SubmitBulk(ctx, run, postoffice.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		what      string
		receipt   postoffice.Receipt
		want      letters.Urgency
		wantQueue string
	}{
		{"a single letter", single, letters.Urgent, urgentQueue},
		{"a single letter marked bulk", markedBulk, letters.Bulk, s.Config.TaskQueue},
		{"a bulk run's letter", bulk[0], letters.Bulk, s.Config.TaskQueue},
		// Ahead of bulk, but not on the urgent queue: a run of them would take its slots.
		{"a bulk run's letter marked urgent", bulk[1], letters.Urgent, s.Config.TaskQueue},
	} {
		desc, err := s.Temporal.DescribeWorkflowExecution(ctx, c.receipt.WorkflowID, "")
		if err != nil {
			t.Fatal(err)
		}
		p := desc.GetWorkflowExecutionInfo().GetPriority()
		wantKey := fairness.BulkKey
		if c.want == letters.Urgent {
			wantKey = fairness.UrgentKey
		}
		if q := desc.GetExecutionConfig().GetTaskQueue().GetName(); q != c.wantQueue {
			t.Errorf("%s: runs on task queue %q, want %q", c.what, q, c.wantQueue)
		}
		waitForStatus(t, s, c.receipt.LetterID, letters.Notified)
		if p.GetFairnessKey() != "region-midt" || p.GetFairnessWeight() != 3 || int(p.GetPriorityKey()) != wantKey {
			t.Errorf("%s: priority %v, want fairness key region-midt, weight 3, priority %d", c.what, p, wantKey)
		}
		l, err := s.Letters.Get(ctx, c.receipt.LetterID)
		if err != nil || l.Urgency != c.want {
			t.Errorf("%s: stored urgency %q (%v), want %q", c.what, l.Urgency, err, c.want)
		}
	}

	_, err = s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", MessageID: "odd", RecipientCPR: annaCPR,
		Subject: "Indkaldelse", Body: "Tekst", Urgency: "soon"})
	if err == nil || err.Error() != "urgency: must be urgent or bulk" {
		t.Errorf("urgency \"soon\": %v, want refused naming the field and the rule", err)
	}
}

// A paced bulk run stores when each letter's start is due; the recovery sweep leaves a letter to
// the live run until then (and its grace), so it never starts the rest of a long run unpaced,
// and takes over once the run has plainly died.
func TestRecoverySweepLeavesAPacedRunsLettersToTheRun(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	s.PostOffice.BulkStartsPerSecond = 1 // the run's tenth letter is due ten seconds from now
	run := make([]postoffice.Submission, 10)
	for i := range run {
		run[i] = postoffice.Submission{SenderID: "region-midt", MessageID: fmt.Sprintf("paced-%d", i), RecipientCPR: annaCPR, Subject: "Til alle", Body: "Tekst"}
	}
	_, stored, err := s.PostOffice.StoreBulk(ctx, run, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := stored[len(stored)-1].ID
	// Stored long enough ago for the sweep's grace, yet the last letter's paced start is not due.
	if _, err := s.DB.Exec(ctx, `UPDATE letters SET created_at = now() - interval '10 minutes' WHERE sender_id = 'region-midt'`); err != nil {
		t.Fatal(err)
	}
	r, err := s.Activities.Recovery.Sweep(ctx, func(activities.SweepReport) {})
	if err != nil {
		t.Fatal(err)
	}
	if r.Letters != 0 {
		t.Fatalf("the sweep started %d letters of a run whose paced starts were not yet due", r.Letters)
	}
	// The run died: once the last start was due longer ago than the grace, the sweep takes over.
	if _, err := s.DB.Exec(ctx, `UPDATE letters SET start_after = start_after - interval '10 minutes' WHERE sender_id = 'region-midt'`); err != nil {
		t.Fatal(err)
	}
	if r, err = s.Activities.Recovery.Sweep(ctx, func(activities.SweepReport) {}); err != nil || r.Letters != len(run) {
		t.Fatalf("sweep after the run died: %+v %v, want all %d letters started", r, err, len(run))
	}
	waitForStatus(t, s, last, letters.Notified)
}
