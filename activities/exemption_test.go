package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"digitalpost/activities"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/registry"
)

func (f *fixture) openCase(t *testing.T) exemption.Case {
	t.Helper()
	ctx := context.Background()
	_, citizen := f.letterTo(t, anna)
	if err := f.acts.Registry.AddSender(ctx, registry.Sender{ID: "aarhus-kommune", Organisation: "Aarhus Kommune"}); err != nil {
		t.Fatal(err)
	}
	c := exemption.Case{ID: uuid.New(), CitizenID: citizen.ID, MunicipalityID: "aarhus-kommune",
		Grounds: []exemption.Ground{"no-computer"}, Status: exemption.AwaitingDecision, ServiceDeadline: time.Now().Add(time.Hour)}
	if err := f.acts.Cases.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestApprovalMakesTheCitizenExemptSuspendsReadingAccessAndReEnrolmentDoesNotRevive(t *testing.T) {
	f := newFixture(t)
	c := f.openCase(t)
	ctx := context.Background()
	delegate, err := f.acts.Registry.AddCitizen(ctx, registry.NewCitizen{CPR: "020275-2345", Name: "Bo Nielsen"})
	if err != nil {
		t.Fatal(err)
	}
	grant := access.Grant{ID: uuid.New(), CitizenID: c.CitizenID, DelegateID: delegate.ID, Status: access.Granted,
		RespondBy: time.Now(), GrantedBy: "cw-1"}
	if err := f.acts.Access.Create(ctx, grant); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.acts.Access.MayRead(ctx, c.CitizenID, delegate.ID); err != nil || !ok {
		t.Fatalf("before the exemption the delegate may read: %v %v", ok, err)
	}
	if err := f.acts.ApplyExemption(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if g, _ := f.acts.Access.Get(ctx, grant.ID); g.Status != access.Suspended {
		t.Fatalf("grant after the exemption: %s, want suspended", g.Status)
	}
	if want := access.WorkflowID(grant.ID) + " " + access.SuspendSignal; len(f.signalled.sent) != 1 || f.signalled.sent[0] != want {
		t.Fatalf("signalled %v, want %q", f.signalled.sent, want)
	}
	// The workflow, told late, records the grant it decided before: suspension stays.
	if err := f.acts.RecordReadingAccess(ctx, activities.ReadingAccessOutcome{GrantID: grant.ID, Status: access.Granted}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.acts.Registry.Citizen(ctx, c.CitizenID)
	if got.Enrolment != registry.Exempt || !got.ExemptFromSelfService {
		t.Fatalf("after approval: %s, self-service %v", got.Enrolment, got.ExemptFromSelfService)
	}
	if err := f.acts.Registry.Enrol(ctx, c.CitizenID); err != nil {
		t.Fatal(err)
	}
	got, _ = f.acts.Registry.Citizen(ctx, c.CitizenID)
	if got.Enrolment != registry.Enrolled || got.ExemptFromSelfService {
		t.Fatalf("after re-enrolment: %s, self-service %v", got.Enrolment, got.ExemptFromSelfService)
	}
	if ok, err := f.acts.Access.MayRead(ctx, c.CitizenID, delegate.ID); err != nil || ok {
		t.Fatalf("re-enrolment revived reading access given before the exemption: %v %v", ok, err)
	}
	if err := f.acts.Registry.Enrol(ctx, c.CitizenID); !errors.Is(err, registry.ErrNotExempt) {
		t.Fatalf("enrolling an enrolled citizen: %v", err)
	}
}

func TestRetriedDecisionLetterIsStoredOnce(t *testing.T) {
	f := newFixture(t)
	c := f.openCase(t)
	req := activities.DecisionLetterRequest{CaseID: c.ID, Approved: false, Reason: "kan bruge Digital Post"}
	first, err := f.acts.PrepareDecisionLetter(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.acts.PrepareDecisionLetter(context.Background(), req)
	if err != nil || second.LetterID != first.LetterID || first.SenderID != "aarhus-kommune" {
		t.Fatalf("first %+v second %+v %v", first, second, err)
	}
	l, _ := f.acts.Letters.Get(context.Background(), first.LetterID)
	if l.RecipientID == nil || *l.RecipientID != c.CitizenID || l.Subject != "Afgørelse om fritagelse for Digital Post" {
		t.Fatalf("decision letter %+v", l)
	}
	stored, _ := f.acts.Cases.Get(context.Background(), c.ID)
	if stored.DecisionLetterID == nil || *stored.DecisionLetterID != first.LetterID {
		t.Fatal("case does not link its decision letter")
	}
}

func TestReminderIsRaisedOnceAndMarksTheCaseOverdue(t *testing.T) {
	f := newFixture(t)
	c := f.openCase(t)
	ctx := context.Background()
	for range 2 { // a retried activity
		if err := f.acts.RaiseReminder(ctx, activities.ReminderRequest{CaseID: c.ID, Number: 1}); err != nil {
			t.Fatal(err)
		}
	}
	n, _ := f.acts.Cases.Reminders(ctx, c.ID)
	overdue, _ := f.acts.Cases.List(ctx, exemption.Filter{OverdueOnly: true})
	if n != 1 || len(overdue) != 1 || overdue[0].ID != c.ID {
		t.Fatalf("reminders %d, overdue list %d", n, len(overdue))
	}
}
