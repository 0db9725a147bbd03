package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"digitalpost/activities"
	"digitalpost/internal/domain/access"
)

type accessTest struct {
	env        *testsuite.TestWorkflowEnvironment
	recorded   []access.Status
	rejections []string
}

func newAccessTest() *accessTest {
	var suite testsuite.WorkflowTestSuite
	at := &accessTest{env: suite.NewTestWorkflowEnvironment()}
	at.env.RegisterActivity(&activities.Activities{})
	at.env.OnActivity(acts.RecordReadingAccess, mock.Anything, mock.Anything).Return(
		func(_ context.Context, o activities.ReadingAccessOutcome) error {
			at.recorded = append(at.recorded, o.Status)
			return nil
		})
	return at
}

func (at *accessTest) update(d time.Duration, name string, args ...any) {
	at.env.RegisterDelayedCallback(func() {
		at.env.UpdateWorkflow(name, uuid.NewString(), &testsuite.TestUpdateCallback{
			OnReject: func(err error) { at.rejections = append(at.rejections, err.Error()) },
			OnAccept: func() {}, OnComplete: func(any, error) {},
		}, args...)
	}, d)
}

// grantor is whose mailbox the requests are for, reader the delegate who asked.
var grantor, reader = uuid.New(), uuid.New()

// queryAt reads the request's status after d into st.
func (at *accessTest) queryAt(t *testing.T, d time.Duration, st *access.Status) {
	at.env.RegisterDelayedCallback(func() {
		v, err := at.env.QueryWorkflow(ReadingAccessQuery)
		if err == nil {
			err = v.Get(st)
		}
		if err != nil {
			t.Error(err)
		}
	}, d)
}

func (at *accessTest) run(t *testing.T) access.Status {
	t.Helper()
	return at.runWith(t, ReadingAccessInput{GrantID: uuid.New(), Citizen: grantor, Delegate: reader, ResponseDeadline: 14 * 24 * time.Hour})
}

func (at *accessTest) runWith(t *testing.T, in ReadingAccessInput) access.Status {
	t.Helper()
	at.env.ExecuteWorkflow(ReadingAccessWorkflow, in)
	if !at.env.IsWorkflowCompleted() {
		t.Fatal("did not complete")
	}
	var st access.Status
	if err := at.env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestReadingAccessAcceptedThenRevoked(t *testing.T) {
	at := newAccessTest()
	at.update(24*time.Hour, RespondUpdate, Response{Accept: true, By: grantor})
	at.update(20*24*time.Hour, RevokeUpdate, Revocation{By: grantor}) // within the first run of granted access
	if st := at.run(t); st != access.Revoked {
		t.Fatalf("final %s", st)
	}
	if len(at.recorded) != 2 || at.recorded[0] != access.Granted || at.recorded[1] != access.Revoked {
		t.Fatalf("recorded %v, want granted then revoked", at.recorded)
	}
}

func TestReadingAccessDeclined(t *testing.T) {
	at := newAccessTest()
	at.update(time.Hour, RespondUpdate, Response{Accept: false, By: grantor})
	if st := at.run(t); st != access.Declined || len(at.recorded) != 1 {
		t.Fatalf("final %s recorded %v", st, at.recorded)
	}
}

func TestUnansweredRequestExpiresAfter14Days(t *testing.T) {
	at := newAccessTest()
	at.update(15*24*time.Hour, RespondUpdate, Response{Accept: true, By: grantor}) // too late: the workflow has ended
	start := at.env.Now()
	if st := at.run(t); st != access.Expired {
		t.Fatalf("final %s", st)
	}
	if waited := at.env.Now().Sub(start); waited < 14*24*time.Hour {
		t.Fatalf("expired after %s", waited)
	}
}

func TestRevokingWhatWasNeverGrantedIsRejected(t *testing.T) {
	at := newAccessTest()
	at.update(time.Hour, RevokeUpdate, Revocation{By: grantor})
	at.update(2*time.Hour, RespondUpdate, Response{Accept: false, By: grantor})
	at.update(2*time.Hour, RespondUpdate, Response{Accept: true, By: grantor})
	at.run(t)
	if len(at.rejections) != 2 || at.rejections[0] != "reading access is not granted, so there is nothing to revoke" {
		t.Fatalf("rejections %q", at.rejections)
	}
}

func TestGrantedAccessContinuesAsNewAndIsRevokedInTheNextRun(t *testing.T) {
	in := ReadingAccessInput{GrantID: uuid.New(), Citizen: grantor, Delegate: reader, ResponseDeadline: 14 * 24 * time.Hour}
	at := newAccessTest()
	at.update(24*time.Hour, RespondUpdate, Response{Accept: true, By: grantor})
	start := at.env.Now()
	at.env.ExecuteWorkflow(ReadingAccessWorkflow, in)
	next := continuedInput[ReadingAccessInput](t, at.env)
	if ran := at.env.Now().Sub(start); ran != 24*time.Hour+DefaultGrantedRunLength {
		t.Fatalf("the run lasted %s, want a day and then %s granted", ran, DefaultGrantedRunLength)
	}
	if next.GrantID != in.GrantID || next.Citizen != grantor || next.Delegate != reader || !next.Granted || len(at.recorded) != 1 || at.recorded[0] != access.Granted {
		t.Fatalf("next input %+v, recorded %v", next, at.recorded)
	}

	// The next run is granted from the start: the query says so, a respond is turned away
	// and revoke works, with nothing recorded twice.
	at = newAccessTest()
	var queried access.Status
	at.queryAt(t, time.Hour, &queried)
	at.update(2*time.Hour, RespondUpdate, Response{Accept: true, By: grantor})
	at.update(3*time.Hour, RevokeUpdate, Revocation{By: grantor})
	if st := at.runWith(t, next); st != access.Revoked || queried != access.Granted {
		t.Fatalf("final %s, queried %s", st, queried)
	}
	if len(at.recorded) != 1 || at.recorded[0] != access.Revoked || len(at.rejections) != 1 || at.rejections[0] != "the request is no longer open (granted)" {
		t.Fatalf("recorded %v rejections %q", at.recorded, at.rejections)
	}
}

func TestGrantedAccessContinuesAsNewEveryRunLength(t *testing.T) {
	at := newAccessTest()
	in := ReadingAccessInput{GrantID: uuid.New(), ResponseDeadline: time.Hour, GrantedRunLength: 7 * 24 * time.Hour, Granted: true}
	start := at.env.Now()
	at.env.ExecuteWorkflow(ReadingAccessWorkflow, in)
	next := continuedInput[ReadingAccessInput](t, at.env)
	if ran := at.env.Now().Sub(start); ran != in.GrantedRunLength || next != in || len(at.recorded) != 0 {
		t.Fatalf("ran %s, next %+v, recorded %v", ran, next, at.recorded)
	}
}

func TestReadingAccessSuspendedWhilePending(t *testing.T) {
	at := newAccessTest()
	at.env.RegisterDelayedCallback(func() { at.env.SignalWorkflow(access.SuspendSignal, access.Suspension{Party: grantor}) }, time.Hour)
	if st := at.run(t); st != access.Suspended {
		t.Fatalf("final %s, want suspended", st)
	}
	if len(at.recorded) != 1 || at.recorded[0] != access.Suspended {
		t.Fatalf("recorded %v, want only suspended", at.recorded)
	}
}

func TestReadingAccessGrantedThenSuspended(t *testing.T) {
	at := newAccessTest()
	// A caseworker-recorded grant starts granted; the suspension comes before the run ends.
	at.env.RegisterDelayedCallback(func() { at.env.SignalWorkflow(access.SuspendSignal, access.Suspension{Party: grantor}) }, 10*24*time.Hour)
	st := at.runWith(t, ReadingAccessInput{GrantID: uuid.New(), Citizen: grantor, Delegate: reader, Granted: true, GrantedRunLength: 30 * 24 * time.Hour})
	if st != access.Suspended {
		t.Fatalf("final %s, want suspended", st)
	}
	if len(at.recorded) != 1 || at.recorded[0] != access.Suspended {
		t.Fatalf("recorded %v, want only suspended", at.recorded)
	}
}

// An answer or a revocation that names somebody else than the parties, or nobody, is what a
// payload forged or copied into Temporal would carry: the request turns it away.
func TestOnlyTheCitizenAnswersAndOnlyThePartiesRevoke(t *testing.T) {
	stranger := uuid.New()
	at := newAccessTest()
	at.update(time.Hour, RespondUpdate, Response{Accept: true, By: stranger})
	at.update(time.Hour, RespondUpdate, Response{Accept: true, By: reader})
	at.update(time.Hour, RespondUpdate, Response{Accept: true})
	at.update(2*time.Hour, RespondUpdate, Response{Accept: true, By: grantor})
	at.update(3*time.Hour, RevokeUpdate, Revocation{By: stranger})
	at.update(3*time.Hour, RevokeUpdate, Revocation{})
	at.update(4*time.Hour, RevokeUpdate, Revocation{By: reader})
	if st := at.run(t); st != access.Revoked {
		t.Fatalf("final %s, want revoked by the delegate", st)
	}
	want := []string{
		"only the citizen whose mailbox it is can answer the request",
		"only the citizen whose mailbox it is can answer the request",
		"only the citizen whose mailbox it is can answer the request",
		"only the citizen or the delegate can revoke reading access",
		"only the citizen or the delegate can revoke reading access",
	}
	if len(at.rejections) != len(want) {
		t.Fatalf("rejections %q", at.rejections)
	}
	for i := range want {
		if at.rejections[i] != want[i] {
			t.Fatalf("rejection %d: %q, want %q", i, at.rejections[i], want[i])
		}
	}
	if len(at.recorded) != 2 || at.recorded[0] != access.Granted || at.recorded[1] != access.Revoked {
		t.Fatalf("recorded %v", at.recorded)
	}
}

// A suspension that names neither party, or nobody (a signal sent from outside with no payload),
// ends nothing; the delegate's own exemption does.
func TestOnlyAPartysRegistryChangeSuspends(t *testing.T) {
	at := newAccessTest()
	at.update(time.Hour, RespondUpdate, Response{Accept: true, By: grantor})
	at.env.RegisterDelayedCallback(func() { at.env.SignalWorkflow(access.SuspendSignal, access.Suspension{Party: uuid.New()}) }, 2*time.Hour)
	at.env.RegisterDelayedCallback(func() { at.env.SignalWorkflow(access.SuspendSignal, nil) }, 3*time.Hour)
	var afterForged access.Status
	at.queryAt(t, 4*time.Hour, &afterForged)
	at.env.RegisterDelayedCallback(func() { at.env.SignalWorkflow(access.SuspendSignal, access.Suspension{Party: reader}) }, 5*time.Hour)
	start := at.env.Now()
	if st := at.run(t); st != access.Suspended || afterForged != access.Granted {
		t.Fatalf("final %s, after the forged suspensions %s", st, afterForged)
	}
	if took := at.env.Now().Sub(start); took != 5*time.Hour {
		t.Fatalf("suspended after %s, want at the delegate's own change (5h)", took)
	}
}
