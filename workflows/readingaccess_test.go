package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"digitalpost/activities"
	"digitalpost/internal/access"
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

func (at *accessTest) run(t *testing.T) access.Status {
	t.Helper()
	at.env.ExecuteWorkflow(ReadingAccessWorkflow, ReadingAccessInput{GrantID: uuid.New(), ResponseDeadline: 14 * 24 * time.Hour})
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
	at.update(24*time.Hour, RespondUpdate, Response{Accept: true})
	at.update(40*24*time.Hour, RevokeUpdate)
	if st := at.run(t); st != access.Revoked {
		t.Fatalf("final %s", st)
	}
	if len(at.recorded) != 2 || at.recorded[0] != access.Granted || at.recorded[1] != access.Revoked {
		t.Fatalf("recorded %v, want granted then revoked", at.recorded)
	}
}

func TestReadingAccessDeclined(t *testing.T) {
	at := newAccessTest()
	at.update(time.Hour, RespondUpdate, Response{Accept: false})
	if st := at.run(t); st != access.Declined || len(at.recorded) != 1 {
		t.Fatalf("final %s recorded %v", st, at.recorded)
	}
}

func TestUnansweredRequestExpiresAfter14Days(t *testing.T) {
	at := newAccessTest()
	at.update(15*24*time.Hour, RespondUpdate, Response{Accept: true}) // too late: the workflow has ended
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
	at.update(time.Hour, RevokeUpdate)
	at.update(2*time.Hour, RespondUpdate, Response{Accept: false})
	at.update(2*time.Hour, RespondUpdate, Response{Accept: true})
	at.run(t)
	if len(at.rejections) != 2 || at.rejections[0] != "reading access is not granted, so there is nothing to revoke" {
		t.Fatalf("rejections %q", at.rejections)
	}
}
