package engine_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/devenv"
	"digitalpost/internal/infra/testenv"
	"digitalpost/workflows"
)

// Whoever reaches the Temporal frontend can send signals and Updates with the official CLI.
// None of them may answer a citizen's reading-access request, decide a case or open a letter:
// the workers refuse plaintext payloads, and the letter asks the mailbox before it counts an
// opening (issue 23, H1; these are the very commands that worked before).
func TestTemporalIsNoBackDoorForHumanActs(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	seedMunicipality(t, s)
	ctx := context.Background()

	request, err := s.Desk.RequestReadingAccess(ctx, boCPR, annaCPR) // Bo asks to read Anna's post
	if err != nil {
		t.Fatal(err)
	}
	caseID, err := s.Desk.Apply(ctx, borgerservice.Application{CitizenCPR: boCPR, Grounds: []string{"no-mitid"},
		MunicipalityID: "aarhus-kommune", Caseworker: "cw1"})
	if err != nil {
		t.Fatal(err)
	}
	letter, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR,
		Subject: "Indkaldelse", Body: "Du er indkaldt."})
	if err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, letter.LetterID, letters.Notified)

	temporal := func(args ...string) (string, error) {
		cli, ok := devenv.FindTemporalCLI()
		if !ok {
			t.Fatalf("the Temporal CLI is needed: %s", devenv.InstallHint)
		}
		args = append(args, "--address", s.Server.FrontendHostPort(), "--namespace", "default")
		out, err := exec.Command(cli, args...).CombinedOutput()
		return string(out), err
	}

	// The CLI sees the rejection, its reason sealed like every failure; the reason itself is
	// read below through the raw API.
	out, err := temporal("workflow", "update", "execute", "--workflow-id", access.WorkflowID(request), "--name", workflows.RespondUpdate,
		"--input", `{"Accept":true}`)
	if err == nil || !strings.Contains(out, "unable to update workflow") {
		t.Fatalf("forged respond: %v\n%s", err, out)
	}
	out, err = temporal("workflow", "update", "execute", "--workflow-id", exemption.WorkflowID(caseID), "--name", workflows.DecideUpdate,
		"--input", `{"Approve":true,"Caseworker":"cw1"}`)
	if err == nil || !strings.Contains(out, "unable to update workflow") {
		t.Fatalf("forged decision: %v\n%s", err, out)
	}
	plain, _ := converter.GetDefaultDataConverter().ToPayloads(map[string]any{"Approve": true, "Caseworker": "cw1"})
	if why := rawUpdate(t, s, exemption.WorkflowID(caseID), workflows.DecideUpdate, plain); !strings.Contains(why, "not sealed") {
		t.Fatalf("forged decision refused for %q, want the payload's being unsealed", why)
	}
	// The server takes any signal; the letter must not believe it.
	if out, err := temporal("workflow", "signal", "--workflow-id", letters.WorkflowID(letter.LetterID), "--name", workflows.OpenedSignal,
		"--input", `{"At":"2026-01-01T00:00:00Z","ByDelegate":false}`); err != nil {
		t.Fatalf("signal: %v\n%s", err, out)
	}
	testenv.Eventually(t, 20*time.Second, "the forged opening ignored", func() bool {
		st, err := s.PostOffice.Status(ctx, letter.LetterID)
		return err == nil && hasTimelineNote(st, "an opening signal that no Digital Post process sealed for this letter was ignored")
	})

	// A sealed answer copied from another history: Anna accepts Bo's request to read her post;
	// her accept is copied into her own request to read Bo's post, which only Bo may answer.
	other, err := s.Desk.RequestReadingAccess(ctx, annaCPR, boCPR)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s.Desk.RespondReadingAccess(ctx, request, annaCPR, true); err != nil || st != access.Granted {
		t.Fatalf("Anna's own answer: %s %v", st, err)
	}
	sealed := acceptedUpdateArgs(t, s, access.WorkflowID(request))
	if why := rawUpdate(t, s, access.WorkflowID(other), workflows.RespondUpdate, sealed); !strings.Contains(why, "another workflow") {
		t.Fatalf("a sealed answer copied from another request: refused for %q, want its being sealed for another workflow", why)
	}

	// An answer sealed as every process sealed before acts named their workflow (no
	// serialization context), naming the right citizen: such a payload, copied from an old
	// history, would open anywhere, so the validator refuses it.
	bo, err := s.Registry.CitizenByCPR(ctx, mustCPR(boCPR))
	if err != nil {
		t.Fatal(err)
	}
	unbound, err := codec.DataConverter(s.Keys).ToPayloads(workflows.Response{Accept: true, By: bo.ID})
	if err != nil {
		t.Fatal(err)
	}
	if why := rawUpdate(t, s, access.WorkflowID(other), workflows.RespondUpdate, unbound); !strings.Contains(why, "sealed for no workflow") {
		t.Fatalf("an answer sealed for no workflow: refused for %q, want its being sealed for no workflow", why)
	}

	// Nothing moved: the request Bo sent is answered only by Anna's real answer, the other still
	// waits, the case waits for a caseworker, the letter for its reader.
	grantStatus(t, s, other.String(), access.Requested)
	c, err := s.Cases.Get(ctx, caseID)
	if err != nil || c.Status != exemption.AwaitingDecision {
		t.Fatalf("case %s %v", c.Status, err)
	}
	st, err := s.PostOffice.Status(ctx, letter.LetterID)
	if err != nil || st.Status != letters.Notified {
		t.Fatalf("letter %s %v", st.Status, err)
	}
}

// rawUpdate sends an Update with exactly these payloads, as any gRPC client of the frontend
// can, and returns why the workflow refused it ("" when it took it).
func rawUpdate(t *testing.T, s *testenv.System, workflowID, name string, args *commonpb.Payloads) string {
	t.Helper()
	resp, err := s.Temporal.WorkflowService().UpdateWorkflowExecution(context.Background(), &workflowservice.UpdateWorkflowExecutionRequest{
		Namespace:         "default",
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflowID},
		Request: &updatepb.Request{Meta: &updatepb.Meta{UpdateId: uuid.NewString()},
			Input: &updatepb.Input{Name: name, Args: args}},
		WaitPolicy: &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := resp.GetOutcome().GetFailure()
	if f == nil {
		return ""
	}
	return codec.FailureConverter(codec.DataConverter(s.Keys)).FailureToError(f).Error()
}

// acceptedUpdateArgs is the sealed input of the first Update a workflow accepted, as its
// history holds it.
func acceptedUpdateArgs(t *testing.T, s *testenv.System, workflowID string) *commonpb.Payloads {
	t.Helper()
	it := s.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := e.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil {
			return a.GetAcceptedRequest().GetInput().GetArgs()
		}
	}
	t.Fatalf("%s accepted no Update", workflowID)
	return nil
}
