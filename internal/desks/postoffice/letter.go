package postoffice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/mailbox"
	"digitalpost/internal/domain/registry"
	"digitalpost/workflows"
)

// ErrLetterNotFound is returned for a letter id nobody submitted.
var ErrLetterNotFound = errors.New("no such letter")

// Status tells where a letter is. A running or recently finished letter answers from its
// workflow (with the timeline); past the history's retention, PostgreSQL still knows the state.
func (p *PostOffice) Status(ctx context.Context, id uuid.UUID) (workflows.LetterState, error) {
	resp, err := p.Temporal.QueryWorkflow(ctx, letters.WorkflowID(id), "", workflows.StatusQuery)
	if err == nil {
		var st workflows.LetterState
		if err := resp.Get(&st); err != nil || !st.Status.Final() {
			return st, err
		}
		return p.afterTheWorkflow(ctx, st)
	}
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		return workflows.LetterState{}, fmt.Errorf("letter %s: %w", id, err)
	}
	l, err := p.Letters.Get(ctx, id)
	if errors.Is(err, letters.ErrNotFound) {
		return workflows.LetterState{}, fmt.Errorf("letter %s: %w", id, ErrLetterNotFound)
	}
	return workflows.LetterState{LetterID: l.ID, Status: l.Status, Channel: l.Channel, FailureReason: l.FailureReason,
		Timeline: []workflows.TimelineEntry{{At: l.UpdatedAt, Status: l.Status, Note: "from PostgreSQL; the workflow history has expired"}}}, err
}

// afterTheWorkflow adds what happened to a finished letter since its workflow ended: the
// print house's receipts move a printed letter to posted, returned or print_failed.
func (p *PostOffice) afterTheWorkflow(ctx context.Context, st workflows.LetterState) (workflows.LetterState, error) {
	l, err := p.Letters.Get(ctx, st.LetterID)
	if err != nil || l.Status == st.Status {
		return st, err
	}
	note := l.FailureReason
	if note == "" {
		note = "posted by the print house"
	}
	st.Status, st.Channel, st.FailureReason = l.Status, l.Channel, l.FailureReason
	st.Timeline = append(st.Timeline, workflows.TimelineEntry{At: l.UpdatedAt, Status: l.Status, Note: note})
	return st, nil
}

// Open is the citizen (or a delegate) reading a letter in the mailbox: the mailbox records
// the opening, the reader counts as logged in, and the letter's workflow hears of it.
func (p *PostOffice) Open(ctx context.Context, id uuid.UUID, readerCPR string) (mailbox.Entry, error) {
	reader, err := p.readerByCPR(ctx, readerCPR)
	if err != nil {
		return mailbox.Entry{}, err
	}
	return p.OpenBy(ctx, id, reader)
}

// readerByCPR is the registry id of a reader named by CPR number, the field "as" when the
// number is malformed or nobody's.
func (p *PostOffice) readerByCPR(ctx context.Context, readerCPR string) (uuid.UUID, error) {
	number, err := cpr.Parse(readerCPR)
	if err != nil {
		return uuid.Nil, &fielderr.Error{Field: "as", Rule: "CPR number " + err.Error()}
	}
	reader, err := p.Registry.CitizenByCPR(ctx, number)
	if errors.Is(err, registry.ErrNotFound) {
		return uuid.Nil, &fielderr.Error{Field: "as", Rule: "reader is not in the registry"}
	}
	return reader.ID, err
}

// OpenBy is Open for a reader already known by registry id, as a signed-in mailbox page knows them.
func (p *PostOffice) OpenBy(ctx context.Context, id, reader uuid.UUID) (mailbox.Entry, error) {
	now := time.Now().UTC()
	entry, first, err := p.Mailbox.Open(ctx, id, reader, now)
	if err != nil {
		return entry, fmt.Errorf("letter %s: %w", id, err)
	}
	if entry.CitizenID != reader { // the owner's login was recorded with the opening
		if err := p.Registry.RecordLogin(ctx, reader, now); err != nil {
			return entry, err
		}
	}
	if first {
		p.Metrics.Opened(now.Sub(entry.DeliveredAt))
	}
	if !first {
		// Opened before. Tell the workflow again unless it has ended: the first signal may
		// have failed (Temporal unreachable), and the workflow dedupes openings anyway.
		l, err := p.Letters.Get(ctx, id)
		if err != nil || l.Status.Final() {
			return entry, err
		}
	}
	err = p.Temporal.SignalWorkflow(ctx, letters.WorkflowID(id), "", workflows.OpenedSignal,
		workflows.Opening{At: *entry.OpenedAt, ByDelegate: entry.OpenedBy != nil && *entry.OpenedBy != entry.CitizenID})
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// The letter's workflow has ended (escalated to paper, say): the opening is still recorded.
		return entry, nil
	}
	return entry, err
}

// Refused is a request the letter's state turns away (withdrawing an opened letter, say):
// the input was well-formed, the moment was not. Callers show Reason to the sender.
type Refused struct {
	LetterID uuid.UUID
	Reason   string
}

func (r *Refused) Error() string { return fmt.Sprintf("letter %s: %s", r.LetterID, r.Reason) }

// Withdraw takes a letter back, if it is not yet opened or printed, whether or not its
// workflow has started: a letter of a batch still waiting for its start is started with the
// withdrawal (update-with-start) and withdrawn without being delivered; the batch's own start
// then finds its workflow and does nothing. A withdrawal the letter's workflow turns away,
// before or after accepting it (the citizen opened the letter first), is a *Refused with the
// reason.
func (p *PostOffice) Withdraw(ctx context.Context, id uuid.UUID, reason string) (workflows.LetterState, error) {
	var st workflows.LetterState
	if rule := fielderr.TextRule(reason); rule != "" {
		return st, &fielderr.Error{Field: "reason", Rule: rule}
	}
	l, err := p.Letters.Get(ctx, id)
	if errors.Is(err, letters.ErrNotFound) {
		return st, fmt.Errorf("letter %s: %w", id, ErrLetterNotFound)
	}
	if err != nil {
		return st, fmt.Errorf("letter %s: %w", id, err)
	}
	if l.Status.Final() {
		// Never started again: past its history's retention a finished letter's workflow id is free.
		return st, tooLateToWithdraw(l)
	}
	handle, err := p.updateWithStart(ctx, l, client.UpdateWorkflowOptions{
		UpdateName: workflows.WithdrawUpdate, Args: []any{workflows.WithdrawRequest{Reason: reason, Sender: l.SenderID}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = handle.Get(ctx, &st)
	}
	var app *temporal.ApplicationError
	switch {
	case workflowEnded(err):
		l, err := p.Letters.Get(ctx, id)
		if err != nil {
			return st, fmt.Errorf("letter %s: %w", id, err)
		}
		return st, tooLateToWithdraw(l)
	case errors.As(err, &app):
		return st, &Refused{LetterID: id, Reason: app.Message()}
	case err != nil:
		return st, fmt.Errorf("letter %s: %w", id, err)
	}
	return st, nil
}

func tooLateToWithdraw(l letters.Letter) *Refused {
	return &Refused{LetterID: l.ID, Reason: fmt.Sprintf("letter is %s and can no longer be withdrawn", l.Status)}
}

// updateWithStart sends an update to a stored letter's workflow, and starts the workflow with
// the update if it has not started yet (a letter of a batch waiting for its start, or one whose
// start failed): the update is then the first thing the workflow handles, before any delivery.
// The start is the one every start of a letter makes (startOptions, input), so the batch's or
// the recovery sweep's start later finds the workflow, running or finished, and does nothing.
// A workflow that has finished is not started again (its id may not be reused): workflowEnded
// tells that error.
func (p *PostOffice) updateWithStart(ctx context.Context, l letters.Letter, update client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	opts := p.startOptions(ctx, l)
	opts.EnableEagerStart = false // update-with-start has no eager start (the SDK asks for none); say so
	update.WorkflowID = opts.ID
	handle, err := p.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: p.Temporal.NewWithStartWorkflowOperation(opts, workflows.LetterWorkflow, p.input(l)),
		UpdateOptions:          update,
	})
	if err != nil {
		return nil, err
	}
	// The workflow runs: confirm the start, so the recovery sweep leaves the letter be. A start
	// left unconfirmed only costs the sweep one more start that finds the workflow.
	_ = p.Letters.MarkStarted(ctx, l.ID)
	return handle, nil
}

// workflowEnded tells the errors of an update that reached a letter whose workflow has
// finished: update-with-start refuses to start a finished workflow again (its id is taken, with
// REJECT_DUPLICATE), and an update racing the workflow's end finds none to update.
func workflowEnded(err error) bool {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	var notFound *serviceerror.NotFound
	return errors.As(err, &started) || errors.As(err, &notFound)
}
