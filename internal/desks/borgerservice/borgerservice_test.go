package borgerservice_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/testenv"
	"digitalpost/workflows"
)

// The citizen service's desk against a real PostgreSQL and Temporal: what a caseworker at the
// counter does, and what the desk refuses before anything is written.

var (
	citizenCPR  = testenv.CPRAged(40, 1)
	delegateCPR = testenv.CPRAged(45, 2)
)

func desk(t *testing.T) (*testenv.System, registry.Citizen) {
	t.Helper()
	s := testenv.StartSystem(t)
	ctx := context.Background()
	if err := s.Registry.AddSender(ctx, registry.Sender{ID: "aarhus-kommune", Organisation: "Aarhus Kommune",
		ProducingUnit: "Borgerservice", ReturnAddress: "Rådhuspladsen 2\n8000 Aarhus C"}); err != nil {
		t.Fatal(err)
	}
	citizen, err := s.Registry.AddCitizen(ctx, registry.NewCitizen{CPR: citizenCPR, Name: "Karen Holm", Address: "Vestergade 1\n8000 Aarhus C"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Registry.AddCitizen(ctx, registry.NewCitizen{CPR: delegateCPR, Name: "Lars Holm", Address: "Vestergade 1\n8000 Aarhus C"}); err != nil {
		t.Fatal(err)
	}
	return s, citizen
}

func TestAnApplicationWithBadInputNamesEachFieldAndOpensNoCase(t *testing.T) {
	t.Parallel()
	s, citizen := desk(t)
	_, err := s.Desk.Apply(context.Background(), borgerservice.Application{CitizenCPR: citizenCPR,
		Grounds: []string{"bored-of-mail"}, MunicipalityID: "nowhere", Caseworker: "cw1", RepresentativeCPR: delegateCPR})
	named := map[string]bool{}
	for _, f := range fielderr.Fields(err) {
		named[f] = true
	}
	for _, field := range []string{"grounds", "municipality", "representative-name"} {
		if !named[field] {
			t.Errorf("refusal %v does not name %s", err, field)
		}
	}
	if _, open, err := s.Cases.OpenFor(context.Background(), citizen.ID); err != nil || open {
		t.Fatalf("a case was opened for a refused application (open %v, %v)", open, err)
	}
}

func TestAnApprovedApplicationExemptsTheCitizenAndASecondIsRefused(t *testing.T) {
	t.Parallel()
	s, citizen := desk(t)
	ctx := context.Background()
	caseID, err := s.Desk.Apply(ctx, borgerservice.Application{CitizenCPR: citizenCPR, Grounds: []string{"no-mitid"},
		MunicipalityID: "aarhus-kommune", Caseworker: "cw1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Desk.Apply(ctx, borgerservice.Application{CitizenCPR: citizenCPR, Grounds: []string{"no-mitid"},
		MunicipalityID: "aarhus-kommune", Caseworker: "cw2"}); err == nil {
		t.Fatal("a second application while the first is open was taken")
	}
	queue, err := s.Desk.Queue(ctx)
	if err != nil || len(queue) != 1 || queue[0].ID != caseID || queue[0].CitizenName != "Karen Holm" {
		t.Fatalf("the caseworkers' queue is %+v (%v), want the open case with the citizen's name", queue, err)
	}
	st, err := s.Desk.Decide(ctx, caseID, workflows.Decision{Approve: true, Caseworker: "cw1"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != exemption.Approved {
		t.Fatalf("case %s after approval, want approved", st.Status)
	}
	testenv.Eventually(t, 20*time.Second, "the citizen exempt in the registry", func() bool {
		c, err := s.Registry.Citizen(ctx, citizen.ID)
		return err == nil && c.Enrolment == registry.Exempt
	})
}

func TestOnlyTheCitizenAnswersAReadingAccessRequestAndEitherRevokesIt(t *testing.T) {
	t.Parallel()
	s, _ := desk(t)
	ctx := context.Background()
	id, err := s.Desk.RequestReadingAccess(ctx, delegateCPR, citizenCPR)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Desk.RespondReadingAccess(ctx, id, delegateCPR, true); err == nil {
		t.Fatal("the delegate granted themselves reading access")
	}
	citizen, delegate := citizenByCPR(t, s, citizenCPR), citizenByCPR(t, s, delegateCPR)
	if sharing, err := s.Desk.SharingOf(ctx, citizen.ID); err != nil || len(sharing.Pending) != 1 || len(sharing.Readers) != 0 {
		t.Fatalf("before the answer the citizen's sharing is %+v (%v), want one request pending", sharing, err)
	}
	status, err := s.Desk.RespondReadingAccess(ctx, id, citizenCPR, true)
	if err != nil || status != access.Granted {
		t.Fatalf("the citizen's yes: %s, %v", status, err)
	}
	testenv.Eventually(t, 20*time.Second, "the delegate reading the citizen's mailbox, both ways", func() bool {
		mine, err1 := s.Desk.SharingOf(ctx, citizen.ID)
		theirs, err2 := s.Desk.SharingOf(ctx, delegate.ID)
		return err1 == nil && err2 == nil && len(mine.Readers) == 1 && len(mine.Pending) == 0 &&
			len(theirs.SharedWith) == 1 && theirs.SharedWith[0].CitizenID == citizen.ID
	})
	if status, err = s.Desk.RevokeReadingAccess(ctx, id, delegateCPR); err != nil || status != access.Revoked {
		t.Fatalf("the delegate's revocation: %s, %v", status, err)
	}
}

func citizenByCPR(t *testing.T, s *testenv.System, number string) registry.Citizen {
	t.Helper()
	n, err := cpr.Parse(number)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Desk.CitizenByCPR(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The grounds are the rules' own (issue 26, item 3): lacking digital skills is a ground for an
// alternative to digital self-service, not for exemption; a citizen need not name a ground to
// apply, and the caseworker records it with the decision, which an approval needs.
func TestACitizenAppliesWithoutAGroundAndTheCaseworkerRecordsIt(t *testing.T) {
	t.Parallel()
	s, citizen := desk(t)
	ctx := context.Background()
	_, err := s.Desk.Apply(ctx, borgerservice.Application{CitizenCPR: citizenCPR, Grounds: []string{"lacking-digital-skills"},
		MunicipalityID: "aarhus-kommune", Caseworker: "cw1"})
	if rules := fielderr.Fields(err); len(rules) != 1 || rules[0] != "grounds" || !strings.Contains(err.Error(), "alternative to digital self-service") {
		t.Fatalf("an application on lacking digital skills: %v", err)
	}
	caseID, err := s.Desk.Apply(ctx, borgerservice.Application{CitizenCPR: citizenCPR, MunicipalityID: "aarhus-kommune", Caseworker: "cw1"})
	if err != nil {
		t.Fatalf("an application naming no ground: %v", err)
	}
	if _, err := s.Desk.Decide(ctx, caseID, workflows.Decision{Approve: true, Caseworker: "cw1"}); !slices.Contains(fielderr.Fields(err), "grounds") {
		t.Fatalf("an approval naming no ground: %v", err)
	}
	if _, err := s.Desk.Decide(ctx, caseID, workflows.Decision{Approve: true, Caseworker: "cw1", Grounds: []string{"socially-vulnerable"}}); !slices.Contains(fielderr.Fields(err), "grounds") {
		t.Fatalf("an approval on a retired ground: %v", err)
	}
	st, err := s.Desk.Decide(ctx, caseID, workflows.Decision{Approve: true, Caseworker: "cw1", Grounds: []string{"no-broadband"}})
	if err != nil || st.Status != exemption.Approved {
		t.Fatalf("an approval on no broadband: %+v %v", st, err)
	}
	c, err := s.Cases.Get(ctx, caseID)
	if err != nil || !slices.Equal(c.Grounds, []exemption.Ground{"no-broadband"}) {
		t.Fatalf("the case records grounds %v (%v)", c.Grounds, err)
	}
	testenv.Eventually(t, 20*time.Second, "the citizen exempt", func() bool {
		c, err := s.Registry.Citizen(ctx, citizen.ID)
		return err == nil && c.Enrolment == registry.Exempt
	})
}
