// Package borgerservice is the municipal citizen service's desk: caseworkers register
// exemption applications, verify powers of attorney and decide; citizens re-enroll and
// manage who may read their mailbox.
package borgerservice

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/searchattr"
	"digitalpost/workflows"
)

// Desk holds what the citizen service needs.
type Desk struct {
	Temporal  client.Client
	TaskQueue string
	Registry  *registry.Registry
	Cases     *exemption.Store
	Access    *access.Store
	NemSMS    *nemsms.Store
	// ServiceDeadline gives the time a new case may wait before a reminder.
	ServiceDeadline func(now time.Time) time.Time
	// ResponseDeadline is how long a citizen has to answer a reading access request.
	ResponseDeadline time.Duration
	// Municipality is the sender of the decision letters of applications that name none
	// (MUNICIPALITY_SENDER_ID): the municipality whose citizen service this desk is.
	Municipality string
}

// Application is an exemption application made in person.
type Application struct {
	CitizenCPR     string
	Grounds        []string
	MunicipalityID string // the sender of the decision letter; empty: the desk's Municipality
	Caseworker     string
	// A representative appears instead of the citizen, with a power of attorney (fuldmagt).
	RepresentativeName string
	RepresentativeCPR  string
	PowerOfAttorney    letters.Document
}

// Apply registers an application and starts its case; it returns the case id.
func (d *Desk) Apply(ctx context.Context, a Application) (uuid.UUID, error) {
	var errs fielderr.List
	if strings.TrimSpace(a.MunicipalityID) == "" {
		a.MunicipalityID = d.Municipality
	}
	c := exemption.Case{ID: uuid.New(), MunicipalityID: strings.TrimSpace(a.MunicipalityID), Caseworker: a.Caseworker,
		Status: exemption.AwaitingDecision}
	if citizen, ok := d.citizen(ctx, &errs, "cpr", a.CitizenCPR); ok {
		c.CitizenID = citizen.ID
		switch {
		case citizen.Deceased():
			errs.Add("cpr", "citizen is recorded as deceased")
		case citizen.Enrolment == registry.Exempt:
			errs.Add("cpr", "citizen is already exempt from Digital Post")
		}
		if open, ok, err := d.Cases.OpenFor(ctx, citizen.ID); err != nil {
			return uuid.Nil, err
		} else if ok {
			errs.Add("cpr", fmt.Sprintf("citizen already has an open exemption case, %s (%s); decide it before a new application", open.ID, open.Status))
		}
	}
	// A citizen need not name a ground to apply: the caseworker records it with the decision.
	for _, g := range a.Grounds {
		ground, err := exemption.ParseGround(g)
		if err != nil {
			errs.Add("grounds", err.Error())
			continue
		}
		c.Grounds = append(c.Grounds, ground)
	}
	if _, err := d.Registry.Sender(ctx, c.MunicipalityID); errors.Is(err, registry.ErrNotFound) {
		errs.Add("municipality", "is not a registered sender")
	} else if err != nil {
		return uuid.Nil, err
	}
	rep := strings.TrimSpace(a.RepresentativeName)
	errs.CheckText("representative-name", rep)
	errs.CheckText("caseworker", a.Caseworker)
	switch {
	case rep != "":
		c.RepresentativeName = rep
		// The representative is named by their registry entry: their CPR number stays in the
		// registry, not in the case.
		if r, ok := d.citizen(ctx, &errs, "representative-cpr", a.RepresentativeCPR); ok {
			if r.ID == c.CitizenID {
				errs.Add("representative-cpr", "is the citizen's own; a citizen who comes in person needs no representative")
			}
			c.RepresentativeID = &r.ID
		}
		switch poa := a.PowerOfAttorney; {
		case len(poa.Content) == 0:
			errs.Add("power-of-attorney", "a representative must bring a power of attorney document")
		case len(poa.Content) > letters.MaxDocumentBytes:
			errs.Add("power-of-attorney", "is larger than 10 MB")
		default:
			c.POAFilename, c.POADocument = poa.Filename, poa.Content
		}
		c.Status = exemption.AwaitingProxy
	case a.RepresentativeCPR != "" || len(a.PowerOfAttorney.Content) > 0:
		errs.Add("representative-name", "is required when a representative's CPR number or power of attorney is given")
	}
	if err := errs.Err(); err != nil {
		return uuid.Nil, err
	}
	c.ServiceDeadline = d.ServiceDeadline(time.Now().UTC())
	if err := d.Cases.Create(ctx, c); errors.Is(err, exemption.ErrOpenCase) { // another desk was quicker
		return uuid.Nil, &fielderr.Error{Field: "cpr", Rule: "citizen already has an open exemption case; decide it before a new application"}
	} else if err != nil {
		return uuid.Nil, err
	}
	if err := d.StartCase(ctx, c); err != nil {
		return c.ID, &StartDeferred{What: "case " + c.ID.String(), Err: err}
	}
	return c.ID, nil
}

// StartDeferred: the case or request is stored, but its workflow could not be started now.
// It is not lost: the recovery sweep starts it within a minute or two. The row is never
// deleted on such an error: the start may in fact have happened (a timeout says nothing).
type StartDeferred struct {
	What string
	Err  error
}

func (e *StartDeferred) Error() string {
	return fmt.Sprintf("%s is registered, but its workflow could not be started now (%v); the recovery sweep will start it within two minutes", e.What, e.Err)
}

func (e *StartDeferred) Unwrap() error { return e.Err }

// StartCase starts a stored case's workflow, idempotently (its id comes from the case), and
// confirms the start in PostgreSQL. The recovery sweep calls it for cases left unconfirmed.
func (d *Desk) StartCase(ctx context.Context, c exemption.Case) error {
	_, err := d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: exemption.WorkflowID(c.ID), TaskQueue: d.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(searchattr.ExemptionCaseStatus.ValueSet(string(c.Status))),
	}, workflows.ExemptionCaseWorkflow, workflows.ExemptionInput{
		CaseID: c.ID, HasRepresentative: c.HasRepresentative(), ServiceDeadline: max(time.Until(c.ServiceDeadline), time.Second)})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start case %s: %w", c.ID, err)
	}
	return d.Cases.MarkStarted(ctx, c.ID)
}

// VerifyProxy records the caseworker's finding on a representative's power of attorney.
func (d *Desk) VerifyProxy(ctx context.Context, caseID uuid.UUID, v workflows.ProxyVerification) (workflows.CaseState, error) {
	var errs fielderr.List
	errs.CheckText("reason", v.Reason)
	checkCaseworker(&errs, v.Caseworker)
	if err := errs.Err(); err != nil {
		return workflows.CaseState{}, err
	}
	return d.caseUpdate(ctx, caseID, workflows.VerifyProxyUpdate, v)
}

// Decide approves or rejects an application.
func (d *Desk) Decide(ctx context.Context, caseID uuid.UUID, dec workflows.Decision) (workflows.CaseState, error) {
	var errs fielderr.List
	errs.CheckText("reason", dec.Reason)
	checkCaseworker(&errs, dec.Caseworker)
	named := dec.Grounds
	dec.Grounds = nil
	for _, g := range named {
		ground, err := exemption.ParseGround(g)
		if err != nil {
			errs.Add("grounds", err.Error())
			continue
		}
		dec.Grounds = append(dec.Grounds, string(ground)) // as the rules spell it, trimmed
	}
	if err := errs.Err(); err != nil {
		return workflows.CaseState{}, err
	}
	if dec.Approve && len(dec.Grounds) == 0 {
		// An exemption is granted on a ground: the caseworker names it when the citizen did not.
		c, err := d.Cases.Get(ctx, caseID)
		if err != nil && !errors.Is(err, exemption.ErrNotFound) {
			return workflows.CaseState{}, err
		}
		if err == nil && len(c.Grounds) == 0 {
			return workflows.CaseState{}, &fielderr.Error{Field: "grounds",
				Rule: "name the ground the exemption is granted on (the citizen need not have named one when applying)"}
		}
	}
	return d.caseUpdate(ctx, caseID, workflows.DecideUpdate, dec)
}

// checkCaseworker: every act in a case names the caseworker who made it (the case's own
// validator refuses one that does not).
func checkCaseworker(errs *fielderr.List, name string) {
	if name == "" {
		errs.Add("caseworker", "is required: the caseworker who acts")
		return
	}
	errs.CheckText("caseworker", name)
}

// ErrCaseClosed: the case has been decided; nothing more can be done in it.
var ErrCaseClosed = errors.New("the case is closed")

func (d *Desk) caseUpdate(ctx context.Context, caseID uuid.UUID, name string, arg any) (workflows.CaseState, error) {
	var st workflows.CaseState
	err := update(ctx, d.Temporal, exemption.WorkflowID(caseID), name, arg, &st)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		c, getErr := d.Cases.Get(ctx, caseID)
		if getErr != nil {
			return st, fmt.Errorf("case %s: %w", caseID, getErr)
		}
		return st, fmt.Errorf("case %s: %w (%s)", caseID, ErrCaseClosed, c.Status)
	}
	if err != nil {
		return st, fmt.Errorf("case %s: %w", caseID, err)
	}
	return st, nil
}

// Show returns a case's state and timeline; past the history's retention, from PostgreSQL.
func (d *Desk) Show(ctx context.Context, caseID uuid.UUID) (workflows.CaseState, exemption.Case, error) {
	c, err := d.Cases.Get(ctx, caseID)
	if err != nil {
		return workflows.CaseState{}, c, fmt.Errorf("case %s: %w", caseID, err)
	}
	resp, err := d.Temporal.QueryWorkflow(ctx, exemption.WorkflowID(caseID), "", workflows.CaseQuery)
	var st workflows.CaseState
	if err == nil {
		return st, c, resp.Get(&st)
	}
	st = workflows.CaseState{CaseID: c.ID, Status: c.Status, Overdue: c.Overdue, Reason: c.Reason, DecisionLetterID: c.DecisionLetterID,
		Timeline: []workflows.CaseEvent{{At: c.UpdatedAt, Status: c.Status, Note: "from PostgreSQL; the workflow history has expired"}}}
	return st, c, nil
}

// Enrol re-enrolls an exempt citizen in Digital Post (rule 14).
func (d *Desk) Enrol(ctx context.Context, citizenCPR string) (registry.Citizen, error) {
	var errs fielderr.List
	c, ok := d.citizen(ctx, &errs, "cpr", citizenCPR)
	if !ok {
		return c, errs.Err()
	}
	if c.Deceased() {
		return c, &fielderr.Error{Field: "cpr", Rule: "citizen is recorded as deceased"}
	}
	if err := d.Registry.Enrol(ctx, c.ID); err != nil {
		if errors.Is(err, registry.ErrNotExempt) {
			return c, &fielderr.Error{Field: "cpr", Rule: err.Error()}
		}
		return c, err
	}
	return d.Registry.Citizen(ctx, c.ID)
}

// citizen looks up a CPR number, recording a field error when it is malformed or unknown.
func (d *Desk) citizen(ctx context.Context, errs *fielderr.List, field, number string) (registry.Citizen, bool) {
	n, err := cpr.Parse(number)
	if err != nil {
		errs.Add(field, "CPR number "+err.Error())
		return registry.Citizen{}, false
	}
	c, err := d.Registry.CitizenByCPR(ctx, n)
	if err != nil {
		errs.Add(field, "citizen is not in the registry")
		return registry.Citizen{}, false
	}
	return c, true
}

// update runs a workflow Update and waits for its result; arg nil sends no argument.
func update(ctx context.Context, tc client.Client, workflowID, name string, arg, result any) error {
	var args []any
	if arg != nil {
		args = []any{arg}
	}
	h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflowID, UpdateName: name,
		Args: args, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return err
	}
	return h.Get(ctx, result)
}
