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

// DefaultGrantedRunLength: how long one run of granted access waits for revocation before it
// continues as new, so no run lasts the years an access may stand.
const DefaultGrantedRunLength = 30 * 24 * time.Hour

// grantedContinueAsNew names the change that bounded granted access's runs; access granted
// before it waits in its one run, with no timer, and must keep doing so to replay.
const grantedContinueAsNew = "reading-access-continue-as-new"

// ReadingAccessInput starts a request; who asked whom stays in PostgreSQL.
type ReadingAccessInput struct {
	GrantID          uuid.UUID
	ResponseDeadline time.Duration // the citizen must answer within this, or the request expires
	// GrantedRunLength: how long one run waits for revocation before continuing as new; zero
	// means DefaultGrantedRunLength.
	GrantedRunLength time.Duration
	// Granted: access was granted in an earlier run; this run only waits for revocation.
	Granted bool
}

// Response is the citizen's answer to a request.
type Response struct{ Accept bool }

type readingAccess struct {
	in       ReadingAccessInput
	status   access.Status
	response *Response
	revoked  bool
	// suspended: the citizen or the delegate became exempt or died (access.SuspendSignal).
	suspended bool
}

// ReadingAccessWorkflow: a delegate asks to read a citizen's mailbox; the citizen accepts or
// declines before the deadline, or the request expires. Granted access lasts until revoked,
// continuing as new every GrantedRunLength while it waits.
func ReadingAccessWorkflow(ctx workflow.Context, in ReadingAccessInput) (access.Status, error) {
	r := &readingAccess{in: in, status: access.Requested}
	if in.Granted {
		r.status = access.Granted
	}
	if err := r.setup(ctx); err != nil {
		return r.status, err
	}
	if in.Granted {
		return r.whileGranted(ctx)
	}
	return r.run(ctx)
}

func (r *readingAccess) setup(ctx workflow.Context) error {
	// A signal, not an Update: the registry change that causes it has happened and admits
	// no refusal. Histories without it replay unchanged, as receiving adds no command.
	workflow.Go(ctx, func(ctx workflow.Context) {
		workflow.GetSignalChannel(ctx, access.SuspendSignal).Receive(ctx, nil)
		r.suspended = true
	})
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
			if r.status != access.Requested || r.response != nil || r.suspended {
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
			err := workflow.Await(ctx, func() bool { return r.status != access.Granted })
			return r.status, err
		},
		workflow.UpdateHandlerOptions{Validator: func() error {
			if r.status != access.Granted || r.revoked || r.suspended {
				return errors.New("reading access is not granted, so there is nothing to revoke")
			}
			return nil
		}})
}

func (r *readingAccess) run(ctx workflow.Context) (access.Status, error) {
	expired := false
	timer := workflow.NewTimer(ctx, r.in.ResponseDeadline)
	workflow.Go(ctx, func(ctx workflow.Context) { expired = timer.Get(ctx, nil) == nil })
	if err := workflow.Await(ctx, func() bool { return r.response != nil || expired || r.suspended }); err != nil {
		return r.status, err
	}
	switch {
	case r.suspended:
		return r.finish(ctx, access.Suspended)
	case r.response == nil:
		return r.finish(ctx, access.Expired)
	case !r.response.Accept:
		return r.finish(ctx, access.Declined)
	}
	if err := r.record(ctx, access.Granted); err != nil {
		return r.status, err
	}
	return r.whileGranted(ctx)
}

// whileGranted waits for revocation, for one GrantedRunLength (a durable timer), then hands
// the granted access to a new run once no Update is in progress.
func (r *readingAccess) whileGranted(ctx workflow.Context) (access.Status, error) {
	if workflow.GetVersion(ctx, grantedContinueAsNew, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		if err := workflow.Await(ctx, func() bool { return r.revoked || r.suspended }); err != nil {
			return r.status, err
		}
		return r.finish(ctx, r.ending())
	}
	length := r.in.GrantedRunLength
	if length <= 0 {
		length = DefaultGrantedRunLength
	}
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	timer := workflow.NewTimer(timerCtx, length)
	runOver := false
	workflow.Go(ctx, func(ctx workflow.Context) { runOver = timer.Get(ctx, nil) == nil })
	err := workflow.Await(ctx, func() bool {
		return r.revoked || r.suspended || (runOver || workflow.GetInfo(ctx).GetContinueAsNewSuggested()) && workflow.AllHandlersFinished(ctx)
	})
	if err != nil {
		return r.status, err
	}
	if r.revoked || r.suspended {
		cancelTimer()
		return r.finish(ctx, r.ending())
	}
	next := r.in
	next.Granted = true
	return r.status, workflow.NewContinueAsNewError(ctx, ReadingAccessWorkflow, next)
}

// ending is how granted access ends: a suspension outranks a revocation asked at the same time.
func (r *readingAccess) ending() access.Status {
	if r.suspended {
		return access.Suspended
	}
	return access.Revoked
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
