package postoffice_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"digitalpost/internal/adapters/print"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/testenv"
)

// Bad input is refused before anything is written or started, with the field and the rule.
// Each of these once reached PostgreSQL (which failed with an error naming neither), or was
// stored wrongly (1.5 s became 1 s), or became a print job of a thousand pages.
func TestSubmitRefusesBadInputNamingFieldAndRule(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	cases := map[string]struct {
		change      func(*postoffice.Submission)
		field, rule string
	}{
		"subject not UTF-8":    {func(s *postoffice.Submission) { s.Subject = "Indkaldelse \xe6\xf8" }, "subject", "UTF-8"},
		"subject with NUL":     {func(s *postoffice.Submission) { s.Subject = "Ind\x00kaldelse" }, "subject", "NUL"},
		"text not UTF-8":       {func(s *postoffice.Submission) { s.Body = "K\xe6re borger" }, "text", "UTF-8"},
		"text with NUL":        {func(s *postoffice.Submission) { s.Body = "Kære\x00borger" }, "text", "NUL"},
		"message id with NUL":  {func(s *postoffice.Submission) { s.MessageID = "run-1\x00" }, "message-id", "NUL"},
		"message id not UTF-8": {func(s *postoffice.Submission) { s.MessageID = "run-\xff" }, "message-id", "UTF-8"},
		"sender not UTF-8":     {func(s *postoffice.Submission) { s.SenderID = "region-\xff" }, "sender", "UTF-8"},
		"sender with NUL":      {func(s *postoffice.Submission) { s.SenderID = "region-midt\x00" }, "sender", "NUL"},
		"delivery in the past": {func(s *postoffice.Submission) { past := time.Now().Add(-time.Minute); s.DeliverAt = &past }, "deliver-at", "in the future"},
		"delivery too far":     {func(s *postoffice.Submission) { far := time.Now().AddDate(2, 0, 0); s.DeliverAt = &far }, "deliver-at", "a year"},
		"unknown category":     {func(s *postoffice.Submission) { s.PostalCategory = "express" }, "postal-category", "registered_proof"},
		"appointment before delivery": {func(s *postoffice.Submission) {
			deliver, meet := time.Now().Add(48*time.Hour), time.Now().Add(24*time.Hour)
			s.DeliverAt, s.AppointmentAt = &deliver, &meet
		}, "appointment-at", "after the letter's delivery"},
		"registered, digital":   {func(s *postoffice.Submission) { s.PostalCategory = "registered"; s.DigitalOnly = true }, "postal-category", "never goes on paper"},
		"text over the limit":   {func(s *postoffice.Submission) { s.Body = strings.Repeat("ø", postoffice.MaxTextRunes+1) }, "text", "at most 100000 characters"},
		"5 MB of text":          {func(s *postoffice.Submission) { s.Body = strings.Repeat("Lorem ipsum ", 5<<20/12) }, "text", "at most 100000 characters"},
		"sub-second deadline":   {func(s *postoffice.Submission) { s.Deadline = 500 * time.Millisecond }, "deadline", "at least 1 second"},
		"fractional deadline":   {func(s *postoffice.Submission) { s.Deadline = 1500 * time.Millisecond }, "deadline", "whole seconds"},
		"negative deadline":     {func(s *postoffice.Submission) { s.Deadline = -time.Hour }, "deadline", "at least 1 second"},
		"deadline over 90 days": {func(s *postoffice.Submission) { s.Deadline = 91 * 24 * time.Hour }, "deadline", "at most 90 days"},
		"document name not UTF-8": {func(s *postoffice.Submission) {
			s.DigitalOnly = true
			s.Documents = []letters.Document{{Filename: "bilag\xff.txt", Content: []byte("bilag")}}
		}, "document 1", "file name must be UTF-8"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := letter()
			c.change(&s)
			_, err := d.Submit(ctx, s)
			if rules := refusal(t, err); !hasRule(rules, c.field, c.rule) {
				t.Fatalf("refusal %q does not name %s with %q", rules, c.field, c.rule)
			}
		})
	}
	if n := d.storedLetters(t); n != 0 || d.temporal.calls != 0 {
		t.Fatalf("refused letters left %d rows and %d starts", n, d.temporal.calls)
	}
}

func TestSubmitAcceptsTheLimitsThemselves(t *testing.T) {
	d := newDesk(t)
	s := letter()
	s.Body = strings.Repeat("ø", postoffice.MaxTextRunes) // characters, not bytes: 200,000 bytes
	s.Deadline = time.Second
	s.Subject = "Kære Åse: æ, ø og å \u2013 tabulator\tog linjeskift er tekst"
	if _, err := d.Submit(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if d.storedLetters(t) != 1 {
		t.Fatal("letter not stored")
	}
}

// A letter that may go to paper takes only PDFs a print house can print.
func TestSubmitRefusesPDFsThatCannotBePrinted(t *testing.T) {
	d := newDesk(t)
	plain, _, err := print.Render(print.Sheet{Subject: "Bilag", Body: "Bilag"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ownerLocked bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(plain), &ownerLocked, model.NewAESConfiguration("", "owner", 256)); err != nil {
		t.Fatal(err)
	}
	script := []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >> >>\nendobj\n" +
		"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n" +
		"trailer\n<< /Root 1 0 R >>\n%%EOF\n") // no xref table: pdfcpu rebuilds it, as readers do
	for name, c := range map[string]struct {
		pdf  []byte
		rule string
	}{
		"owner password": {ownerLocked.Bytes(), "encrypted"},
		"JavaScript":     {script, "JavaScript"},
	} {
		t.Run(name, func(t *testing.T) {
			s := letter()
			s.Documents = []letters.Document{{Filename: "bilag.pdf", Content: c.pdf}}
			_, err := d.Submit(context.Background(), s)
			if rules := refusal(t, err); !hasRule(rules, "document 1 (bilag.pdf)", c.rule) {
				t.Fatalf("refusal %q does not name the document with %q", rules, c.rule)
			}
		})
	}
	if n := d.storedLetters(t); n != 0 {
		t.Fatalf("refused letters left %d rows", n)
	}
	s := letter()
	s.Documents = []letters.Document{{Filename: "bilag.pdf", Content: plain}}
	if _, err := d.Submit(context.Background(), s); err != nil {
		t.Fatalf("a plain PDF: %v", err)
	}
}

// A message id is the sender's promise that it is the same letter: again with the same
// content it is the stored letter; with other content it is a conflict and nothing changes.
func TestSameMessageIDWithOtherContentIsAConflict(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	s := letter()
	s.MessageID = "indkaldelse-1"
	first, err := d.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	again, err := d.Submit(ctx, s)
	if err != nil || again.LetterID != first.LetterID || !again.Duplicate {
		t.Fatalf("same content again: %+v %v", again, err)
	}
	s.Subject = "Ny indkaldelse"
	_, err = d.Submit(ctx, s)
	var conflict *postoffice.Conflict
	if !errors.As(err, &conflict) || conflict.LetterID != first.LetterID {
		t.Fatalf("want a conflict naming letter %s, got %v", first.LetterID, err)
	}
	stored, _ := d.Letters.Get(ctx, first.LetterID)
	if stored.Subject != "Indkaldelse" || d.temporal.startedCount() != 1 {
		t.Fatalf("stored subject %q, %d starts", stored.Subject, d.temporal.startedCount())
	}
}

// A digital-only letter to a citizen who gets paper used to be accepted, routed to paper and
// end in a PDF error. Now it is refused at submission with the reason, and nothing is written.
func TestDigitalOnlyLetterToSomeoneOnPaperIsRefusedWithTheReason(t *testing.T) {
	d := newDesk(t)
	child := testenv.CPRAged(10, 678) // under 15 whichever day the test runs
	ctx := context.Background()
	for _, c := range []registry.NewCitizen{
		{CPR: "050545-1678", Name: "Erik Andersen", Address: "Havnegade 5\n8000 Aarhus C", Exempt: true},
		{CPR: child, Name: "Freja Christensen", Address: "Skolevej 6\n8000 Aarhus C"},
	} {
		if _, err := d.Registry.AddCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for to, reason := range map[string]string{"050545-1678": "exempt", child: "under 15"} {
		s := letter()
		s.RecipientCPR, s.DigitalOnly = to, true
		_, err := d.Submit(ctx, s)
		if rules := refusal(t, err); !hasRule(rules, "digital-only", reason) {
			t.Fatalf("%s: %q does not give the reason %q", to, rules, reason)
		}
	}
	if n := d.storedLetters(t); n != 0 {
		t.Fatalf("refused letters left %d rows", n)
	}
}

// "3wd" is three Danish working days from submission, and the same letter sent again the
// next day is still the same letter (the fingerprint keeps "3wd", not the seconds).
func TestDeadlineInWorkingDays(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	s := letter()
	s.MessageID = "frist-1"
	if err := s.SetDeadline("3wd"); err != nil {
		t.Fatal(err)
	}
	r, err := d.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := d.Letters.Get(ctx, r.LetterID)
	if stored.Deadline < 3*24*time.Hour || stored.Deadline > 9*24*time.Hour || stored.Deadline%time.Second != 0 {
		t.Fatalf("3 working days stored as %s", stored.Deadline)
	}
	if again, err := d.Submit(ctx, s); err != nil || !again.Duplicate {
		t.Fatalf("the same 3wd letter again: %+v %v", again, err)
	}
	// A scheduled letter's working days count from its delivery, not its submission.
	later := time.Now().AddDate(0, 0, 20).UTC().Truncate(time.Second)
	sched := letter()
	sched.MessageID, sched.DeliverAt = "frist-planlagt", &later
	if err := sched.SetDeadline("1wd"); err != nil {
		t.Fatal(err)
	}
	r, err = d.Submit(ctx, sched)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ = d.Letters.Get(ctx, r.LetterID)
	if want := calendar.WorkingDaysFrom(calendar.In(later), 1); stored.Deadline != want {
		t.Fatalf("1 working day from the delivery stored as %s, want %s", stored.Deadline, want)
	}
	for _, bad := range []string{"0wd", "3 days", "2.5wd"} {
		var x postoffice.Submission
		if err := x.SetDeadline(bad); err == nil || fielderr.Fields(err)[0] != "deadline" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestDeliverAtReadsDanishTimeOrRFC3339(t *testing.T) {
	for spec, want := range map[string]time.Time{
		"2026-12-24T09:00":          time.Date(2026, 12, 24, 8, 0, 0, 0, time.UTC), // CET
		"2026-07-01 09:00":          time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC),   // CEST
		"2026-12-24T09:00:00+01:00": time.Date(2026, 12, 24, 8, 0, 0, 0, time.UTC),
	} {
		var s postoffice.Submission
		if err := s.SetDeliverAt(spec); err != nil || s.DeliverAt == nil || !s.DeliverAt.Equal(want) {
			t.Errorf("%q: %v %v, want %s", spec, s.DeliverAt, err, want)
		}
	}
	var s postoffice.Submission
	if err := s.SetDeliverAt("next tuesday"); err == nil || fielderr.Fields(err)[0] != "deliver-at" {
		t.Fatalf("a time that does not parse: %v", err)
	}
}
