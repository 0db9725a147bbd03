package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/testenv"
)

// slowStarts holds each workflow start for a while, as a large batch's letters wait minutes
// for theirs; everything else (updates, update-with-start, queries) goes straight through.
type slowStarts struct {
	client.Client
	delay time.Duration
}

func (c slowStarts) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	select {
	case <-time.After(c.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return c.Client.ExecuteWorkflow(ctx, o, wf, args...)
}

// A letter of a batch withdrawn right after POST /v1/batches, while it still waits for its
// start, is withdrawn (200), not refused as "received" (409); it stays withdrawn once the
// batch has started it, and the rest of the batch is delivered.
func TestBatchLetterWithdrawnRightAfterTheBatchIsAccepted(t *testing.T) {
	e := newAPIEnv(t, func(sys *testenv.System) {
		sys.PostOffice.Temporal = slowStarts{Client: sys.PostOffice.Temporal, delay: 2 * time.Second}
	})
	var csv strings.Builder
	csv.WriteString("message_id,to,subject,text\n")
	for i := range 3 {
		fmt.Fprintf(&csv, "wait-%d,%s,Brev til alle,Tekst %d\n", i, annaCPR, i)
	}
	a := e.do(t, e.region, http.MethodPost, "/v1/batches", "text/csv", []byte(csv.String()))
	if a.Status != http.StatusAccepted {
		t.Fatalf("batch: %d %s", a.Status, a.Body)
	}
	id := letters.IDFor("region-midt", "wait-2").String()
	w := e.postJSON(t, e.region, "/v1/letters/"+id+"/withdraw", map[string]string{"reason": "sendt ved en fejl"})
	if w.Status != http.StatusOK {
		t.Fatalf("withdrawing a letter of the batch right after it was accepted: %d %s", w.Status, w.Body)
	}
	var l letterJSON
	if w.json(t, &l); l.Status != "withdrawn" {
		t.Fatalf("withdrawn letter answered as %s: %s", l.Status, w.Body)
	}
	workflowID := letters.WorkflowID(letters.IDFor("region-midt", "wait-2"))
	withdrawal, err := e.sys.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"wait-0", "wait-1"} {
		e.waitForStatus(t, e.region, letters.IDFor("region-midt", other).String(), "notified")
	}
	// The batch's start of the withdrawn letter comes seconds after the withdrawal. Once the
	// batch's starts are done, the letter's latest run must still be the withdrawal's, and
	// finished: a run the batch started would deliver and notify after any wait we chose.
	e.api.WaitForBatchStarts()
	d, err := e.sys.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	run, st := d.GetWorkflowExecutionInfo().GetExecution().GetRunId(), d.GetWorkflowExecutionInfo().GetStatus()
	if want := withdrawal.GetWorkflowExecutionInfo().GetExecution().GetRunId(); run != want || st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("once its batch has started it, the withdrawn letter's latest run is %s (%s), want the withdrawal's run %s completed", run, st, want)
	}
	if l := e.letter(t, e.region, id); l.Status != "withdrawn" || len(l.Notices) != 0 {
		t.Fatalf("the withdrawn letter after its batch started: %s, notices %+v", l.Status, l.Notices)
	}
	if n := len(e.sys.Twilio.Messages()); n != 2 {
		t.Fatalf("%d SMS notices, want one for each of the 2 letters not withdrawn", n)
	}
}
