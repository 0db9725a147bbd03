package workflows

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/letters"
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
	onReminder func() // called while a reminder is being raised
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
			if ct.onReminder != nil {
				ct.onReminder()
			}
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

// runUntilContinued runs a case that must continue as new, and returns the next run's input.
func (ct *caseTest) runUntilContinued() ExemptionInput {
	ct.t.Helper()
	ct.env.ExecuteWorkflow(ExemptionCaseWorkflow, ct.in)
	return continuedInput[ExemptionInput](ct.t, ct.env)
}

// continuedInput is the input a run that continued as new handed its next run.
func continuedInput[T any](t *testing.T, env *testsuite.TestWorkflowEnvironment) T {
	t.Helper()
	var next T
	var cont *workflow.ContinueAsNewError
	if !env.IsWorkflowCompleted() || !errors.As(env.GetWorkflowError(), &cont) {
		t.Fatalf("did not continue as new: completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if err := converter.GetDefaultDataConverter().FromPayloads(cont.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next
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
	ct.at(time.Hour, DecideUpdate, Decision{Approve: false, Reason: "has MitID and a computer", Caseworker: "cw1"})
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
	ct.at(2*time.Hour, DecideUpdate, Decision{Approve: true, Caseworker: "cw1"})
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
	ct.at(time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: false, Reason: "not signed", Caseworker: "cw1"})
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
	ct.at(time.Hour, DecideUpdate, Decision{Approve: true, Caseworker: "cw1"})
	ct.at(2*time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: true, Caseworker: "cw1"})
	ct.at(3*time.Hour, DecideUpdate, Decision{Approve: true, Caseworker: "cw1"})
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
	ct.at(time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: true, Caseworker: "cw1"})
	ct.at(2*time.Hour, DecideUpdate, Decision{Approve: false, Reason: "r", Caseworker: "cw1"})
	ct.run()
	ct.rejected(t, "verify-proxy: the citizen appeared in person: there is no power of attorney to verify")
}

func TestDecidingTwiceIsRejected(t *testing.T) {
	ct := newCaseTest(t, false)
	ct.at(time.Hour, DecideUpdate, Decision{Approve: true, Caseworker: "cw1"})
	ct.at(time.Hour, DecideUpdate, Decision{Approve: false, Reason: "changed my mind", Caseworker: "cw1"})
	st := ct.run()
	ct.rejected(t, "decide: the case is already decided")
	if st.Status != exemption.Approved {
		t.Fatalf("status %s", st.Status)
	}
}

func TestRejectionNeedsAReason(t *testing.T) {
	ct := newCaseTest(t, false)
	ct.at(time.Hour, DecideUpdate, Decision{Approve: false, Caseworker: "cw1"})
	ct.at(2*time.Hour, DecideUpdate, Decision{Approve: false, Reason: "able to use Digital Post", Caseworker: "cw1"})
	ct.run()
	ct.rejected(t, "decide: a reason is required to reject an application")
}

func TestUntouchedCaseRaisesRemindersAndStaysOpen(t *testing.T) {
	ct := newCaseTest(t, false)
	ct.at(12*24*time.Hour, DecideUpdate, Decision{Approve: true, Caseworker: "cw1"}) // after two service periods
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
	ct.at(time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: false, Reason: "expired", Caseworker: "cw1"})
	ct.at(time.Hour, DecideUpdate, Decision{Approve: true, Caseworker: "cw1"})
	ct.at(time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: true, Caseworker: "cw1"})
	ct.run()
	ct.rejected(t, "decide: the case is already decided")
	ct.rejected(t, "verify-proxy: the case is already decided")
}

const servicePeriod = 5 * 24 * time.Hour

func TestOpenCaseContinuesAsNewWithItsStateCarried(t *testing.T) {
	ct := newCaseTest(t, true)
	ct.in.RemindersPerRun = 3
	ct.at(time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: true, Caseworker: "cw1"})
	start := ct.env.Now()
	next := ct.runUntilContinued()

	if ran := ct.env.Now().Sub(start); ran != 3*servicePeriod {
		t.Fatalf("the run lasted %s, want three service periods", ran)
	}
	if len(ct.reminders) != 3 || ct.reminders[2] != 3 {
		t.Fatalf("reminders %v, want 1 to 3", ct.reminders)
	}
	if next.CaseID != ct.in.CaseID || !next.HasRepresentative || next.ServiceDeadline != servicePeriod || next.RemindersPerRun != 3 || next.Carried == nil {
		t.Fatalf("next input %+v", next)
	}
	if next.Carried.NextReminderIn != servicePeriod {
		t.Fatalf("next reminder in %s, want a whole service period", next.Carried.NextReminderIn)
	}
	st := next.Carried.State
	if st.CaseID != ct.in.CaseID || st.Status != exemption.AwaitingDecision || !st.ProxyVerified || !st.Overdue || st.Reminders != 3 {
		t.Fatalf("carried state %+v", st)
	}
	// The reminders collapse into one note, dated at the last: registered, verified, reminders.
	if len(st.Timeline) != 3 || st.Timeline[2].Note != "overdue: reminders 1 to 3 raised to the caseworker queue, the last one at this time" ||
		!st.Timeline[2].At.Equal(start.Add(3*servicePeriod)) {
		t.Fatalf("carried timeline %+v", st.Timeline)
	}
	if len(ct.recorded) != 0 || len(ct.letters) != 0 {
		t.Fatalf("an open case recorded %+v and sent %+v", ct.recorded, ct.letters)
	}
}

func TestCarriedCaseRemindsOnScheduleAndIsDecided(t *testing.T) {
	ct := newCaseTest(t, true)
	ct.in.RemindersPerRun = 3
	ct.at(time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: true, Caseworker: "cw1"})
	carried := ct.runUntilContinued()

	// The next run: its first reminder falls where the last run left it, the case query answers
	// from the carried state, and its validators and Updates work on it.
	ct = newCaseTest(t, true)
	ct.in = carried
	var queried CaseState
	ct.env.RegisterDelayedCallback(func() {
		v, err := ct.env.QueryWorkflow(CaseQuery)
		if err != nil {
			t.Error(err)
			return
		}
		if err := v.Get(&queried); err != nil {
			t.Error(err)
		}
	}, time.Hour)
	ct.at(2*time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: true, Caseworker: "cw1"})
	ct.at(servicePeriod+time.Hour, DecideUpdate, Decision{Approve: true, Caseworker: "cw2"})
	st := ct.run()

	if queried.Status != exemption.AwaitingDecision || queried.Reminders != 3 || !queried.ProxyVerified {
		t.Fatalf("query in the carried run %+v", queried)
	}
	ct.rejected(t, "verify-proxy: the power of attorney is already verified")
	if len(ct.reminders) != 1 || ct.reminders[0] != 4 {
		t.Fatalf("reminders %v, want 4", ct.reminders)
	}
	if st.Status != exemption.Approved || !ct.exempted || st.Reminders != 4 || !st.Overdue || st.DecisionLetterID == nil {
		t.Fatalf("state %+v exempted %v", st, ct.exempted)
	}
	if len(ct.recorded) != 1 || ct.recorded[0].Caseworker != "cw2" || len(ct.letters) != 1 || ct.childStart != 1 {
		t.Fatalf("recorded %+v letters %+v child starts %d", ct.recorded, ct.letters, ct.childStart)
	}
	if first := st.Timeline[0]; first.Note != "application registered" {
		t.Fatalf("timeline %+v", st.Timeline)
	}
}

func TestCaseOpenForManyRunsKeepsItsHistorySmall(t *testing.T) {
	in := ExemptionInput{CaseID: uuid.New(), ServiceDeadline: servicePeriod, RemindersPerRun: 2}
	for run := 1; run <= 3; run++ {
		ct := newCaseTest(t, false)
		ct.in = in
		in = ct.runUntilContinued()
		if want := []int{2*run - 1, 2 * run}; len(ct.reminders) != 2 || ct.reminders[0] != want[0] || ct.reminders[1] != want[1] {
			t.Fatalf("run %d raised reminders %v, want %v", run, ct.reminders, want)
		}
	}
	st := in.Carried.State
	if st.Reminders != 6 || len(st.Timeline) != 2 || st.Timeline[1].Note != "overdue: reminders 1 to 6 raised to the caseworker queue, the last one at this time" {
		t.Fatalf("carried after three runs: %+v", st)
	}
}

func TestDecisionWhileTheRunFillsUpIsDecidedInThatRun(t *testing.T) {
	ct := newCaseTest(t, false)
	ct.in.RemindersPerRun = 1
	// The caseworker decides while the reminder that fills the run is being raised.
	ct.onReminder = func() {
		ct.env.UpdateWorkflow(DecideUpdate, uuid.NewString(), &testsuite.TestUpdateCallback{
			OnReject: func(err error) { ct.rejections = append(ct.rejections, err.Error()) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, Decision{Approve: false, Reason: "can use Digital Post", Caseworker: "cw1"})
	}
	st := ct.run()
	if st.Status != exemption.Rejected || st.Reminders != 1 || len(ct.recorded) != 1 || len(ct.letters) != 1 || len(ct.rejections) != 0 {
		t.Fatalf("state %+v recorded %+v letters %+v rejections %v", st, ct.recorded, ct.letters, ct.rejections)
	}
}

// A case started before runs were bounded raised reminders in one run for ever. Its history
// must replay even when it raised more than the limit: it keeps its old path.
func TestCaseFromBeforeBoundedRunsKeepsItsOldPath(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "histories", "exemption-overdue-rejected.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dc := converter.GetDefaultDataConverter()
	started := h.Events[0].GetWorkflowExecutionStartedEventAttributes()
	var in ExemptionInput
	if err := dc.FromPayloads(started.GetInput(), &in); err != nil {
		t.Fatal(err)
	}
	var result CaseState
	if err := dc.FromPayloads(h.Events[len(h.Events)-1].GetWorkflowExecutionCompletedEventAttributes().GetResult(), &result); err != nil {
		t.Fatal(err)
	}
	// Recorded by the old code, which had no limit; make the limit one so the history exceeds it.
	in.RemindersPerRun = 1
	if result.Reminders < in.RemindersPerRun || in.Carried != nil {
		t.Fatalf("the recorded case raised %d reminders; the test needs at least %d", result.Reminders, in.RemindersPerRun)
	}
	if started.Input, err = dc.ToPayloads(in); err != nil {
		t.Fatal(err)
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(ExemptionCaseWorkflow)
	r.RegisterWorkflow(LetterWorkflow)
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := r.ReplayWorkflowHistory(logger, h); err != nil {
		t.Fatalf("an old case past the limit does not replay: %v", err)
	}
}

// A decision or a verification that names no caseworker did not come from the caseworkers' desk.
func TestActsThatNameNoCaseworkerAreRejected(t *testing.T) {
	ct := newCaseTest(t, true)
	ct.at(time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: true})
	ct.at(2*time.Hour, VerifyProxyUpdate, ProxyVerification{Valid: true, Caseworker: "cw1"})
	ct.at(3*time.Hour, DecideUpdate, Decision{Approve: true})
	ct.at(4*time.Hour, DecideUpdate, Decision{Approve: false, Reason: "can use Digital Post", Caseworker: "cw1"})
	st := ct.run()
	if st.Status != exemption.Rejected {
		t.Fatalf("final %s, want rejected by cw1", st.Status)
	}
	if len(ct.rejections) != 2 || ct.rejections[0] != "verify-proxy: the caseworker who acts must be named" ||
		ct.rejections[1] != "decide: the caseworker who acts must be named" {
		t.Fatalf("rejections %q", ct.rejections)
	}
}
