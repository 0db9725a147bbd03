package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
)

// ErrCaseUnknown: the case row is gone.
const ErrCaseUnknown = "CaseUnknown"

// ApplyExemption marks the case's citizen exempt in the registry and suspends their reading
// access, given and held: an exempt citizen has no digital mailbox to share or read.
func (a *Activities) ApplyExemption(ctx context.Context, caseID uuid.UUID) error {
	c, err := a.caseByID(ctx, caseID)
	if err != nil {
		return err
	}
	err = a.Registry.SetExempt(ctx, c.CitizenID, a.Now())
	if errors.Is(err, registry.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("case %s: citizen is not in the registry", caseID), ErrRecipientUnknown, nil)
	}
	if err != nil {
		return err
	}
	return a.Access.SuspendAll(ctx, a.Temporal, c.CitizenID)
}

// CaseOutcome is the case's state as the workflow decided it.
type CaseOutcome struct {
	CaseID     uuid.UUID
	Status     exemption.Status
	Reason     string
	Caseworker string
	// Grounds the caseworker recorded with the decision, added to the case's.
	Grounds []string
}

// RecordCase writes the case's state to PostgreSQL, where the caseworker's lists come from.
func (a *Activities) RecordCase(ctx context.Context, o CaseOutcome) error {
	return a.Cases.SetStatus(ctx, o.CaseID, o.Status, o.Reason, o.Caseworker, o.Grounds...)
}

// ReminderRequest asks for reminder number Number on a case.
type ReminderRequest struct {
	CaseID uuid.UUID
	Number int
}

// RaiseReminder puts an overdue case on the caseworker queue.
func (a *Activities) RaiseReminder(ctx context.Context, r ReminderRequest) error {
	return a.Cases.RaiseReminder(ctx, r.CaseID, r.Number)
}

// DecisionLetterRequest asks for the letter telling the citizen the decision.
type DecisionLetterRequest struct {
	CaseID   uuid.UUID
	Approved bool
	Reason   string
}

// DecisionLetter is a stored letter ready for its workflow.
type DecisionLetter struct {
	LetterID uuid.UUID
	SenderID string
	Deadline time.Duration
}

// PrepareDecisionLetter stores the decision letter from the municipality to the citizen. Its
// message id comes from the case, so a retry finds the same letter instead of writing a second.
func (a *Activities) PrepareDecisionLetter(ctx context.Context, r DecisionLetterRequest) (DecisionLetter, error) {
	c, err := a.caseByID(ctx, r.CaseID)
	if err != nil {
		return DecisionLetter{}, err
	}
	var body strings.Builder
	if r.Approved {
		body.WriteString("Din ansøgning om fritagelse for Digital Post er godkendt.\n\n" +
			"Fremover modtager du breve fra det offentlige på papir. Du er også fritaget for obligatorisk digital selvbetjening.\n\n" +
			"Fritagelsen gælder, indtil du selv tilmelder dig Digital Post igen, fx hos Borgerservice.")
	} else {
		body.WriteString("Din ansøgning om fritagelse for Digital Post er afslået.\n\nBegrundelse: " + r.Reason +
			"\n\nDu modtager fortsat breve fra det offentlige i din digitale postkasse.")
	}
	messageID := "exemption-" + c.ID.String() + "-decision"
	l := letters.Letter{ID: letters.IDFor(c.MunicipalityID, messageID), SenderID: c.MunicipalityID, MessageID: messageID,
		RecipientID: &c.CitizenID, Subject: "Afgørelse om fritagelse for Digital Post", Body: body.String(), Deadline: a.LetterDeadline}
	if l.Deadline <= 0 {
		l.Deadline = letters.DefaultDeadline
	}
	stored, _, err := a.Letters.Create(ctx, l, nil)
	if err != nil {
		return DecisionLetter{}, err
	}
	if err := a.Cases.SetDecisionLetter(ctx, c.ID, stored.ID); err != nil {
		return DecisionLetter{}, err
	}
	return DecisionLetter{LetterID: stored.ID, SenderID: stored.SenderID, Deadline: stored.Deadline}, nil
}

func (a *Activities) caseByID(ctx context.Context, id uuid.UUID) (exemption.Case, error) {
	c, err := a.Cases.Get(ctx, id)
	if errors.Is(err, exemption.ErrNotFound) {
		return c, temporal.NewNonRetryableApplicationError(fmt.Sprintf("case %s is not stored", id), ErrCaseUnknown, nil)
	}
	return c, err
}

// ReadingAccessOutcome is a request's state as the workflow decided it.
type ReadingAccessOutcome struct {
	GrantID uuid.UUID
	Status  access.Status
}

// RecordReadingAccess writes the state that the mailbox's access check reads.
func (a *Activities) RecordReadingAccess(ctx context.Context, o ReadingAccessOutcome) error {
	return a.Access.SetStatus(ctx, o.GrantID, o.Status)
}
