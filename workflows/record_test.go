//go:build record

package workflows_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/history"
	"digitalpost/internal/infra/testenv"
	"digitalpost/workflows"
)

// TestRecordHistories records, from the current code against the real system, a history of
// every workflow type the worker registers, for TestRecordedHistoriesReplay. It is built only
// with the record tag, so the test command never runs it (nor shows it skipped):
//
//	go test -tags record ./workflows/ -run TestRecordHistories
//
// writes the histories testdata/histories does not hold yet; RECORD_HISTORIES=overwrite
// writes them all. A recorded history keeps the path it ran replayable: when a change moves a
// workflow to a new version, keep the old file and record the new path under a new scenario
// name here (TestEveryWorkflowVersionHasARecordedHistory says which version has none).
func TestRecordHistories(t *testing.T) {
	mode := os.Getenv("RECORD_HISTORIES")
	s := testenv.StartSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const annaCPR, boCPR = "010180-1234", "020275-2345"
	for _, snd := range []registry.Sender{
		{ID: "region-midt", Organisation: "Region Midtjylland", ProducingUnit: "Aarhus Universitetshospital", ReturnAddress: "Skottenborg 26\n8800 Viborg"},
		{ID: "aarhus-kommune", Organisation: "Aarhus Kommune", ProducingUnit: "Borgerservice", ReturnAddress: "Rådhuspladsen 2\n8000 Aarhus C"},
	} {
		if err := s.Registry.AddSender(ctx, snd); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []registry.NewCitizen{
		{CPR: annaCPR, Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C", Email: "anna@example.dk", Mobile: "+4520000001"},
		{CPR: boCPR, Name: "Bo Nielsen", Address: "Nørregade 2\n8000 Aarhus C"},
	} {
		if _, err := s.Registry.AddCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, workflowID string) {
		t.Helper()
		path := filepath.Join("testdata", "histories", name+".json")
		if err := s.Temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, nil); err != nil {
			t.Fatalf("%s: workflow %s: %v", name, workflowID, err)
		}
		if _, err := os.Stat(path); err == nil && mode != "overwrite" {
			t.Logf("kept %s (RECORD_HISTORIES=overwrite records it again)", path)
			return
		}
		h, err := history.Fetch(ctx, s.Temporal, workflowID)
		if err != nil {
			t.Fatal(err)
		}
		if err := history.Decode(ctx, h, codec.New(s.Keys)); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := history.WriteJSON(f, h); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %s (%d events)", path, len(h.Events))
	}
	notified := func(r postoffice.Receipt) {
		t.Helper()
		testenv.Eventually(t, 30*time.Second, "letter notified", func() bool {
			st, err := s.PostOffice.Status(ctx, r.LetterID)
			return err == nil && st.Status == letters.Notified
		})
	}

	// WebhookWorkflow: region-midt's events go to its webhook until the webhook is removed.
	var received atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	s.Webhooks.AllowHTTP, s.Webhooks.AllowInternal = true, true
	if _, err := s.Webhooks.Set(ctx, "region-midt", receiver.URL); err != nil {
		t.Fatal(err)
	}
	if err := s.PostOffice.StartWebhookDelivery(ctx, "region-midt"); err != nil {
		t.Fatal(err)
	}

	// LetterWorkflow, the current lifecycle: opened, the opening confirmed by the mailbox.
	opened, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR,
		Subject: "Indkaldelse", Body: "Tekst"})
	if err != nil {
		t.Fatal(err)
	}
	notified(opened)
	if _, err := s.PostOffice.Open(ctx, opened.LetterID, annaCPR); err != nil {
		t.Fatal(err)
	}
	write("letter-opened-confirmed", letters.WorkflowID(opened.LetterID))

	// LetterWorkflow, the current lifecycle: withdrawn by the sender while it waits.
	withdrawn, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR,
		Subject: "Indkaldelse", Body: "Tekst", DigitalOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	notified(withdrawn)
	if _, err := s.PostOffice.Withdraw(ctx, withdrawn.LetterID, "sent to the wrong citizen"); err != nil {
		t.Fatal(err)
	}
	write("letter-withdrawn-confirmed", letters.WorkflowID(withdrawn.LetterID))

	// NemSMSWorkflow: a message to a subscribed citizen.
	if _, err := s.Desk.SubscribeNemSMS(ctx, annaCPR, s.NemSMS.Terms, ""); err != nil {
		t.Fatal(err)
	}
	sms, err := s.PostOffice.SendNemSMS(ctx, postoffice.NemSMSSubmission{SenderID: "region-midt", MessageID: "tid-1",
		RecipientCPR: annaCPR, Text: "Din tid på Skejby er bekræftet."})
	if err != nil {
		t.Fatal(err)
	}
	write("nemsms-sent", nemsms.WorkflowID(sms.Message.ID))

	// ReadingAccessWorkflow: Bo asks, Anna accepts; her exemption (ExemptionCaseWorkflow)
	// suspends the access by a signal naming her.
	grant, err := s.Desk.RequestReadingAccess(ctx, boCPR, annaCPR)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s.Desk.RespondReadingAccess(ctx, grant, annaCPR, true); err != nil || st != access.Granted {
		t.Fatalf("answer to the request: %s %v", st, err)
	}
	caseID, err := s.Desk.Apply(ctx, borgerservice.Application{CitizenCPR: annaCPR, Grounds: []string{"no-mitid"},
		MunicipalityID: "aarhus-kommune", Caseworker: "cw1"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s.Desk.Decide(ctx, caseID, workflows.Decision{Approve: true, Caseworker: "cw1"}); err != nil || st.Status != exemption.Approved {
		t.Fatalf("decision %+v %v", st, err)
	}
	write("exemption-approved", exemption.WorkflowID(caseID))
	write("reading-access-suspended", access.WorkflowID(grant))

	// RecoveryWorkflow: one sweep, as the schedule runs it.
	sweep, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "recovery-recorded", TaskQueue: s.Config.TaskQueue},
		workflows.RecoveryWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	write("recovery-sweep", sweep.GetID())

	// The webhook took the letters' events; removed, its workflow ends at its next look.
	testenv.Eventually(t, 30*time.Second, "events at the webhook", func() bool { return received.Load() > 0 })
	if err := s.Webhooks.Remove(ctx, "region-midt"); err != nil {
		t.Fatal(err)
	}
	write("webhook-delivered-removed", workflows.WebhookWorkflowID("region-midt"))
}
