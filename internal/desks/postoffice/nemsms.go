package postoffice

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

	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/domain/registry"
	"digitalpost/workflows"
)

// NemSMSSubmission is a sender's NemSMS message as handed in.
type NemSMSSubmission struct {
	SenderID     string
	MessageID    string // the sender's own id; the same again sends nothing twice
	RecipientCPR string
	Text         string
}

// NemSMSReceipt says which message was stored, and whether it was stored before.
type NemSMSReceipt struct {
	Message   nemsms.Message
	Duplicate bool
}

// SendNemSMS checks a NemSMS message (sender, a subscribed recipient, one SMS of text with
// nothing sensitive), stores it and starts its workflow. A refusal names the field and the
// rule, and nothing is written.
func (p *PostOffice) SendNemSMS(ctx context.Context, s NemSMSSubmission) (NemSMSReceipt, error) {
	var errs fielderr.List
	m := nemsms.Message{SenderID: strings.TrimSpace(s.SenderID), MessageID: strings.TrimSpace(s.MessageID), Body: strings.TrimSpace(s.Text)}
	if m.SenderID == "" {
		errs.Add("sender", "must not be empty")
	} else if _, err := p.Registry.Sender(ctx, m.SenderID); errors.Is(err, registry.ErrNotFound) {
		errs.Add("sender", "is not a registered sender")
	} else if err != nil {
		return NemSMSReceipt{}, err
	}
	if m.MessageID == "" {
		m.MessageID = uuid.NewString()
	} else if len(m.MessageID) > MaxMessageID {
		errs.Add("message-id", fmt.Sprintf("must be at most %d characters", MaxMessageID))
	} else {
		errs.CheckText("message-id", m.MessageID)
	}
	nemsms.CheckText(&errs, "text", m.Body)
	if n, err := cpr.Parse(s.RecipientCPR); err != nil {
		errs.Add("to", "CPR number "+err.Error())
	} else if c, err := p.Registry.CitizenByCPR(ctx, n); errors.Is(err, registry.ErrNotFound) {
		errs.Add("to", "recipient is not in the registry")
	} else if err != nil {
		return NemSMSReceipt{}, err
	} else {
		m.CitizenID = c.ID
		switch sub, err := p.NemSMS.SubscriptionOf(ctx, c.ID); {
		case errors.Is(err, nemsms.ErrNotSubscribed), err == nil && !sub.Active():
			errs.Add("to", "the recipient has not signed up for NemSMS; only citizens who accepted its terms get NemSMS messages")
		case err != nil:
			return NemSMSReceipt{}, err
		}
	}
	if err := errs.Err(); err != nil {
		return NemSMSReceipt{}, err
	}
	m.ID = nemsms.IDFor(m.SenderID, m.MessageID)
	stored, created, err := p.NemSMS.Create(ctx, m)
	if err != nil {
		return NemSMSReceipt{}, err
	}
	if !created && (stored.Body != m.Body || stored.CitizenID != m.CitizenID) {
		return NemSMSReceipt{}, &Conflict{LetterID: stored.ID, MessageID: stored.MessageID}
	}
	if err := p.StartNemSMS(ctx, stored); err != nil {
		return NemSMSReceipt{Message: stored}, fmt.Errorf("NemSMS message %s is stored and will be sent when the recovery sweep starts it: %w", stored.ID, err)
	}
	return NemSMSReceipt{Message: stored, Duplicate: !created}, nil
}

// StartNemSMS starts a stored message's workflow, idempotently, and confirms the start.
func (p *PostOffice) StartNemSMS(ctx context.Context, m nemsms.Message) error {
	_, err := p.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: nemsms.WorkflowID(m.ID), TaskQueue: p.queue(ctx, true),
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// A service message is due now (a payout, an appointment): before the sender's bulk letters.
		Priority: p.Weights.Priority(m.SenderID, true),
	}, workflows.NemSMSWorkflow, workflows.NemSMSInput{MessageID: m.ID})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start NemSMS message %s: %w", m.ID, err)
	}
	return p.NemSMS.MarkStarted(ctx, m.ID)
}

// MoveAppointment moves a letter's appointment; its NemSMS reminder follows. A letter of a
// batch still waiting for its start is started with the move (update-with-start), so its
// reminder follows the new time from the outset. A letter without an appointment, one
// withdrawn, or one whose reminder went out is refused with the reason.
func (p *PostOffice) MoveAppointment(ctx context.Context, id uuid.UUID, spec string) (time.Time, error) {
	at, err := ParseTime("appointment-at", spec)
	if err != nil {
		return time.Time{}, err
	}
	if at == nil {
		return time.Time{}, &fielderr.Error{Field: "appointment-at", Rule: "is required: the new appointment time"}
	}
	l, err := p.Letters.Get(ctx, id)
	if errors.Is(err, letters.ErrNotFound) {
		return time.Time{}, fmt.Errorf("letter %s: %w", id, ErrLetterNotFound)
	}
	if err != nil {
		return time.Time{}, err
	}
	switch {
	case l.AppointmentAt == nil:
		return time.Time{}, &Refused{LetterID: id, Reason: "the letter calls to no appointment"}
	case l.Status == letters.Withdrawn || l.Status == letters.Failed:
		return time.Time{}, &Refused{LetterID: id, Reason: fmt.Sprintf("the letter is %s; its appointment no longer stands", l.Status)}
	}
	move := client.UpdateWorkflowOptions{WorkflowID: letters.WorkflowID(id),
		UpdateName: workflows.MoveAppointmentUpdate, Args: []any{workflows.MoveAppointment{At: at.UTC().Truncate(time.Second), Sender: l.SenderID, From: l.AppointmentAt.UTC()}},
		WaitForStage: client.WorkflowUpdateStageCompleted}
	var h client.WorkflowUpdateHandle
	if l.Status.Final() {
		// Opened or printed: its workflow runs on only for the reminder, if at all. A finished
		// letter is never started again (past its history's retention its workflow id is free).
		h, err = p.Temporal.UpdateWorkflow(ctx, move)
	} else {
		h, err = p.updateWithStart(ctx, l, move)
	}
	if workflowEnded(err) {
		// The letter's workflow has ended, its reminder sent (or none due): the new time is
		// recorded for the letter; no reminder follows.
		if !at.After(time.Now()) {
			return time.Time{}, &Refused{LetterID: id, Reason: "the new appointment time must be in the future"}
		}
		moved := at.UTC().Truncate(time.Second)
		return moved, p.Letters.MoveAppointment(ctx, id, moved)
	}
	var moved time.Time
	if err == nil {
		err = h.Get(ctx, &moved)
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return time.Time{}, &Refused{LetterID: id, Reason: app.Message()}
	}
	return moved, err
}
