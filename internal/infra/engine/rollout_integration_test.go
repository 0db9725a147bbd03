package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/engine"
	"digitalpost/internal/infra/temporalclient"
	"digitalpost/internal/infra/testenv"
)

// A rollout in the middle of the letters' wait: build v1 runs and has letters waiting; v2
// starts beside it, is ramped, then set current; v1 stops. The letters v1 started finish on v2
// (they upgrade at their next task), every letter is notified once, and v1 drains.
func TestRolloutToANewBuildWhileLettersWait(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystemWith(t, testenv.Options{BuildID: "v1"})
	seed(t, s)
	ctx := context.Background()
	deployment := s.Temporal.WorkerDeploymentClient().GetHandle(s.Config.WorkerDeploymentName)

	send := func() uuid.UUID {
		t.Helper()
		r, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR,
			Subject: "Indkaldelse", Body: "Du er indkaldt."})
		if err != nil {
			t.Fatal(err)
		}
		return r.LetterID
	}
	waiting := []uuid.UUID{send(), send()}
	for _, id := range waiting {
		waitForStatus(t, s, id, letters.Notified)
	}
	testenv.Eventually(t, 20*time.Second, "the first build to start made current", func() bool {
		return currentBuild(t, deployment) == "v1"
	})

	// v2 starts as another process would, with its own client: it takes no new letters yet.
	cfg := s.Config
	cfg.WorkerBuildID = "v2"
	opts, err := temporalclient.Options(cfg, s.Keys, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		t.Fatal(err)
	}
	tc2, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tc2.Close()
	v2, err := engine.New(cfg, s.DB, tc2)
	if err != nil {
		t.Fatal(err)
	}
	stopV2, err := v2.StartWorkers(ctx, v2.Workers())
	if err != nil {
		t.Fatal(err)
	}
	defer stopV2()
	if cur := currentBuild(t, deployment); cur != "v1" {
		t.Fatalf("a second build must not make itself current, got %q", cur)
	}

	// Ramp: some of the new letters start on v2. The server takes v2 as ramping only once v2's
	// workers have polled every task queue v1 serves, which they do a moment after they start.
	var rampErr error
	defer func() {
		if t.Failed() && rampErr != nil {
			t.Log("last ramp attempt:", rampErr)
		}
	}()
	testenv.Eventually(t, 30*time.Second, "v2 ramping (its workers polling every queue)", func() bool {
		desc, err := deployment.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		if err != nil {
			rampErr = err
			return false
		}
		_, rampErr = deployment.SetRampingVersion(ctx, client.WorkerDeploymentSetRampingVersionOptions{
			BuildID: "v2", Percentage: 50, ConflictToken: desc.ConflictToken})
		return rampErr == nil // "missing active task queues" until v2 polls them; a busy server times out
	})
	if rampErr != nil {
		t.Fatal(rampErr)
	}
	// While v2 ramps, v1 is no longer the only build new letters go to: this process starts
	// them through Temporal's routing, not eagerly on its own v1 workers.
	onV2 := 0
	for range 12 {
		id := send()
		waiting = append(waiting, id)
		waitForStatus(t, s, id, letters.Notified)
		if ranOn(t, s, id) == "v2" {
			onV2++
		}
	}
	if onV2 == 0 {
		t.Fatal("no letter of 12 started on v2 while it ramped at 50 %")
	}
	desc, err := deployment.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deployment.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{
		BuildID: "v2", ConflictToken: desc.ConflictToken}); err != nil {
		t.Fatal(err)
	}
	s.Cancel() // v1's workers stop

	// Every waiting letter is opened now: its next task can only run on v2.
	for _, id := range waiting {
		if _, err := s.PostOffice.Open(ctx, id, annaCPR); err != nil {
			t.Fatal(err)
		}
		st, err := waitForResult(t, s, id)
		if err != nil || st.Status != letters.Opened {
			t.Fatalf("letter %s: %s, %v", id, st.Status, err)
		}
		if got := ranOn(t, s, id); got != "v2" {
			t.Errorf("letter %s ended on build %q, want v2", id, got)
		}
	}
	after := send()
	waitForStatus(t, s, after, letters.Notified)

	// Every letter was notified once on each channel, whichever build sent it.
	if sms, mails := len(s.Twilio.Messages()), len(s.SendGrid.Mails()); sms != len(waiting)+1 || mails != len(waiting)+1 {
		t.Fatalf("%d letters: %d SMS and %d e-mails", len(waiting)+1, sms, mails)
	}
	testenv.Eventually(t, 60*time.Second, "v1 drained", func() bool {
		desc, err := deployment.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		if err != nil {
			return false
		}
		for _, v := range desc.Info.VersionSummaries {
			if v.Version.BuildID == "v1" {
				return v.DrainageStatus == client.WorkerDeploymentVersionDrainageStatusDrained
			}
		}
		return false
	})
}

func currentBuild(t *testing.T, h client.WorkerDeploymentHandle) string {
	t.Helper()
	desc, err := h.Describe(context.Background(), client.WorkerDeploymentDescribeOptions{})
	var notYet *serviceerror.NotFound
	if errors.As(err, &notYet) {
		return "" // the first worker's poll has not created the deployment yet (a loaded machine)
	}
	if err != nil {
		t.Fatal(err)
	}
	if cur := desc.Info.RoutingConfig.CurrentVersion; cur != nil {
		return cur.BuildID
	}
	return ""
}

// ranOn is the build that ran a letter's latest workflow task.
func ranOn(t *testing.T, s *testenv.System, id uuid.UUID) string {
	t.Helper()
	d, err := s.Temporal.DescribeWorkflowExecution(context.Background(), letters.WorkflowID(id), "")
	if err != nil {
		t.Fatal(err)
	}
	return d.GetWorkflowExecutionInfo().GetVersioningInfo().GetDeploymentVersion().GetBuildId()
}
