package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/adapters/print"
	"digitalpost/internal/adapters/printhouse"
	"digitalpost/internal/domain/letters"
	"digitalpost/workflows"
)

// `status --json` used to be the workflow's Go field names without notices or print jobs;
// now it is snake_case and holds everything the text form shows.
func TestStatusJSONIsSnakeCaseWithNoticesAndPrintJobs(t *testing.T) {
	st := workflows.LetterState{LetterID: uuid.New(), Status: letters.Escalated, Channel: letters.DigitalThenPaper,
		Timeline: []workflows.TimelineEntry{{At: time.Now(), Status: letters.Delivered, Note: "in the mailbox"}}}
	b, err := json.Marshal(statusView(st,
		[]notify.Record{{Channel: notify.SMS, Purpose: notify.NewPost, State: "sent", ProviderID: "SM1", Attempts: 1}},
		[]print.Record{{JobID: "P-1", Purpose: print.Escalation, Reason: "not opened", Outcome: "posted", Pages: 2, PDFPath: "/spool/P-1.pdf"}},
		[]printhouse.Record{{Receipt: printhouse.Receipt{JobID: "P-1", Outcome: printhouse.Posted, At: time.Now()}, Effect: printhouse.Applied, Source: "http"}}))
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{`"letter_id"`, `"notices":[{"channel":"sms"`, `"provider_id":"SM1"`, `"print_jobs":[{"job_id":"P-1"`, `"pdf_path"`, `"timeline":[{"at"`, `"receipts":[{"job_id":"P-1","outcome":"posted"`} {
		if !strings.Contains(out, want) {
			t.Errorf("status JSON lacks %s: %s", want, out)
		}
	}
	for _, key := range regexp.MustCompile(`"([^"]+)":`).FindAllStringSubmatch(out, -1) {
		if key[1] != strings.ToLower(key[1]) {
			t.Errorf("key %q is not snake_case", key[1])
		}
	}
}
