package activities_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/temporal"

	"digitalpost/activities"
	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/adapters/print"
	"digitalpost/internal/adapters/providerfake"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/mailbox"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/store"
)

type fixture struct {
	db     *pgxpool.Pool
	url    string // the test database, for connections of a test's own
	acts   *activities.Activities
	twilio *providerfake.Twilio
	mail   *providerfake.SendGrid
	// sms and email are the real provider clients, pointed at the fakes.
	sms, email notify.Provider
	spool      string
	// signalled lists the workflows the activities signalled, by workflow id and signal.
	signalled *signals
}

// signals records what a Temporal client would have been asked to signal.
type signals struct{ sent []string }

func (s *signals) SignalWorkflow(_ context.Context, workflowID, _, name string, _ any) error {
	s.sent = append(s.sent, workflowID+" "+name)
	return nil
}

func newFixture(t *testing.T) *fixture { return newFixtureWithTimeout(t, 5*time.Second) }

// newFixtureWithTimeout gives the providers' clients the HTTP timeout (PROVIDER_TIMEOUT).
func newFixtureWithTimeout(t *testing.T, timeout time.Duration) *fixture {
	db, url := store.NewTestDB(t)
	tw, sg := providerfake.NewTwilio(), providerfake.NewSendGrid()
	t.Cleanup(tw.Server.Close)
	t.Cleanup(sg.Server.Close)
	sms, err := notify.NewTwilio(tw.AccountSID, tw.AuthToken, "DigitalPost", tw.Server.URL, timeout)
	if err != nil {
		t.Fatal(err)
	}
	email := notify.NewSendGrid(sg.APIKey, "no-reply@digitalpost.test", "Digital Post", sg.Server.URL, timeout)
	spool := t.TempDir()
	reg := registry.New(db)
	sig := &signals{}
	return &fixture{db: db, url: url, twilio: tw, mail: sg, sms: sms, email: email, spool: spool, signalled: sig, acts: &activities.Activities{
		Cases: exemption.NewStore(db), LetterDeadline: time.Hour, Access: access.NewStore(db), Temporal: sig,
		Registry: reg, Letters: letters.NewStore(db), Mailbox: mailbox.New(db, nil),
		Notices: notify.NewService(db, sms, email, notify.Rates{}), PrintJobs: print.NewJobs(db), Printer: print.Spool{Dir: spool},
		Now: func() time.Time { return time.Now().UTC() },
	}}
}

// letterTo stores a letter to a new citizen and returns its id and the citizen.
func (f *fixture) letterTo(t *testing.T, c registry.NewCitizen) (uuid.UUID, registry.Citizen) {
	ctx := context.Background()
	if err := f.acts.Registry.AddSender(ctx, registry.Sender{ID: "skat", Organisation: "Skattestyrelsen"}); err != nil {
		t.Fatal(err)
	}
	citizen, err := f.acts.Registry.AddCitizen(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	_, _, err = f.acts.Letters.Create(ctx, letters.Letter{ID: id, SenderID: "skat", MessageID: id.String(),
		RecipientID: &citizen.ID, Subject: "Årsopgørelse", Body: "Din årsopgørelse er klar.", Deadline: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return id, citizen
}

var anna = registry.NewCitizen{CPR: "010180-1234", Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C",
	Email: "anna@example.dk", Mobile: "+4520000001"}

func TestRetriedPrintSpoolsOneJob(t *testing.T) {
	f := newFixture(t)
	id, _ := f.letterTo(t, anna)
	req := activities.PrintRequest{LetterID: id, Purpose: print.Escalation, Reason: "not opened within 1h"}
	first, err := f.acts.PrintLetter(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.acts.PrintLetter(context.Background(), req)
	if err != nil || second.JobID != first.JobID {
		t.Fatalf("retry gave job %q (first %q): %v", second.JobID, first.JobID, err)
	}
	manifests, err := filepath.Glob(filepath.Join(f.spool, "*.json"))
	if err != nil || len(manifests) != 1 {
		t.Fatalf("%d manifests spooled (%v), want 1", len(manifests), err)
	}
	pdf, err := os.ReadFile(filepath.Join(f.spool, first.JobID+".pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := print.ValidatePDF(pdf); err != nil {
		t.Fatal(err)
	}
}

func TestWaitingNoticeGoesWithTheFirstDigitalLetterOnly(t *testing.T) {
	f := newFixture(t)
	dorte := registry.NewCitizen{CPR: "040490-4567", Name: "Dorte Pedersen", Address: "Østergade 4\n8000 Aarhus C", NeverLoggedIn: true}
	first, citizen := f.letterTo(t, dorte)
	plan, err := f.acts.Deliver(context.Background(), first)
	if err != nil || !plan.SendWaitingNotice {
		t.Fatalf("first letter plan %+v %v", plan, err)
	}
	if plan, err := f.acts.Deliver(context.Background(), first); err != nil || !plan.SendWaitingNotice {
		t.Fatalf("a retried plan for the same letter lost its notice: %+v %v", plan, err)
	}
	second := uuid.New()
	if _, _, err := f.acts.Letters.Create(context.Background(), letters.Letter{ID: second, SenderID: "skat", MessageID: "second",
		RecipientID: &citizen.ID, Subject: "Andet brev", Body: "x", Deadline: time.Hour}, nil); err != nil {
		t.Fatal(err)
	}
	// The second letter is delivered, to the mailbox, only without the notice: an error here
	// would leave a zero plan that also "carries no notice".
	plan, err = f.acts.Deliver(context.Background(), second)
	if err != nil || plan.Route.Channel != letters.Digital {
		t.Fatalf("second letter plan %+v %v, want it delivered digitally", plan, err)
	}
	if plan.SendWaitingNotice {
		t.Fatal("the second letter also carries a paper notice")
	}
}

func TestRecipientGoneIsAPermanentFailure(t *testing.T) {
	f := newFixture(t)
	id, citizen := f.letterTo(t, anna)
	if err := f.acts.Registry.DeleteCitizen(context.Background(), citizen.ID); err != nil {
		t.Fatal(err)
	}
	_, err := f.acts.Deliver(context.Background(), id)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrRecipientUnknown || !app.NonRetryable() {
		t.Fatalf("error %v, want non-retryable %s", err, activities.ErrRecipientUnknown)
	}
}

func TestExemptCitizensLetterIsRoutedToPaperAndNotIntoTheMailbox(t *testing.T) {
	f := newFixture(t)
	erik := registry.NewCitizen{CPR: "050545-1678", Name: "Erik Andersen", Address: "Havnegade 5\n8000 Aarhus C", Exempt: true}
	id, _ := f.letterTo(t, erik)
	d, err := f.acts.Deliver(context.Background(), id)
	if err != nil || d.Route.Channel != letters.Paper {
		t.Fatalf("delivery %+v %v", d, err)
	}
	if _, err := f.acts.Mailbox.Entry(context.Background(), id); !errors.Is(err, mailbox.ErrNotInMailbox) {
		t.Fatalf("paper letter is in the mailbox: %v", err)
	}
}

// A digital-only letter whose recipient became exempt after it was accepted ends with that
// reason; it used to be routed to paper and fail in print rendering with a PDF error.
func TestDigitalOnlyLetterToARecipientNowOnPaperEndsWithTheReason(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id, citizen := f.letterTo(t, anna)
	if _, err := f.db.Exec(ctx, `UPDATE letters SET digital_only = true WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := f.acts.Registry.SetExempt(ctx, citizen.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, err := f.acts.Deliver(ctx, id)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrRecipientUnreachable || !app.NonRetryable() || !strings.Contains(app.Message(), "exempt") {
		t.Fatalf("error %v, want non-retryable %s naming the exemption", err, activities.ErrRecipientUnreachable)
	}
	if jobs, err := f.acts.PrintJobs.ForLetter(ctx, id); err != nil || len(jobs) != 0 {
		t.Fatalf("%d print jobs for a digital-only letter (%v)", len(jobs), err)
	}
}

// A letter withdrawn before its waiting notice was printed used up the citizen's one paper
// notice: their next letter came without it. Now the notice is not printed and the next
// letter carries it.
func TestWithdrawnLetterHandsTheWaitingNoticeToTheNextLetter(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dorte := registry.NewCitizen{CPR: "040490-4567", Name: "Dorte Pedersen", Address: "Østergade 4\n8000 Aarhus C", NeverLoggedIn: true}
	first, citizen := f.letterTo(t, dorte)
	if plan, err := f.acts.Deliver(ctx, first); err != nil || !plan.SendWaitingNotice {
		t.Fatalf("first letter plan %+v %v", plan, err)
	}
	if err := f.acts.RecordOutcome(ctx, activities.Outcome{LetterID: first, Status: letters.Withdrawn, Channel: letters.Digital}); err != nil {
		t.Fatal(err)
	}
	if r, err := f.acts.PrintLetter(ctx, activities.PrintRequest{LetterID: first, Purpose: print.WaitingNotice}); err != nil || r.JobID != "" {
		t.Fatalf("waiting notice for a withdrawn letter: %+v %v", r, err)
	}
	second := uuid.New()
	if _, _, err := f.acts.Letters.Create(ctx, letters.Letter{ID: second, SenderID: "skat", MessageID: "second",
		RecipientID: &citizen.ID, Subject: "Andet brev", Body: "x", Deadline: time.Hour}, nil); err != nil {
		t.Fatal(err)
	}
	if plan, err := f.acts.Deliver(ctx, second); err != nil || !plan.SendWaitingNotice {
		t.Fatalf("the next letter does not carry the notice: %+v %v", plan, err)
	}
}

func wantUnreachable(t *testing.T, err error, reason string) {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrRecipientUnreachable || !app.NonRetryable() || !strings.Contains(app.Message(), reason) {
		t.Fatalf("error %v, want non-retryable %s naming %q", err, activities.ErrRecipientUnreachable, reason)
	}
}

// A letter under way when its recipient dies ends with the reason, and nothing is printed:
// neither at delivery nor when a letter already in the mailbox reaches its deadline.
func TestLettersToADeceasedRecipientEndUnprinted(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inMailbox, citizen := f.letterTo(t, anna)
	if _, err := f.acts.Deliver(ctx, inMailbox); err != nil {
		t.Fatal(err)
	}
	waiting := uuid.New()
	if _, _, err := f.acts.Letters.Create(ctx, letters.Letter{ID: waiting, SenderID: "skat", MessageID: "waiting",
		RecipientID: &citizen.ID, Subject: "Brev", Body: "x", Deadline: time.Hour}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acts.Registry.RecordDeath(ctx, citizen.ID, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	_, err := f.acts.Deliver(ctx, waiting)
	wantUnreachable(t, err, "has died")
	_, err = f.acts.PrintLetter(ctx, activities.PrintRequest{LetterID: inMailbox, Purpose: print.Escalation, Reason: "not opened"})
	wantUnreachable(t, err, "has died")
	if manifests, err := filepath.Glob(filepath.Join(f.spool, "*.json")); err != nil || len(manifests) != 0 {
		t.Fatalf("%d jobs spooled for a deceased recipient (%v)", len(manifests), err)
	}
	if _, err := f.acts.Mailbox.Entry(ctx, inMailbox); err != nil {
		t.Fatalf("the deceased citizen's mailbox lost its letter: %v", err)
	}
	if err := f.acts.Registry.DeleteCitizen(ctx, citizen.ID); !errors.Is(err, registry.ErrHasPost) {
		t.Fatalf("deleting a citizen with post: %v, want ErrHasPost (the mailbox is kept)", err)
	}
}

// Emigration does not end digital post (issue 26, item 4): an emigrated citizen gets the letter
// in the mailbox, a foreign address known or not. Exempt and abroad, they get paper at the
// foreign address, posted internationally; with none known, nothing.
func TestEmigratedRecipientKeepsDigitalPostAndPaperGoesAbroad(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id, citizen := f.letterTo(t, anna)
	on := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	if _, err := f.acts.Registry.RecordEmigration(ctx, citizen.ID, on, ""); err != nil {
		t.Fatal(err)
	}
	d, err := f.acts.Deliver(ctx, id)
	if err != nil || d.Route.Channel != letters.Digital {
		t.Fatalf("delivery to an emigrated citizen %+v %v, want the digital mailbox", d.Route, err)
	}
	if _, err := f.acts.Mailbox.Entry(ctx, id); err != nil {
		t.Fatalf("the letter is not in the emigrated citizen's mailbox: %v", err)
	}
	if err := f.acts.Registry.SetExempt(ctx, citizen.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	id = uuid.New()
	if _, _, err := f.acts.Letters.Create(ctx, letters.Letter{ID: id, SenderID: "skat", MessageID: id.String(),
		RecipientID: &citizen.ID, Subject: "Årsopgørelse", Body: "Din årsopgørelse er klar.", Deadline: time.Hour}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = f.acts.Deliver(ctx, id)
	wantUnreachable(t, err, "no foreign address")
	if _, err := f.acts.Registry.RecordEmigration(ctx, citizen.ID, on, "Storgatan 1\n111 22 Stockholm\nSverige"); err != nil {
		t.Fatal(err)
	}
	d, err = f.acts.Deliver(ctx, id)
	if err != nil || d.Route.Channel != letters.Paper || d.Route.Code != letters.RouteExempt {
		t.Fatalf("delivery %+v %v, want paper (exempt, abroad)", d.Route, err)
	}
	job, err := f.acts.PrintLetter(ctx, activities.PrintRequest{LetterID: id, Purpose: print.PaperRoute, Reason: d.Route.Reason})
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(f.spool, job.JobID+".json"))
	if err != nil || !strings.Contains(string(manifest), `"abroad": true`) {
		t.Fatalf("manifest does not ask for international postage: %s %v", manifest, err)
	}
}
