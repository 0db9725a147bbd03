package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"digitalpost/activities"
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

func seedMunicipality(t *testing.T, s *testenv.System) {
	t.Helper()
	if err := s.Registry.AddSender(context.Background(), registry.Sender{ID: "aarhus-kommune", Organisation: "Aarhus Kommune",
		ProducingUnit: "Borgerservice", ReturnAddress: "Rådhuspladsen 2\n8000 Aarhus C"}); err != nil {
		t.Fatal(err)
	}
}

func TestApprovedExemptionSendsTheNextLetterToPaper(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	seedMunicipality(t, s)
	ctx := context.Background()

	caseID, err := s.Desk.Apply(ctx, borgerservice.Application{CitizenCPR: annaCPR, Grounds: []string{"no-mitid"},
		MunicipalityID: "aarhus-kommune", Caseworker: "cw1", RepresentativeName: "Bo Nielsen", RepresentativeCPR: boCPR,
		PowerOfAttorney: letters.Document{Filename: "fuldmagt.pdf", Content: []byte("%PDF-1.4 signed")}})
	if err != nil {
		t.Fatal(err)
	}
	// Deciding before the proxy is verified is turned away with the reason.
	if _, err := s.Desk.Decide(ctx, caseID, workflows.Decision{Approve: true, Caseworker: "cw1"}); err == nil ||
		!strings.Contains(err.Error(), "power of attorney must be verified") {
		t.Fatalf("early decision: %v", err)
	}
	if _, err := s.Desk.VerifyProxy(ctx, caseID, workflows.ProxyVerification{Valid: true, Caseworker: "cw1"}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Desk.Decide(ctx, caseID, workflows.Decision{Approve: true, Caseworker: "cw1"})
	if err != nil || st.Status != exemption.Approved || st.DecisionLetterID == nil {
		t.Fatalf("decision %+v %v", st, err)
	}
	anna, _ := s.Registry.CitizenByCPR(ctx, mustCPR(annaCPR))
	if anna.Enrolment != registry.Exempt || !anna.ExemptFromSelfService {
		t.Fatalf("registry after approval: %s, self-service exempt %v", anna.Enrolment, anna.ExemptFromSelfService)
	}
	// The decision letter itself goes on paper: the citizen is now exempt.
	decision, err := waitForResult(t, s, *st.DecisionLetterID)
	if err != nil || decision.Status != letters.Printed {
		t.Fatalf("decision letter %s %v", decision.Status, err)
	}
	// Acting on the closed case is refused.
	if _, err := s.Desk.Decide(ctx, caseID, workflows.Decision{Approve: false, Reason: "x", Caseworker: "cw1"}); err == nil ||
		!strings.Contains(err.Error(), "closed") {
		t.Fatalf("decision on a closed case: %v", err)
	}

	next, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR, Subject: "Indkaldelse", Body: "Tekst"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := waitForResult(t, s, next.LetterID)
	if err != nil || res.Status != letters.Printed || res.Channel != letters.Paper {
		t.Fatalf("next letter %s/%s %v", res.Status, res.Channel, err)
	}
	if len(s.Twilio.Messages()) != 0 || len(s.SendGrid.Mails()) != 0 {
		t.Fatal("an exempt citizen was notified digitally")
	}
	// Exempt citizens cannot grant reading access until they re-enroll …
	_, err = s.Desk.RequestReadingAccess(ctx, boCPR, annaCPR)
	if !strings.Contains(err.Error(), "cannot grant reading access until they re-enroll") {
		t.Fatalf("reading access for an exempt citizen: %v", err)
	}
	// … and after re-enrolment, letters are digital again.
	if _, err := s.Desk.Enrol(ctx, annaCPR); err != nil {
		t.Fatal(err)
	}
	again, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR, Subject: "Efter tilmelding", Body: "Tekst"})
	if err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, again.LetterID, letters.Notified)
}

func TestDelegatesOpeningStopsEscalation(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()

	// Without reading access the delegate may not open the letter.
	r, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR,
		Subject: "Svar", Body: "Tekst", Deadline: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, r.LetterID, letters.Notified)
	if _, err := s.PostOffice.Open(ctx, r.LetterID, boCPR); err == nil || !strings.Contains(err.Error(), "may not read this mailbox") {
		t.Fatalf("open without access: %v", err)
	}

	grant, err := s.Desk.RequestReadingAccess(ctx, boCPR, annaCPR)
	if err != nil {
		t.Fatal(err)
	}
	// Only the citizen answers the request.
	var fe *fielderr.Error
	if _, err := s.Desk.RespondReadingAccess(ctx, grant, boCPR, true); !errors.As(err, &fe) || fe.Field != "as" {
		t.Fatalf("delegate accepting own request: %v", err)
	}
	if st, err := s.Desk.RespondReadingAccess(ctx, grant, annaCPR, true); err != nil || st != access.Granted {
		t.Fatalf("accept: %s %v", st, err)
	}
	entry, err := s.PostOffice.Open(ctx, r.LetterID, boCPR)
	if err != nil {
		t.Fatal(err)
	}
	bo, _ := s.Registry.CitizenByCPR(ctx, mustCPR(boCPR))
	if entry.OpenedBy == nil || *entry.OpenedBy != bo.ID {
		t.Fatalf("opened by %v, want the delegate", entry.OpenedBy)
	}
	res, err := waitForResult(t, s, r.LetterID)
	if err != nil || res.Status != letters.Opened {
		t.Fatalf("letter %s %v", res.Status, err)
	}
	if last := res.Timeline[len(res.Timeline)-1].Note; last != "opened by a delegate with reading access" {
		t.Fatalf("last timeline entry %q", last)
	}
	if jobs, _ := s.PrintJobs.ForLetter(ctx, r.LetterID); len(jobs) != 0 {
		t.Fatal("a letter opened by the delegate was printed")
	}

	// Revoked access ends the delegate's reading.
	if st, err := s.Desk.RevokeReadingAccess(ctx, grant, annaCPR); err != nil || st != access.Revoked {
		t.Fatalf("revoke: %s %v", st, err)
	}
	later, _ := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR, Subject: "Senere", Body: "Tekst"})
	waitForStatus(t, s, later.LetterID, letters.Notified)
	if _, err := s.PostOffice.Open(ctx, later.LetterID, boCPR); err == nil {
		t.Fatal("delegate opened a letter after access was revoked")
	}
}

func TestBadApplicationIsRefusedAndNothingIsWritten(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	seedMunicipality(t, s)
	ctx := context.Background()
	cases := map[string]struct {
		app   borgerservice.Application
		field string
	}{
		// No grounds is no refusal: the caseworker records one with the decision.
		"unknown ground": {borgerservice.Application{CitizenCPR: annaCPR, Grounds: []string{"bored"}}, "grounds"},
		"a ground for an alternative to self-service": {borgerservice.Application{CitizenCPR: annaCPR, Grounds: []string{"lacking-digital-skills"}}, "grounds"},
		"malformed CPR": {borgerservice.Application{CitizenCPR: "010180", Grounds: []string{"no-mitid"}}, "cpr"},
		"representative, no power of attorney": {borgerservice.Application{CitizenCPR: annaCPR, Grounds: []string{"no-mitid"},
			RepresentativeName: "Bo Nielsen", RepresentativeCPR: boCPR}, "power-of-attorney"},
		"power of attorney, no representative": {borgerservice.Application{CitizenCPR: annaCPR, Grounds: []string{"no-mitid"},
			PowerOfAttorney: letters.Document{Filename: "f.pdf", Content: []byte("x")}}, "representative-name"},
		"representative not in the registry": {borgerservice.Application{CitizenCPR: annaCPR, Grounds: []string{"no-mitid"},
			RepresentativeName: "Ukendt", RepresentativeCPR: "111111-1118", PowerOfAttorney: letters.Document{Filename: "f.pdf", Content: []byte("x")}}, "representative-cpr"},
		"representative is the citizen": {borgerservice.Application{CitizenCPR: annaCPR, Grounds: []string{"no-mitid"},
			RepresentativeName: "Anna Jensen", RepresentativeCPR: annaCPR, PowerOfAttorney: letters.Document{Filename: "f.pdf", Content: []byte("x")}}, "representative-cpr"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			c.app.MunicipalityID = "aarhus-kommune"
			_, err := s.Desk.Apply(ctx, c.app)
			fields := fielderr.Fields(err)
			if len(fields) == 0 || !contains(fields, c.field) {
				t.Fatalf("error %v, want one naming %q", err, c.field)
			}
		})
	}
	if list, _ := s.Cases.List(ctx, exemption.Filter{}); len(list) != 0 {
		t.Fatalf("%d cases written for bad applications", len(list))
	}
}

// A case or request whose workflow cannot be started is kept, never deleted (the start
// may have happened: an error says nothing), and the recovery sweep starts it later.
func TestCaseAndRequestStoredWhileTemporalIsDownAreStartedByTheSweep(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	seedMunicipality(t, s)
	ctx := context.Background()
	down, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	desk := *s.Desk
	desk.Temporal = down
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var deferred *borgerservice.StartDeferred
	caseID, err := desk.Apply(short, borgerservice.Application{CitizenCPR: annaCPR, Grounds: []string{"no-computer"}, MunicipalityID: "aarhus-kommune"})
	if !errors.As(err, &deferred) || caseID == uuid.Nil {
		t.Fatalf("apply without Temporal: %v", err)
	}
	requestID, err := desk.RequestReadingAccess(short, boCPR, annaCPR)
	if !errors.As(err, &deferred) || requestID == uuid.Nil {
		t.Fatalf("request without Temporal: %v", err)
	}
	if _, err := s.Cases.Get(ctx, caseID); err != nil {
		t.Fatalf("the case was not kept: %v", err)
	}
	// Past the grace period the sweep starts both.
	_, _ = s.DB.Exec(ctx, `UPDATE exemption_cases SET created_at = now() - interval '10 minutes'`)
	_, _ = s.DB.Exec(ctx, `UPDATE reading_access SET requested_at = now() - interval '10 minutes'`)
	report, err := s.Activities.Recovery.Sweep(ctx, func(activities.SweepReport) {})
	if err != nil || report.Cases != 1 || report.ReadingAccess != 1 || report.Failed != 0 {
		t.Fatalf("sweep %+v %v", report, err)
	}
	if _, err := s.Desk.Decide(ctx, caseID, workflows.Decision{Approve: false, Reason: "kan bruge digital post", Caseworker: "cw1"}); err != nil {
		t.Fatalf("the swept case does not run: %v", err)
	}
	if _, err := s.Desk.RespondReadingAccess(ctx, requestID, annaCPR, true); err != nil {
		t.Fatalf("the swept request does not run: %v", err)
	}
	if again, _ := s.Activities.Recovery.Sweep(ctx, func(activities.SweepReport) {}); again.Cases != 0 || again.ReadingAccess != 0 {
		t.Fatalf("a started case or request was swept again: %+v", again)
	}
}

// A citizen has at most one open case: a second application is refused naming the open one,
// and the case row names the representative by registry reference, never by CPR number.
func TestSecondOpenCaseIsRefusedAndTheCaseHoldsNoCPR(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	seedMunicipality(t, s)
	ctx := context.Background()
	app := borgerservice.Application{CitizenCPR: annaCPR, Grounds: []string{"no-mitid"}, MunicipalityID: "aarhus-kommune",
		RepresentativeName: "Bo Nielsen", RepresentativeCPR: boCPR,
		PowerOfAttorney: letters.Document{Filename: "fuldmagt.pdf", Content: []byte("%PDF-1.4 signed")}}
	first, err := s.Desk.Apply(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Desk.Apply(ctx, app)
	if fields := fielderr.Fields(err); !contains(fields, "cpr") || !strings.Contains(err.Error(), first.String()) {
		t.Fatalf("second application: %v, want a refusal naming case %s", err, first)
	}
	var rows int
	var rowText string
	if err := s.DB.QueryRow(ctx, `SELECT count(*), max(e::text) FROM exemption_cases e`).Scan(&rows, &rowText); err != nil {
		t.Fatal(err)
	}
	bo, _ := s.Registry.CitizenByCPR(ctx, mustCPR(boCPR))
	if rows != 1 || strings.Contains(rowText, mustCPR(boCPR).Digits()) || !strings.Contains(rowText, bo.ID.String()) {
		t.Fatalf("%d case rows; the row must reference Bo (%s) without his CPR number: %s", rows, bo.ID, rowText)
	}
}
