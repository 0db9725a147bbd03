package workflows

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/access"
)

// Names a client uses to talk to a reading access request.
const (
	RespondUpdate      = "respond"
	RevokeUpdate       = "revoke"
	ReadingAccessQuery = "reading-access"
)

// ReadingAccessInput starts a request; who asked whom stays in PostgreSQL.
type ReadingAccessInput struct {
	GrantID          uuid.UUID
	ResponseDeadline time.Duration // the citizen must answer within this, or the request expires
}

// Response is the citizen's answer to a request.
type Response struct{ Accept bool }

type readingAccess struct {
	in       ReadingAccessInput
	status   access.Status
	response *Response
	revoked  bool
}

// ReadingAccessWorkflow: a delegate asks to read a citizen's mailbox; the citizen accepts or
// declines before the deadline, or the request expires. Granted access lasts until revoked.
func ReadingAccessWorkflow(ctx workflow.Context, in ReadingAccessInput) (access.Status, error) {
	r := &readingAccess{in: in, status: access.Requested}
	if err := r.setup(ctx); err != nil {
		return r.status, err
	}
	return r.run(ctx)
}

func (r *readingAccess) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, ReadingAccessQuery, func() (access.Status, error) { return r.status, nil }); err != nil {
		return err
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, RespondUpdate,
		func(ctx workflow.Context, resp Response) (access.Status, error) {
			r.response = &resp
			err := workflow.Await(ctx, func() bool { return r.status != access.Requested })
			return r.status, err
		},
		workflow.UpdateHandlerOptions{Validator: func(Response) error {
			if r.status != access.Requested || r.response != nil {
				return fmt.Errorf("the request is no longer open (%s)", r.status)
			}
			return nil
		}})
	if err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, RevokeUpdate,
		func(ctx workflow.Context) (access.Status, error) {
			r.revoked = true
			err := workflow.Await(ctx, func() bool { return r.status == access.Revoked })
			return r.status, err
		},
		workflow.UpdateHandlerOptions{Validator: func() error {
			if r.status != access.Granted || r.revoked {
				return errors.New("reading access is not granted, so there is nothing to revoke")
			}
			return nil
		}})
}

func (r *readingAccess) run(ctx workflow.Context) (access.Status, error) {
	expired := false
	timer := workflow.NewTimer(ctx, r.in.ResponseDeadline)
	workflow.Go(ctx, func(ctx workflow.Context) { expired = timer.Get(ctx, nil) == nil })
	if err := workflow.Await(ctx, func() bool { return r.response != nil || expired }); err != nil {
		return r.status, err
	}
	switch {
	case r.response == nil:
		return r.finish(ctx, access.Expired)
	case !r.response.Accept:
		return r.finish(ctx, access.Declined)
	}
	if err := r.record(ctx, access.Granted); err != nil {
		return r.status, err
	}
	if err := workflow.Await(ctx, func() bool { return r.revoked }); err != nil {
		return r.status, err
	}
	return r.finish(ctx, access.Revoked)
}

func (r *readingAccess) finish(ctx workflow.Context, s access.Status) (access.Status, error) {
	if err := r.record(ctx, s); err != nil {
		return r.status, err
	}
	err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return r.status, err
}

func (r *readingAccess) record(ctx workflow.Context, s access.Status) error {
	err := workflow.ExecuteLocalActivity(dbStep(ctx), acts.RecordReadingAccess, activities.ReadingAccessOutcome{GrantID: r.in.GrantID, Status: s}).Get(ctx, nil)
	if err == nil {
		r.status = s
	}
	return err
}
