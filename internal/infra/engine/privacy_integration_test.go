package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/history"
	"digitalpost/internal/infra/testenv"
)

func TestStoredHistoryHoldsNoPersonalDataInPlaintext(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	// The SMS provider fails twice: the first try, made with the delivery, whose failure stays
	// inside that step, and the first attempt on the provider's queue, a normal activity that
	// Temporal retries. The retry's start event carries that failure (last_failure) into the
	// history, as the worker's failure converter left it.
	s.Twilio.FailNext(2)
	opened, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR,
		Subject: "Indkaldelse til kræftscreening", Body: "Mammografi tirsdag kl. 9."})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "the SMS after the provider's two failures", func() bool { return len(s.Twilio.Messages()) == 1 })
	waitForStatus(t, s, opened.LetterID, letters.Notified)
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
		"kræftscreening", "Mammografi", "Hans Lund", "no postal address", "twilio status", "provider did not accept", "Service Unavailable"}
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

	// The failure each letter's history must hold, sealed, and what it says when opened.
	for id, reason := range map[string]string{
		letters.WorkflowID(opened.LetterID): "twilio status 503", // the SMS queue's failed attempt
		letters.WorkflowID(failed.LetterID): "no postal address", // the print step's, and the letter's
	} {
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
		// A failure did reach the history (else the search above proves nothing about failures),
		// and every failure in it, causes included, left the worker sealed.
		if len(storedFailures(h)) == 0 {
			t.Fatalf("%s: no failure reached the history", id)
		}
		for _, f := range storedFailures(h) {
			if f.GetMessage() != "Encoded failure" || f.GetStackTrace() != "" ||
				string(f.GetEncodedAttributes().GetMetadata()["encoding"]) != codec.Encoding {
				t.Errorf("%s: failure stored with message %q, stack %q, attributes %v: want them sealed",
					id, f.GetMessage(), f.GetStackTrace(), f.GetEncodedAttributes().GetMetadata())
			}
		}
		// With the key, the same history opens: the failure tells its reason.
		if err := history.Decode(ctx, h, codec.New(s.Keys)); err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, f := range storedFailures(h) {
			texts = append(texts, string(f.GetEncodedAttributes().GetData()))
		}
		if !strings.Contains(strings.Join(texts, "\n"), reason) {
			t.Errorf("%s: the failures, opened with the key, do not say %q: %s", id, reason, texts)
		}
	}
}

// storedFailures lists every failure a history holds, each cause on its own: the ones an
// activity, a local activity's marker, a workflow task or the workflow ended with, and the last
// failure a retried activity's start event carries.
func storedFailures(h *historypb.History) []*failurepb.Failure {
	var out []*failurepb.Failure
	for _, e := range h.GetEvents() {
		for _, f := range []*failurepb.Failure{
			e.GetActivityTaskStartedEventAttributes().GetLastFailure(),
			e.GetActivityTaskFailedEventAttributes().GetFailure(),
			e.GetMarkerRecordedEventAttributes().GetFailure(),
			e.GetWorkflowTaskFailedEventAttributes().GetFailure(),
			e.GetWorkflowExecutionFailedEventAttributes().GetFailure(),
		} {
			for ; f != nil; f = f.GetCause() {
				out = append(out, f)
			}
		}
	}
	return out
}

func TestOperatorFindsLettersBySearchAttributes(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
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
