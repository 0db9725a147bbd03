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

	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/registry"
	"digitalpost/workflows"
)

// exemptCannotGrant is said whenever an exempt citizen would grant reading access.
const exemptCannotGrant = "citizen is exempt from Digital Post and cannot grant reading access until they re-enroll (starter enrol CPR)"

// RequestReadingAccess is a delegate asking to read a citizen's mailbox.
func (d *Desk) RequestReadingAccess(ctx context.Context, delegateCPR, citizenCPR string) (uuid.UUID, error) {
	var errs fielderr.List
	citizen, delegate := d.accessParties(ctx, &errs, delegateCPR, citizenCPR)
	if err := errs.Err(); err != nil {
		return uuid.Nil, err
	}
	g := access.Grant{ID: uuid.New(), CitizenID: citizen.ID, DelegateID: delegate.ID, RespondBy: time.Now().Add(d.ResponseDeadline)}
	return d.createGrant(ctx, g)
}

// GrantReadingAccess records reading access that the citizen gave in person at the citizen
// service (the seeds: the citizen service can set it up for a citizen): granted at once, with
// the caseworker's name on it.
func (d *Desk) GrantReadingAccess(ctx context.Context, caseworker, delegateCPR, citizenCPR string) (uuid.UUID, error) {
	var errs fielderr.List
	citizen, delegate := d.accessParties(ctx, &errs, delegateCPR, citizenCPR)
	if strings.TrimSpace(caseworker) == "" {
		errs.Add("by-caseworker", "must name the caseworker who recorded the citizen's consent")
	} else {
		errs.CheckText("by-caseworker", caseworker)
	}
	if err := errs.Err(); err != nil {
		return uuid.Nil, err
	}
	g := access.Grant{ID: uuid.New(), CitizenID: citizen.ID, DelegateID: delegate.ID, Status: access.Granted,
		RespondBy: time.Now(), GrantedBy: strings.TrimSpace(caseworker)}
	return d.createGrant(ctx, g)
}

// accessParties checks who may share a mailbox with whom (rule 13): the citizen has a
// digital mailbox (enrolled, alive), and the delegate can use Digital Post themselves: 15 or
// older, enrolled, not exempt, alive.
func (d *Desk) accessParties(ctx context.Context, errs *fielderr.List, delegateCPR, citizenCPR string) (citizen, delegate registry.Citizen) {
	delegate, okD := d.citizen(ctx, errs, "delegate", delegateCPR)
	citizen, okC := d.citizen(ctx, errs, "citizen", citizenCPR)
	if okD && okC && delegate.ID == citizen.ID {
		errs.Add("delegate", "cannot be the citizen themselves")
	}
	if okC {
		switch {
		case citizen.Deceased():
			errs.Add("citizen", "is recorded as deceased; their mailbox is closed to new reading access")
		case citizen.Enrolment == registry.Exempt:
			errs.Add("citizen", exemptCannotGrant)
		}
	}
	if okD {
		switch {
		case delegate.Deceased():
			errs.Add("delegate", "is recorded as deceased")
		case cpr.AgeOn(delegate.BirthDate, calendar.In(time.Now())) < registry.DigitalAge:
			errs.Add("delegate", fmt.Sprintf("must be %d or older to read someone else's Digital Post", registry.DigitalAge))
		case delegate.Enrolment == registry.Exempt:
			errs.Add("delegate", "is exempt from Digital Post and so has no mailbox to read another's post in")
		}
	}
	return citizen, delegate
}

func (d *Desk) createGrant(ctx context.Context, g access.Grant) (uuid.UUID, error) {
	if err := d.Access.Create(ctx, g); err != nil {
		if errors.Is(err, access.ErrAlreadyLive) {
			return uuid.Nil, &fielderr.Error{Field: "delegate", Rule: err.Error()}
		}
		return uuid.Nil, err
	}
	if err := d.StartReadingAccess(ctx, g); err != nil {
		return g.ID, &StartDeferred{What: "reading access " + g.ID.String(), Err: err}
	}
	return g.ID, nil
}

// StartReadingAccess starts a stored request's workflow, idempotently, and confirms the start.
func (d *Desk) StartReadingAccess(ctx context.Context, g access.Grant) error {
	_, err := d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: access.WorkflowID(g.ID), TaskQueue: d.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.ReadingAccessWorkflow, workflows.ReadingAccessInput{GrantID: g.ID, Citizen: g.CitizenID, Delegate: g.DelegateID, ResponseDeadline: max(time.Until(g.RespondBy), time.Second),
		Granted: g.Status == access.Granted}) // recorded by a caseworker: granted from the start
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start reading access request %s: %w", g.ID, err)
	}
	return d.Access.MarkStarted(ctx, g.ID)
}

// RespondReadingAccess is the citizen accepting or declining a request.
func (d *Desk) RespondReadingAccess(ctx context.Context, id uuid.UUID, asCPR string, accept bool) (access.Status, error) {
	g, who, err := d.party(ctx, id, asCPR)
	if err != nil {
		return "", err
	}
	if who.ID != g.CitizenID {
		return "", &fielderr.Error{Field: "as", Rule: "only the citizen whose mailbox it is can answer the request"}
	}
	if accept && who.Enrolment == registry.Exempt {
		return "", &fielderr.Error{Field: "as", Rule: exemptCannotGrant}
	}
	return d.accessUpdate(ctx, g, workflows.RespondUpdate, workflows.Response{Accept: accept, By: who.ID})
}

// RevokeReadingAccess ends granted access; the citizen or the delegate may revoke it.
func (d *Desk) RevokeReadingAccess(ctx context.Context, id uuid.UUID, asCPR string) (access.Status, error) {
	g, who, err := d.party(ctx, id, asCPR)
	if err != nil {
		return "", err
	}
	if who.ID != g.CitizenID && who.ID != g.DelegateID {
		return "", &fielderr.Error{Field: "as", Rule: "only the citizen or the delegate can revoke reading access"}
	}
	return d.accessUpdate(ctx, g, workflows.RevokeUpdate, workflows.Revocation{By: who.ID})
}

func (d *Desk) party(ctx context.Context, id uuid.UUID, asCPR string) (access.Grant, registry.Citizen, error) {
	g, err := d.Access.Get(ctx, id)
	if err != nil {
		return g, registry.Citizen{}, fmt.Errorf("reading access %s: %w", id, err)
	}
	var errs fielderr.List
	who, ok := d.citizen(ctx, &errs, "as", asCPR)
	if !ok {
		return g, who, errs.Err()
	}
	return g, who, nil
}

func (d *Desk) accessUpdate(ctx context.Context, g access.Grant, name string, arg any) (access.Status, error) {
	var st access.Status
	err := update(ctx, d.Temporal, access.WorkflowID(g.ID), name, arg, &st)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		now, _ := d.Access.Get(ctx, g.ID)
		return now.Status, fmt.Errorf("reading access %s is %s", g.ID, now.Status)
	}
	if err != nil {
		return st, fmt.Errorf("reading access %s: %w", g.ID, err)
	}
	return st, nil
}
