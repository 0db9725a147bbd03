package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/exemption"
	"digitalpost/internal/letters"
)

// caseTest runs one ExemptionCaseWorkflow with time skipping; the decision letter's child
// workflow is mocked, and the test records what the activities were asked to do.
type caseTest struct {
	t          *testing.T
	env        *testsuite.TestWorkflowEnvironment
	in         ExemptionInput
	exempted   bool
	recorded   []activities.CaseOutcome
	reminders  []int
	letters    []activities.DecisionLetterRequest
	childStart int
	rejections []string
}

func newCaseTest(t *testing.T, representative bool) *caseTest {
	var suite testsuite.WorkflowTestSuite
	ct := &caseTest{t: t, env: suite.NewTestWorkflowEnvironment(),
		in: ExemptionInput{CaseID: uuid.New(), HasRepresentative: representative, ServiceDeadline: 5 * 24 * time.Hour}}
	ct.env.RegisterActivity(&activities.Activities{})
	ct.env.RegisterWorkflow(LetterWorkflow)
	ct.env.OnActivity(acts.ApplyExemption, mock.Anything, mock.Anything).Return(func(context.Context, uuid.UUID) error { ct.exempted = true; return nil })
	ct.env.OnActivity(acts.RecordCase, mock.Anything, mock.Anything).Return(
		func(_ context.Context, o activities.CaseOutcome) error {
			ct.recorded = append(ct.recorded, o)
			return nil
		})
	ct.env.OnActivity(acts.RaiseReminder, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r activities.ReminderRequest) error {
			ct.reminders = append(ct.reminders, r.Number)
			return nil
		})
	ct.env.OnActivity(acts.PrepareDecisionLetter, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r activities.DecisionLetterRequest) (activities.DecisionLetter, error) {
			ct.letters = append(ct.letters, r)
			return activities.DecisionLetter{LetterID: uuid.New(), SenderID: "aarhus-kommune", Deadline: time.Hour}, nil
		})
	ct.env.OnWorkflow(LetterWorkflow, mock.Anything, mock.Anything).Return(
		func(_ workflow.Context, _ LetterInput) (LetterState, error) {
			ct.childStart++
			return LetterState{Status: letters.Printed}, nil
		})
	return ct
}

// at sends an update after d; rejections are collected, with the update's name.
func (ct *caseTest) at(d time.Duration, name string, arg any) {
	ct.env.RegisterDelayedCallback(func() {
		ct.env.UpdateWorkflow(name, uuid.NewString(), &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { ct.rejections = append(ct.rejections, name+": "+err.Error()) },
			OnAccept:   func() {},
			OnComplete: func(any, error) {},
		}, arg)
	}, d)
}

func (ct *caseTest) run() CaseState {
	ct.t.Helper()
	ct.env.ExecuteWorkflow(ExemptionCaseWorkflow, ct.in)
	if !ct.env.IsWorkflowCompleted() {
		ct.t.Fatal("case did not complete")
	}
	var st CaseState
	if err := ct.env.GetWorkflowResult(&st); err != nil {
		ct.t.Fatal(err)
	}
	return st
}

func (ct *caseTest) rejected(t *testing.T, want string) {
	t.Helper()
	for _, r := range ct.rejections {
		if strings.Contains(r, want) {
			return
		}
	}
	t.Fatalf("no rejection %q among %q", want, ct.rejections)
}

func TestCitizenInPersonIsApprovedAndGetsADecisionLetter(t *testing.T) {
	ct := newCaseTest(t, false)
	ct.at(time.Hour, DecideUpdate, Decision{Approve: true, Caseworker: "cw1"})
	st := ct.run()
	if st.Status != exemption.Approved || !ct.exempted {
		t.Fatalf("status %s, exempted %v", st.Status, ct.exempted)
	}
	if len(ct.letters) != 1 || !ct.letters[0].Approved || ct.childStart != 1 || st.DecisionLetterID == nil {
		t.Fatalf("decision letters %+v, child starts %d", ct.letters, ct.childStart)
	}
	if len(ct.recorded) != 1 || ct.recorded[0].Status != exemption.Approved || ct.recorded[0].Caseworker != "cw1" {
		t.Fatalf("recorded %+v", ct.recorded)
	}
}

func TestCitizenInPersonIsRejectedWithAReason(t *testing.T) {
	ct := newCaseTest(t, false)
	ct.at(time.Hour, DecideUpdate, Decision{Approve: false, Reason: "has MitID and a computer"})
	st := ct.run()
	if st.Status != exemption.Rejected || ct.exempted || st.Reason != "has MitID and a computer" {
		t.Fatalf("status %s reason %q exempted %v", st.Status, st.Reason, ct.exempted)
	}
	if len(ct.letters) != 1 || ct.letters[0].Approved {
		t.Fatalf("decision letters %+v", ct.letters)
	}
}

func TestValidProxyThenApproval(t *testing.T) {
	ct := newCaseTest(t, true)
	ct.at(time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: true, Caseworker: "cw1"})
	ct.at(2*time.Hour, DecideUpdate, Decision{Approve: true})
	st := ct.run()
	if st.Status != exemption.Approved || !st.ProxyVerified || !ct.exempted {
		t.Fatalf("state %+v", st)
	}
	if len(ct.rejections) != 0 {
		t.Fatalf("rejections %v", ct.rejections)
	}
}

func TestInvalidProxyRejectsTheCase(t *testing.T) {
	ct := newCaseTest(t, true)
	ct.at(time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: false, Reason: "not signed"})
	st := ct.run()
	if st.Status != exemption.Rejected || ct.exempted || !strings.Contains(st.Reason, "not signed") {
		t.Fatalf("state %+v", st)
	}
	if len(ct.letters) != 1 || ct.letters[0].Approved {
		t.Fatalf("decision letters %+v", ct.letters)
	}
}

func TestDecidingBeforeTheProxyIsVerifiedIsRejected(t *testing.T) {
	ct := newCaseTest(t, true)
	ct.at(time.Hour, DecideUpdate, Decision{Approve: true})
	ct.at(2*time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: true})
	ct.at(3*time.Hour, DecideUpdate, Decision{Approve: true})
	st := ct.run()
	ct.rejected(t, "decide: the representative's power of attorney must be verified before the case is decided")
	if st.Status != exemption.Approved || len(ct.rejections) != 1 {
		t.Fatalf("status %s rejections %v", st.Status, ct.rejections)
	}
	// A rejected update leaves no trace in the history.
	for _, e := range st.Timeline {
		if strings.Contains(e.Note, "must be verified") {
			t.Fatalf("rejected update in timeline: %+v", e)
		}
	}
}

func TestVerifyingACaseWithoutRepresentativeIsRejected(t *testing.T) {
	ct := newCaseTest(t, false)
	ct.at(time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: true})
	ct.at(2*time.Hour, DecideUpdate, Decision{Approve: false, Reason: "r"})
	ct.run()
	ct.rejected(t, "verify-proxy: the citizen appeared in person: there is no power of attorney to verify")
}

func TestDecidingTwiceIsRejected(t *testing.T) {
	ct := newCaseTest(t, false)
	ct.at(time.Hour, DecideUpdate, Decision{Approve: true})
	ct.at(time.Hour, DecideUpdate, Decision{Approve: false, Reason: "changed my mind"})
	st := ct.run()
	ct.rejected(t, "decide: the case is already decided")
	if st.Status != exemption.Approved {
		t.Fatalf("status %s", st.Status)
	}
}

func TestRejectionNeedsAReason(t *testing.T) {
	ct := newCaseTest(t, false)
	ct.at(time.Hour, DecideUpdate, Decision{Approve: false})
	ct.at(2*time.Hour, DecideUpdate, Decision{Approve: false, Reason: "able to use Digital Post"})
	ct.run()
	ct.rejected(t, "decide: a reason is required to reject an application")
}

func TestUntouchedCaseRaisesRemindersAndStaysOpen(t *testing.T) {
	ct := newCaseTest(t, false)
	ct.at(12*24*time.Hour, DecideUpdate, Decision{Approve: true}) // after two service periods
	st := ct.run()
	if len(ct.reminders) != 2 || ct.reminders[0] != 1 || ct.reminders[1] != 2 {
		t.Fatalf("reminders %v, want 1 and 2", ct.reminders)
	}
	if !st.Overdue || st.Reminders != 2 || st.Status != exemption.Approved {
		t.Fatalf("state overdue %v reminders %d status %s", st.Overdue, st.Reminders, st.Status)
	}
}

func TestClosedCaseTurnsAwayActions(t *testing.T) {
	ct := newCaseTest(t, true)
	ct.at(time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: false, Reason: "expired"})
	ct.at(time.Hour, DecideUpdate, Decision{Approve: true})
	ct.at(time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: true})
	ct.run()
	ct.rejected(t, "decide: the case is already decided")
	ct.rejected(t, "verify-proxy: the case is already decided")
}
