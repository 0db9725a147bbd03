package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/testenv"
	"digitalpost/workflows"
)

// childCPR is a ten-year-old's on any day the tests run (a fixed number ages out).
var childCPR = testenv.CPRAged(10, 678)

const exemptCPR = "050545-1678"

func wantFields(t *testing.T, what string, err error, field, words string) {
	t.Helper()
	if !contains(fielderr.Fields(err), field) || !strings.Contains(err.Error(), words) {
		t.Fatalf("%s: %v, want a refusal on %q saying %q", what, err, field, words)
	}
}

func grantStatus(t *testing.T, s *testenv.System, id string, want access.Status) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, "reading access "+string(want), func() bool {
		var st string
		err := s.DB.QueryRow(context.Background(), `SELECT status FROM reading_access WHERE id = $1`, id).Scan(&st)
		return err == nil && st == string(want)
	})
}

func TestReadingAccessNeedsAnAbleDelegateAndEndsWithTheExemption(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	seedMunicipality(t, s)
	ctx := context.Background()
	for _, c := range []registry.NewCitizen{
		{CPR: childCPR, Name: "Freja Christensen", Address: "Skolevej 6\n8000 Aarhus C"},
		{CPR: exemptCPR, Name: "Erik Andersen", Address: "Havnegade 5\n8000 Aarhus C", Exempt: true},
	} {
		if _, err := s.Registry.AddCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Desk.RequestReadingAccess(ctx, childCPR, annaCPR)
	wantFields(t, "a child as delegate", err, "delegate", "15 or older")
	_, err = s.Desk.RequestReadingAccess(ctx, exemptCPR, annaCPR)
	wantFields(t, "an exempt delegate", err, "delegate", "exempt")
	_, err = s.Desk.GrantReadingAccess(ctx, " ", boCPR, annaCPR)
	wantFields(t, "a grant without a caseworker", err, "by-caseworker", "caseworker")
	var rows int
	if err := s.DB.QueryRow(ctx, `SELECT count(*) FROM reading_access`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d reading access rows after refusals (%v)", rows, err)
	}

	// Recorded at the citizen service: granted at once, and the delegate reads.
	grant, err := s.Desk.GrantReadingAccess(ctx, "cw1", boCPR, annaCPR)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR, Subject: "Svar", Body: "Tekst"})
	if err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, first.LetterID, letters.Notified)
	if _, err := s.PostOffice.Open(ctx, first.LetterID, boCPR); err != nil {
		t.Fatalf("delegate with access recorded by a caseworker: %v", err)
	}

	// Anna becomes exempt: the grant is suspended, in PostgreSQL and in its workflow.
	caseID, err := s.Desk.Apply(ctx, borgerservice.Application{CitizenCPR: annaCPR, Grounds: []string{"no-mitid"},
		MunicipalityID: "aarhus-kommune", Caseworker: "cw1"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s.Desk.Decide(ctx, caseID, workflows.Decision{Approve: true, Caseworker: "cw1"}); err != nil || st.Status != exemption.Approved {
		t.Fatalf("decision %+v %v", st, err)
	}
	grantStatus(t, s, grant.String(), access.Suspended)
	var final access.Status
	if err := s.Temporal.GetWorkflow(ctx, access.WorkflowID(grant), "").Get(ctx, &final); err != nil || final != access.Suspended {
		t.Fatalf("grant workflow ended %s %v, want suspended", final, err)
	}

	// Re-enrolment does not bring it back: the delegate needs new consent.
	if _, err := s.Desk.Enrol(ctx, annaCPR); err != nil {
		t.Fatal(err)
	}
	later, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR, Subject: "Senere", Body: "Tekst"})
	if err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, later.LetterID, letters.Notified)
	if _, err := s.PostOffice.Open(ctx, later.LetterID, boCPR); err == nil || !strings.Contains(err.Error(), "may not read this mailbox") {
		t.Fatalf("delegate after re-enrolment: %v, want no access", err)
	}
	if _, err := s.Desk.RequestReadingAccess(ctx, boCPR, annaCPR); err != nil {
		t.Fatalf("a new request after re-enrolment: %v", err)
	}
}

func TestLifeEventsFollowTheLetters(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	yesterday := time.Now().AddDate(0, 0, -1).UTC().Truncate(24 * time.Hour)

	// Contact details change with the registration rules; a refusal changes nothing.
	_, err := s.Desk.UpdateContact(ctx, annaCPR, registry.ContactChange{Email: ptr("anna@localhost"), Mobile: ptr("+4520000009")})
	wantFields(t, "a bad e-mail", err, "email", "dot")
	if a, _ := s.Registry.CitizenByCPR(ctx, mustCPR(annaCPR)); a.Mobile != "+4520000001" {
		t.Fatalf("a refused update changed the mobile to %s", a.Mobile)
	}
	if a, err := s.Desk.UpdateContact(ctx, annaCPR, registry.ContactChange{Email: ptr(""), Mobile: ptr("20 00 00 09")}); err != nil ||
		a.Email != "" || a.Mobile != "+4520000009" {
		t.Fatalf("update: %+v %v", a, err)
	}

	// A letter waiting in Anna's mailbox when she dies ends failed, unprinted, at its deadline.
	waiting, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR,
		Subject: "Indkaldelse", Body: "Tekst", Deadline: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, waiting.LetterID, letters.Notified)
	_, err = s.Desk.RecordDeath(ctx, annaCPR, time.Now().AddDate(0, 0, 2))
	wantFields(t, "a death in the future", err, "on", "future")
	if _, err := s.Desk.RecordDeath(ctx, annaCPR, yesterday); err != nil {
		t.Fatal(err)
	}
	_, err = s.Desk.RecordDeath(ctx, annaCPR, yesterday)
	wantFields(t, "a second death", err, "cpr", "already recorded as deceased")
	if _, err := waitForResult(t, s, waiting.LetterID); err == nil {
		t.Fatal("the letter to a deceased citizen completed")
	}
	l, _ := s.Letters.Get(ctx, waiting.LetterID)
	if l.Status != letters.Failed || !strings.Contains(l.FailureReason, "has died") {
		t.Fatalf("letter to the deceased: %s %q", l.Status, l.FailureReason)
	}
	if jobs, _ := s.PrintJobs.ForLetter(ctx, waiting.LetterID); len(jobs) != 0 {
		t.Fatalf("%d print jobs for a deceased recipient", len(jobs))
	}
	if _, err := s.Mailbox.Entry(ctx, waiting.LetterID); err != nil {
		t.Fatalf("the deceased citizen's mailbox lost the letter: %v", err)
	}
	_, err = s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR, Subject: "Ny", Body: "Tekst", MessageID: "after-death"})
	wantFields(t, "a letter to the deceased", err, "to", "has died")
	if _, err := s.Letters.BySenderMessage(ctx, "region-midt", "after-death"); err == nil {
		t.Fatal("a refused letter was stored")
	}

	// Bo emigrates: emigration does not end digital post (issue 26, item 4). His letters stay
	// digital, foreign address or not; a physical-only letter needs one, and goes abroad.
	if _, err := s.Desk.RecordEmigration(ctx, boCPR, yesterday, ""); err != nil {
		t.Fatal(err)
	}
	digitalAbroad, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: boCPR, Subject: "Ny", Body: "Tekst"})
	if err != nil {
		t.Fatalf("a digital letter to an emigrated citizen: %v", err)
	}
	waitForStatus(t, s, digitalAbroad.LetterID, letters.Delivered)
	_, err = s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: boCPR, Subject: "Prøveglas", Body: "Tekst", PhysicalOnly: true})
	wantFields(t, "a physical-only letter to an emigrant without address", err, "to", "no foreign address")
	if _, err := s.Desk.RecordEmigration(ctx, boCPR, yesterday, "Storgatan 1\n111 22 Stockholm\nSverige"); err != nil {
		t.Fatal(err)
	}
	abroad, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: boCPR, Subject: "Udland", Body: "Tekst", PhysicalOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := waitForResult(t, s, abroad.LetterID); err != nil || res.Status != letters.Printed || res.Channel != letters.Paper {
		t.Fatalf("letter abroad %s/%s %v", res.Status, res.Channel, err)
	}
	// Exempt on the ground of emigration: paper abroad, until he moves back.
	seedMunicipality(t, s)
	caseID, err := s.Desk.Apply(ctx, borgerservice.Application{CitizenCPR: boCPR, Grounds: []string{"emigrated"}, MunicipalityID: "aarhus-kommune", Caseworker: "cw1"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s.Desk.Decide(ctx, caseID, workflows.Decision{Approve: true, Caseworker: "cw1"}); err != nil || st.Status != exemption.Approved {
		t.Fatalf("decision %+v %v", st, err)
	}
	_, err = s.Desk.RecordMoveIn(ctx, boCPR, yesterday.AddDate(0, 0, -7), "Nørregade 2\n8000 Aarhus C")
	wantFields(t, "a move back before the emigration", err, "on", "before the emigration")
	if _, err := s.Desk.RecordMoveIn(ctx, boCPR, yesterday, "Nørregade 2\n8000 Aarhus C"); err != nil {
		t.Fatal(err)
	}
	// Home again: the exemption granted only for emigration has ended, and post is digital.
	if bo, err := s.Registry.CitizenByCPR(ctx, mustCPR(boCPR)); err != nil || bo.Enrolment == registry.Exempt {
		t.Fatalf("after moving back Bo is %s (%v), want enrolled", bo.Enrolment, err)
	}
	home, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: boCPR, Subject: "Hjemme", Body: "Tekst"})
	if err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, home.LetterID, letters.Delivered)
}

func ptr(s string) *string { return &s }
