package workflows

import (
	"digitalpost/internal/infra/codec"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/fairness"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/searchattr"
)

// Names a client uses to talk to an exemption case.
const (
	VerifyProxyUpdate = "verify-proxy"
	DecideUpdate      = "decide"
	CaseQuery         = "case"
)

// DefaultRemindersPerRun: reminders one run of a case raises before it continues as new. At
// one reminder per service period (5 working days) a run lasts about a year and its history
// stays at a few hundred events, however long the case stays open.
const DefaultRemindersPerRun = 50

// caseContinueAsNew names the change that bounded a case's runs; cases started before it
// raise reminders in one run for ever, and must keep doing so to replay.
const caseContinueAsNew = "exemption-continue-as-new"

// ExemptionInput starts a case. Grounds, citizen and representative stay in PostgreSQL.
type ExemptionInput struct {
	CaseID            uuid.UUID
	HasRepresentative bool
	// ServiceDeadline: how long the case may wait for the caseworker before a reminder, and
	// between further reminders.
	ServiceDeadline time.Duration
	// RemindersPerRun: reminders one run raises before the case continues as new; zero means
	// DefaultRemindersPerRun.
	RemindersPerRun int
	// Carried is the state an earlier run of the same case handed on; nil in a case's first run.
	Carried *CarriedCase
}

// CarriedCase is what one run of an open case hands the next when it continues as new.
type CarriedCase struct {
	// State as the case query showed it, its reminder notes collapsed into one.
	State CaseState
	// NextReminderIn: the time left until the next reminder when the run ended.
	NextReminderIn time.Duration
}

// ProxyVerification is the caseworker's finding on the power of attorney.
type ProxyVerification struct {
	codec.Binding // refused when sealed for no workflow (validators)
	Valid         bool
	Reason        string
	Caseworker    string
}

// Decision is the caseworker's decision on the application.
type Decision struct {
	codec.Binding // refused when sealed for no workflow (validators)
	Approve       bool
	Reason        string
	Caseworker    string
	// Grounds the caseworker records with the decision, beside any the citizen named.
	Grounds []string
}

// CaseEvent is one step of a case's life.
type CaseEvent struct {
	At     time.Time
	Status exemption.Status
	Note   string
}

// CaseState is what the case query returns.
type CaseState struct {
	CaseID           uuid.UUID
	Status           exemption.Status
	ProxyVerified    bool
	Overdue          bool
	Reminders        int
	Reason           string
	DecisionLetterID *uuid.UUID
	Timeline         []CaseEvent
}

type exemptionCase struct {
	in       ExemptionInput
	state    CaseState
	decision *Decision
	// continueAsNew: this run has raised its share of reminders; nextReminder is then due at.
	continueAsNew bool
	nextReminder  time.Time
}

// ExemptionCaseWorkflow runs one application for exemption from Digital Post, made in person
// at the citizen service: verify a representative's power of attorney, then decide, then tell
// the citizen by letter. A case left untouched past its service deadline raises reminders;
// after RemindersPerRun of them it continues as new with its state carried, so its history
// stays bounded while the case stays open.
func ExemptionCaseWorkflow(ctx workflow.Context, in ExemptionInput) (CaseState, error) {
	c := &exemptionCase{in: in, state: CaseState{CaseID: in.CaseID, Status: exemption.AwaitingDecision}}
	switch {
	case in.Carried != nil:
		c.state = in.Carried.State
	case in.HasRepresentative:
		c.state.Status = exemption.AwaitingProxy
	}
	if in.Carried == nil {
		c.state.Timeline = []CaseEvent{{At: workflow.Now(ctx), Status: c.state.Status, Note: "application registered"}}
	}
	if err := c.setup(ctx); err != nil {
		return c.state, err
	}
	return c.run(ctx)
}

// errNoCaseworker: only a caseworker acts in a case, and every act names who did it. A payload
// forged or copied into Temporal from outside the caseworkers' desk names nobody.
var errNoCaseworker = errors.New("the caseworker who acts must be named")

func (c *exemptionCase) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, CaseQuery, func() (CaseState, error) { return c.state, nil }); err != nil {
		return err
	}
	// Caseworker actions are Updates: the caseworker learns at once whether the action took,
	// and a validator turns an action out of order away before it reaches the history.
	err := workflow.SetUpdateHandlerWithOptions(ctx, VerifyProxyUpdate,
		func(ctx workflow.Context, v ProxyVerification) (CaseState, error) {
			c.state.ProxyVerified = true
			if v.Valid {
				c.transition(ctx, exemption.AwaitingDecision, "power of attorney verified by "+orUnknown(v.Caseworker))
				return c.state, nil
			}
			c.decision = &Decision{Approve: false, Reason: "the power of attorney is not valid: " + v.Reason, Caseworker: v.Caseworker}
			return c.awaitClosed(ctx)
		},
		workflow.UpdateHandlerOptions{Validator: func(v ProxyVerification) error {
			switch {
			case v.Unbound():
				return errUnboundAct
			case c.closedOrClosing():
				return c.closedError()
			case !c.in.HasRepresentative:
				return errors.New("the citizen appeared in person: there is no power of attorney to verify")
			case c.state.ProxyVerified:
				return errors.New("the power of attorney is already verified")
			case v.Caseworker == "":
				return errNoCaseworker
			case !v.Valid && v.Reason == "":
				return errors.New("a reason is required when the power of attorney is not valid")
			}
			return nil
		}})
	if err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, DecideUpdate,
		func(ctx workflow.Context, d Decision) (CaseState, error) {
			c.decision = &d
			return c.awaitClosed(ctx)
		},
		workflow.UpdateHandlerOptions{Validator: func(d Decision) error {
			switch {
			case d.Unbound():
				return errUnboundAct
			case c.closedOrClosing():
				return c.closedError()
			case c.in.HasRepresentative && !c.state.ProxyVerified:
				return errors.New("the representative's power of attorney must be verified before the case is decided")
			case d.Caseworker == "":
				return errNoCaseworker
			case !d.Approve && d.Reason == "":
				return errors.New("a reason is required to reject an application")
			}
			return nil
		}})
}

func (c *exemptionCase) run(ctx workflow.Context) (CaseState, error) {
	c.upsertStatus(ctx)
	workflow.Go(ctx, c.remindWhileOpen)

	if err := workflow.Await(ctx, func() bool { return c.decision != nil || c.continueAsNew }); err != nil {
		return c.state, err
	}
	if c.decision == nil {
		// Hand the open case to a new run once no Update is in progress; a decision arriving
		// meanwhile is decided in this run.
		if err := workflow.Await(ctx, func() bool { return c.decision != nil || workflow.AllHandlersFinished(ctx) }); err != nil {
			return c.state, err
		}
		if c.decision == nil {
			return c.state, workflow.NewContinueAsNewError(ctx, ExemptionCaseWorkflow, c.carry(ctx))
		}
	}
	d := *c.decision
	status, note := exemption.Rejected, "rejected: "+d.Reason
	if d.Approve {
		// From now on the citizen's letters go to paper (rule 12).
		if err := workflow.ExecuteLocalActivity(dbStep(ctx), acts.ApplyExemption, c.in.CaseID).Get(ctx, nil); err != nil {
			return c.state, err
		}
		status, note = exemption.Approved, "approved: the citizen is exempt from Digital Post and from mandatory digital self-service"
		if d.Reason != "" {
			note += " (" + d.Reason + ")"
		}
	}
	err := workflow.ExecuteLocalActivity(dbStep(ctx), acts.RecordCase, activities.CaseOutcome{
		CaseID: c.in.CaseID, Status: status, Reason: d.Reason, Caseworker: d.Caseworker, Grounds: d.Grounds}).Get(ctx, nil)
	if err != nil {
		return c.state, err
	}
	c.state.Reason = d.Reason
	if err := c.sendDecisionLetter(ctx, d.Approve); err != nil {
		return c.state, err
	}
	c.transition(ctx, status, note)
	err = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return c.state, err
}

// sendDecisionLetter tells the citizen through the ordinary letter lifecycle, as a child
// workflow that outlives the case: after an approval the citizen is exempt, so it goes on paper.
func (c *exemptionCase) sendDecisionLetter(ctx workflow.Context, approved bool) error {
	var letter activities.DecisionLetter
	err := workflow.ExecuteLocalActivity(dbStep(ctx), acts.PrepareDecisionLetter, activities.DecisionLetterRequest{
		CaseID: c.in.CaseID, Approved: approved, Reason: c.state.Reason}).Get(ctx, &letter)
	if err != nil {
		return err
	}
	child := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            letters.WorkflowID(letter.LetterID),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			searchattr.LetterStatus.ValueSet(string(letters.Received)), searchattr.LetterSender.ValueSet(letter.SenderID)),
		// A single letter of the municipality's, in its share of the queues (the sender's
		// weight is the default one: the case workflow does not know SENDER_WEIGHTS).
		Priority: temporal.Priority{PriorityKey: fairness.UrgentKey, FairnessKey: letter.SenderID},
	})
	f := workflow.ExecuteChildWorkflow(child, LetterWorkflow, LetterInput{LetterID: letter.LetterID, SenderID: letter.SenderID, Deadline: letter.Deadline})
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		var started *temporal.ChildWorkflowExecutionAlreadyStartedError
		if !errors.As(err, &started) {
			return fmt.Errorf("start decision letter: %w", err)
		}
	}
	c.state.DecisionLetterID = &letter.LetterID
	c.note(ctx, "decision letter "+letter.LetterID.String()+" sent")
	return nil
}

// remindWhileOpen raises a reminder to the caseworker queue each time a service period passes
// with the case still open. The case never disappears: it stays open, marked overdue. After its
// share of reminders the run stops here, and the case continues as new.
func (c *exemptionCase) remindWhileOpen(ctx workflow.Context) {
	wait := c.in.ServiceDeadline
	if c.in.Carried != nil {
		wait = c.in.Carried.NextReminderIn
	}
	for {
		if err := workflow.Sleep(ctx, wait); err != nil {
			return
		}
		wait = c.in.ServiceDeadline
		if c.closedOrClosing() {
			return
		}
		n := c.state.Reminders + 1
		if err := workflow.ExecuteLocalActivity(dbStep(ctx), acts.RaiseReminder, activities.ReminderRequest{CaseID: c.in.CaseID, Number: n}).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("reminder not raised", "case", c.in.CaseID, "error", err)
			continue
		}
		c.state.Reminders, c.state.Overdue = n, true
		c.note(ctx, fmt.Sprintf(reminderNote+" %d raised to the caseworker queue", n))
		if c.runIsFull(ctx) {
			c.continueAsNew, c.nextReminder = true, workflow.Now(ctx).Add(c.in.ServiceDeadline)
			return
		}
	}
}

// reminderNote begins every timeline note about reminders, so a new run can collapse them.
const reminderNote = "overdue: reminder"

// runIsFull: this run has raised its share of reminders, or the server suggests continuing as
// new. Cases started before runs were bounded keep raising reminders in their one run.
func (c *exemptionCase) runIsFull(ctx workflow.Context) bool {
	limit, raised := c.in.RemindersPerRun, c.state.Reminders
	if limit <= 0 {
		limit = DefaultRemindersPerRun
	}
	if c.in.Carried != nil {
		raised -= c.in.Carried.State.Reminders
	}
	if raised < limit && !workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
		return false
	}
	return workflow.GetVersion(ctx, caseContinueAsNew, workflow.DefaultVersion, 1) >= 1
}

// carry is the next run's input: the same case, its state with the reminder notes collapsed
// into one, and the time left until the next reminder.
func (c *exemptionCase) carry(ctx workflow.Context) ExemptionInput {
	next := c.in
	st := c.state
	st.Timeline = collapseReminders(st.Timeline, st.Reminders)
	next.Carried = &CarriedCase{State: st, NextReminderIn: max(c.nextReminder.Sub(workflow.Now(ctx)), time.Second)}
	return next
}

// collapseReminders keeps every note but the reminders, which become one note in the place
// of the first, dated at the last.
func collapseReminders(timeline []CaseEvent, reminders int) []CaseEvent {
	out := make([]CaseEvent, 0, len(timeline))
	at := -1
	for _, e := range timeline {
		switch {
		case !strings.HasPrefix(e.Note, reminderNote):
			out = append(out, e)
		case at < 0:
			at = len(out)
			out = append(out, e)
		default:
			out[at].At, out[at].Status = e.At, e.Status
		}
	}
	if at >= 0 && reminders > 1 {
		out[at].Note = fmt.Sprintf(reminderNote+"s 1 to %d raised to the caseworker queue, the last one at this time", reminders)
	}
	return out
}

func (c *exemptionCase) awaitClosed(ctx workflow.Context) (CaseState, error) {
	err := workflow.Await(ctx, func() bool { return c.state.Status.Closed() })
	return c.state, err
}

func (c *exemptionCase) closedOrClosing() bool { return c.decision != nil || c.state.Status.Closed() }

func (c *exemptionCase) closedError() error {
	if c.state.Status.Closed() {
		return fmt.Errorf("the case is closed (%s)", c.state.Status)
	}
	return errors.New("the case is already decided")
}

func (c *exemptionCase) transition(ctx workflow.Context, s exemption.Status, note string) {
	c.state.Status = s
	c.state.Timeline = append(c.state.Timeline, CaseEvent{At: workflow.Now(ctx), Status: s, Note: note})
	c.upsertStatus(ctx)
}

func (c *exemptionCase) note(ctx workflow.Context, note string) {
	c.state.Timeline = append(c.state.Timeline, CaseEvent{At: workflow.Now(ctx), Status: c.state.Status, Note: note})
}

func (c *exemptionCase) upsertStatus(ctx workflow.Context) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchattr.ExemptionCaseStatus.ValueSet(string(c.state.Status))); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "the caseworker"
	}
	return s
}
