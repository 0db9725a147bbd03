package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"digitalpost/internal/codec"
	"digitalpost/internal/history"
	"digitalpost/internal/letters"
	"digitalpost/internal/postoffice"
	"digitalpost/internal/registry"
	"digitalpost/internal/testenv"
)

func TestStoredHistoryHoldsNoPersonalDataInPlaintext(t *testing.T) {
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	// The SMS provider fails the first try, a local activity: its failure lands in a marker.
	s.Twilio.FailNext(1)
	opened, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR,
		Subject: "Indkaldelse til kræftscreening", Body: "Mammografi tirsdag kl. 9."})
	if err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, opened.LetterID, letters.Notified)
	testenv.Eventually(t, 20*time.Second, "the SMS after the provider's failure", func() bool { return len(s.Twilio.Messages()) == 1 })
	if _, err := s.PostOffice.Open(ctx, opened.LetterID, annaCPR); err != nil {
		t.Fatal(err)
	}
	// A physical-only letter to a citizen without a postal address fails: its failure text is sealed too.
	if _, err := s.Registry.AddCitizen(ctx, registry.NewCitizen{CPR: "080885-1234", Name: "Hans Lund"}); err != nil {
		t.Fatal(err)
	}
	failed, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: "080885-1234",
		Subject: "Prøveglas", Body: "Vedlagt prøveglas.", PhysicalOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitForResult(t, s, opened.LetterID); err != nil {
		t.Fatal(err)
	}
	if _, err := waitForResult(t, s, failed.LetterID); err == nil {
		t.Fatal("letter without postal address did not fail")
	}

	// An outsider's client: no codec.
	raw, err := client.Dial(client.Options{HostPort: s.Server.FrontendHostPort(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	secrets := []string{"0101801234", "010180-1234", "Anna Jensen", "Vestergade", "anna@example.dk", "+4520000001",
		"kræftscreening", "Mammografi", "Hans Lund", "no postal address", "twilio status", "Service unavailable"}
	// The opened letter's result carries its timeline; this note lives only inside payloads,
	// so it shows whether payloads are sealed at all.
	canary := "delivered to the digital mailbox"
	h, err := history.Fetch(ctx, raw, letters.WorkflowID(opened.LetterID))
	if err != nil {
		t.Fatal(err)
	}
	if stored, _ := proto.Marshal(h); strings.Contains(string(stored), canary) {
		t.Fatal("workflow result stored in plaintext")
	}
	if err := history.Decode(ctx, h, codec.New(s.Keys)); err != nil {
		t.Fatal(err)
	}
	if decoded, _ := proto.Marshal(h); !strings.Contains(string(decoded), canary) {
		t.Fatal("with the key, the result does not decode")
	}

	for _, id := range []string{letters.WorkflowID(opened.LetterID), letters.WorkflowID(failed.LetterID)} {
		h, err := history.Fetch(ctx, raw, id)
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := proto.Marshal(h)
		for _, secret := range secrets {
			if strings.Contains(string(stored), secret) {
				t.Errorf("%s: stored history holds %q in plaintext", id, secret)
				for _, ev := range h.Events {
					if b, _ := proto.Marshal(ev); strings.Contains(string(b), secret) {
						t.Logf("in event %d %s: %v", ev.EventId, ev.EventType, ev)
					}
				}
			}
		}
		// With the key, the same history opens: the letter id and the failure text come back.
		if err := history.Decode(ctx, h, codec.New(s.Keys)); err != nil {
			t.Fatal(err)
		}
		decoded, _ := proto.Marshal(h)
		if id == letters.WorkflowID(failed.LetterID) && !strings.Contains(string(decoded), "no postal address") {
			t.Errorf("decoded failure does not show its reason")
		}
	}
}

func TestOperatorFindsLettersBySearchAttributes(t *testing.T) {
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	r, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: boCPR,
		Subject: "Svar", Body: "Tekst", Deadline: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitForResult(t, s, r.LetterID); err != nil {
		t.Fatal(err)
	}
	query := "LetterStatus = 'escalated' AND LetterSender = 'region-midt' AND LetterChannel = 'digital+paper'"
	testenv.Eventually(t, 15*time.Second, "visibility to list the escalated letter", func() bool {
		resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		return err == nil && len(resp.Executions) == 1 && resp.Executions[0].Execution.WorkflowId == letters.WorkflowID(r.LetterID)
	})
	resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "LetterStatus = 'opened'"})
	if err != nil || len(resp.Executions) != 0 {
		t.Fatalf("filter for opened letters found %d: %v", len(resp.GetExecutions()), err)
	}
}
