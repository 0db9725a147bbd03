package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"google.golang.org/protobuf/proto"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/history"
	"digitalpost/internal/infra/testenv"
)

// An operator opening a letter in the Temporal UI reads its story: a summary and details from
// its start, names on its timers, and what it waits for now. None of it names the citizen or
// says what the letter is about, and in the stored history it is sealed like every payload.
func TestOperatorsReadALettersSummaryAndNamedTimersWithoutPersonalData(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	sent, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR,
		Subject: "Indkaldelse til kræftscreening", Body: "Mammografi tirsdag kl. 9."})
	if err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, sent.LetterID, letters.Notified)
	id := letters.WorkflowID(sent.LetterID)

	h, err := history.Fetch(ctx, s.Temporal, id)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := proto.Marshal(h)
	if strings.Contains(string(stored), "Letter from") || strings.Contains(string(stored), "open deadline") {
		t.Fatal("the letter's summary or a timer's name is stored in plaintext")
	}
	if err := history.Decode(ctx, h, codec.New(s.Keys)); err != nil {
		t.Fatal(err)
	}
	var texts []string
	start := h.Events[0]
	summary := text(t, start.GetUserMetadata().GetSummary())
	details := text(t, start.GetUserMetadata().GetDetails())
	if summary != "Letter from region-midt (urgent)" {
		t.Errorf("summary %q, want the sender and the urgency", summary)
	}
	if !strings.Contains(details, "paper unless opened within 3 days of delivery") {
		t.Errorf("details %q do not say the letter's path and deadline", details)
	}
	texts = append(texts, summary, details)
	var timers []string
	for _, ev := range h.Events {
		if ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED {
			timers = append(timers, text(t, ev.GetUserMetadata().GetSummary()))
		}
	}
	if len(timers) == 0 || timers[0] != "open deadline: paper unless opened" {
		t.Errorf("timers named %q, want the open deadline named", timers)
	}
	texts = append(texts, timers...)

	// What it waits for now: the workflow's current details, as the UI asks for them.
	q, err := s.Temporal.QueryWorkflow(ctx, id, "", "__temporal_workflow_metadata")
	if err != nil {
		t.Fatal(err)
	}
	var meta sdkpb.WorkflowMetadata
	if err := q.Get(&meta); err != nil {
		t.Fatal(err)
	}
	now := meta.GetCurrentDetails()
	if !strings.Contains(now, "waiting to be opened") || !strings.Contains(now, "on paper at") {
		t.Errorf("current details %q do not say what the letter waits for", now)
	}
	texts = append(texts, now)

	for _, personal := range []string{"0101801234", "010180-1234", "Anna", "Jensen", "Vestergade", "anna@example.dk",
		"+4520000001", "kræftscreening", "Mammografi"} {
		for _, txt := range texts {
			if strings.Contains(txt, personal) {
				t.Errorf("%q shows %q to every operator", txt, personal)
			}
		}
	}
}

// text reads a user-metadata payload: a JSON string.
func text(t *testing.T, p *commonpb.Payload) string {
	t.Helper()
	if p == nil {
		return ""
	}
	var s string
	if err := json.Unmarshal(p.GetData(), &s); err != nil {
		t.Fatalf("metadata payload %s: %v", p.GetData(), err)
	}
	return s
}
