package workflows

import (
	"digitalpost/internal/infra/codec"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/domain/access"
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

// suspensionNamesParty: a suspension signal counts only when it names one of the request's
// parties; requests started before read no payload and take any.
const suspensionNamesParty = "reading-access-suspension-names-party"

// grantedContinueAsNew names the change that bounded granted access's runs; access granted
// before it waits in its one run, with no timer, and must keep doing so to replay.
const grantedContinueAsNew = "reading-access-continue-as-new"

// ReadingAccessInput starts a request. The parties travel as the registry's ids, never as CPR
// numbers, so the request can tell who may answer and revoke it.
type ReadingAccessInput struct {
	GrantID uuid.UUID
	// Citizen is whose mailbox it is, Delegate who asked to read it. Nil in requests made before
	// they were carried: there any citizen's answer is taken, as it was then.
	Citizen, Delegate uuid.UUID
	ResponseDeadline  time.Duration // the citizen must answer within this, or the request expires
	// GrantedRunLength: how long one run waits for revocation before continuing as new; zero
	// means DefaultGrantedRunLength.
	GrantedRunLength time.Duration
	// Granted: access was granted in an earlier run; this run only waits for revocation.
	Granted bool
}

// Response is the citizen's answer to a request, and who gave it.
type Response struct {
	codec.Binding // refused when sealed for no workflow (validators)
	Accept        bool
	By            uuid.UUID // the signed-in citizen who answered
}

// Revocation ends granted access; By is the citizen or the delegate who ended it.
type Revocation struct {
	By uuid.UUID
	codec.Binding
}

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
	suspensions := workflow.GetSignalChannel(ctx, access.SuspendSignal)
	if workflow.GetVersion(ctx, suspensionNamesParty, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		workflow.Go(ctx, func(ctx workflow.Context) {
			suspensions.Receive(ctx, nil)
			r.suspended = true
		})
	} else {
		// The payload is read, so the codec refuses one no Digital Post process sealed for this
		// request, and only a party's registry change suspends it.
		workflow.Go(ctx, func(ctx workflow.Context) {
			for !r.suspended {
				var s access.Suspension
				suspensions.Receive(ctx, &s)
				r.suspended = r.isCitizen(s.Party) || r.isDelegate(s.Party)
			}
		})
	}
	if err := workflow.SetQueryHandler(ctx, ReadingAccessQuery, func() (access.Status, error) { return r.status, nil }); err != nil {
		return err
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, RespondUpdate,
		func(ctx workflow.Context, resp Response) (access.Status, error) {
			r.response = &resp
			err := workflow.Await(ctx, func() bool { return r.status != access.Requested })
			return r.status, err
		},
		workflow.UpdateHandlerOptions{Validator: func(resp Response) error {
			switch {
			case resp.Unbound():
				return errUnboundAct
			case !r.isCitizen(resp.By):
				return errors.New("only the citizen whose mailbox it is can answer the request")
			case r.status != access.Requested || r.response != nil || r.suspended:
				return fmt.Errorf("the request is no longer open (%s)", r.status)
			}
			return nil
		}})
	if err != nil {
		return err
	}
	// Revocations from before they named who revoked carry no argument: replayed, By is nil,
	// and validators are not run again.
	return workflow.SetUpdateHandlerWithOptions(ctx, RevokeUpdate,
		func(ctx workflow.Context, _ Revocation) (access.Status, error) {
			r.revoked = true
			err := workflow.Await(ctx, func() bool { return r.status != access.Granted })
			return r.status, err
		},
		workflow.UpdateHandlerOptions{Validator: func(rev Revocation) error {
			switch {
			case rev.Unbound():
				return errUnboundAct
			case !r.isCitizen(rev.By) && !r.isDelegate(rev.By):
				return errors.New("only the citizen or the delegate can revoke reading access")
			case r.status != access.Granted || r.revoked || r.suspended:
				return errors.New("reading access is not granted, so there is nothing to revoke")
			}
			return nil
		}})
}

// isCitizen tells whether who is the citizen whose mailbox it is. Requests from before the
// parties were carried know only that somebody signed in acted.
func (r *readingAccess) isCitizen(who uuid.UUID) bool {
	return who != uuid.Nil && (r.in.Citizen == uuid.Nil || who == r.in.Citizen)
}

// isDelegate tells whether who is the delegate, as isCitizen does.
func (r *readingAccess) isDelegate(who uuid.UUID) bool {
	return who != uuid.Nil && (r.in.Delegate == uuid.Nil || who == r.in.Delegate)
}

func (r *readingAccess) run(ctx workflow.Context) (access.Status, error) {
	// A goroutine per timer, not a condition over the timer: the suspension signal is received
	// by a goroutine of its own (setup), and a timer firing in the same task as a suspension
	// must let that goroutine run before the wait decides; the recorded histories depend on it.
	expired := false
	workflow.SetCurrentDetails(ctx, "Requested: waiting for the citizen to answer.")
	timer := workflow.NewTimerWithOptions(ctx, r.in.ResponseDeadline, workflow.TimerOptions{Summary: timerAnswerDeadline})
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
	workflow.SetCurrentDetails(ctx, "Granted: the delegate reads the citizen's post until either revokes it.")
	timer := workflow.NewTimerWithOptions(timerCtx, length, workflow.TimerOptions{Summary: timerGrantedRun})
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
