package postoffice_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
)

// run is a bulk run of n letters to every household (two, taking turns).
func run(n int) []postoffice.Submission {
	subs := make([]postoffice.Submission, n)
	for i := range subs {
		to := annaCPR
		if i%2 == 1 {
			to = boCPR
		}
		subs[i] = postoffice.Submission{SenderID: "region-midt", MessageID: fmt.Sprintf("household-%d", i+1),
			RecipientCPR: to, Subject: "Brev til alle husstande", Body: "Tekst", DigitalOnly: true}
	}
	return subs
}

// A run refused at letter 501 used to leave letters 1–500 stored (PostgreSQL refused the
// NUL byte after five batches had committed), and the recovery sweep delivered them.
func TestRefusedBulkRunWritesAndStartsNothing(t *testing.T) {
	d := newDesk(t)
	subs := run(600)
	subs[500].Body = "Tekst\x00"
	subs[550].Subject = "Brev \xe6"
	_, err := d.SubmitBulk(context.Background(), subs, postoffice.BulkOptions{})
	rules := refusal(t, err)
	if len(rules) != 2 || !hasRule(rules, "letter 501: text", "NUL") || !hasRule(rules, "letter 551: subject", "UTF-8") {
		t.Fatalf("refusal %q", rules)
	}
	if n := d.storedLetters(t); n != 0 || d.temporal.calls != 0 {
		t.Fatalf("a refused run left %d letters and %d starts", n, d.temporal.calls)
	}
}

// A failure while storing, after every letter passed validation, leaves nothing either: the
// run is one transaction, and no workflow starts before it commits.
func TestBulkRunThatFailsWhileStoringWritesAndStartsNothing(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	// PostgreSQL turns letter 501 away, as it would on a full disk or a killed connection.
	_, err := d.db.Exec(ctx, `
		CREATE FUNCTION refuse_501() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.message_id = 'household-501' THEN RAISE EXCEPTION 'disk full'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_501 BEFORE INSERT ON letters FOR EACH ROW EXECUTE FUNCTION refuse_501();`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.SubmitBulk(ctx, run(600), postoffice.BulkOptions{}); err == nil {
		t.Fatal("the run was reported stored")
	}
	if n := d.storedLetters(t); n != 0 || d.temporal.calls != 0 {
		t.Fatalf("a failed run left %d letters and %d starts", n, d.temporal.calls)
	}
}

// Two letters with one message id would be one letter: the second recipient would silently
// get nothing. An empty message id would make every run of the file send the letter again.
func TestBulkRunRefusesRepeatedAndEmptyMessageIDs(t *testing.T) {
	d := newDesk(t)
	subs := run(12)
	subs[6].MessageID = subs[2].MessageID
	subs[10].MessageID = " " + subs[2].MessageID + " " // the same id once trimmed
	subs[8].MessageID = ""
	subs[11].MessageID = "hh-\x00"
	_, err := d.SubmitBulk(context.Background(), subs, postoffice.BulkOptions{})
	rules := refusal(t, err)
	if len(rules) != 4 || !hasRule(rules, "letter 12: message_id", "NUL") || !hasRule(rules, "letter 7: message_id", "duplicates letter 3") ||
		!hasRule(rules, "letter 11: message_id", "duplicates letter 3") ||
		!hasRule(rules, "letter 9: message_id", "must not be empty: a bulk run needs a message id per letter") {
		t.Fatalf("refusal %q", rules)
	}
	if n := d.storedLetters(t); n != 0 || d.temporal.calls != 0 {
		t.Fatalf("a refused run left %d letters and %d starts", n, d.temporal.calls)
	}
	// A letter of a sender the registry does not know is refused with the run.
	other := run(1)[0]
	other.SenderID = "aarhus-kommune"
	if _, err := d.SubmitBulk(context.Background(), append(run(1), other), postoffice.BulkOptions{}); !hasRule(refusal(t, err), "letter 2: sender", "not a registered sender") {
		t.Fatalf("refusal %v", err)
	}
}

// A message id is the sender's own: the same one from two senders in one run is two letters,
// neither a duplicate of the other.
func TestSameMessageIDFromTwoSendersIsTwoLetters(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	if err := d.Registry.AddSender(ctx, registry.Sender{ID: "aarhus-kommune", Organisation: "Aarhus Kommune"}); err != nil {
		t.Fatal(err)
	}
	other := run(1)[0]
	other.SenderID = "aarhus-kommune"
	receipts, err := d.SubmitBulk(ctx, append(run(1), other), postoffice.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(receipts) != 2 || receipts[0].LetterID == receipts[1].LetterID || receipts[0].Duplicate || receipts[1].Duplicate {
		t.Fatalf("receipts %+v", receipts)
	}
	var senders []string
	if err := d.db.QueryRow(ctx, `SELECT array_agg(sender_id ORDER BY sender_id) FROM letters WHERE message_id = $1`, other.MessageID).Scan(&senders); err != nil {
		t.Fatal(err)
	}
	if len(senders) != 2 || senders[0] != "aarhus-kommune" || senders[1] != "region-midt" || d.temporal.startedCount() != 2 {
		t.Fatalf("letters stored for %v, %d started", senders, d.temporal.startedCount())
	}
}

func TestRefusedBulkRunListsAtMostFiftyRulesAndSaysHowManyMore(t *testing.T) {
	d := newDesk(t)
	subs := run(80)
	for i := range subs {
		subs[i].Subject = ""
	}
	rules := refusal(t, func() error { _, err := d.SubmitBulk(context.Background(), subs, postoffice.BulkOptions{}); return err }())
	if len(rules) != postoffice.MaxBulkErrors+1 || !hasRule(rules, "run", "30 more broken rules") {
		t.Fatalf("%d rules, last %q", len(rules), rules[len(rules)-1])
	}
}

// The sender's job died in the middle of starting a run (here: Temporal went away after 200
// starts). Running the file again starts the rest at once, not when a sweep comes by, and
// starts nothing twice.
func TestInterruptedBulkRunIsFinishedByRunningTheFileAgain(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	d.temporal.failAfter = 200
	if _, err := d.SubmitBulk(ctx, run(600), postoffice.BulkOptions{Concurrency: 1}); err == nil {
		t.Fatal("the run reported no error")
	}
	if n, s := d.storedLetters(t), d.temporal.startedCount(); n != 600 || s != 200 {
		t.Fatalf("after the interruption: %d letters stored, %d started; want 600 stored (one transaction) and 200 started", n, s)
	}

	d.temporal.failAfter = 0
	receipts, err := d.SubmitBulk(ctx, run(600), postoffice.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.temporal.startedCount() != 600 {
		t.Fatalf("%d of 600 letters started after running the file again", d.temporal.startedCount())
	}
	for i, r := range receipts {
		if !r.Duplicate || r.LetterID != letters.IDFor("region-midt", fmt.Sprintf("household-%d", i+1)) {
			t.Fatalf("receipt %d: %+v, want the stored letter, already submitted", i+1, r)
		}
	}
}

// An earlier run stored only part of the file (the old batches committed one by one), or the
// file grew: running it again stores what is missing and tells new from already submitted.
func TestBulkRunAgainStoresWhatIsMissingAndTellsNewFromAlreadySubmitted(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	if _, err := d.SubmitBulk(ctx, run(500), postoffice.BulkOptions{}); err != nil {
		t.Fatal(err)
	}
	var progress int
	receipts, err := d.SubmitBulk(ctx, run(3000), postoffice.BulkOptions{Progress: func(n int) { progress = n }})
	if err != nil {
		t.Fatal(err)
	}
	fresh := 0
	for i, r := range receipts {
		if !r.Duplicate {
			fresh++
		}
		if r.Duplicate != (i < 500) {
			t.Fatalf("letter %d: duplicate = %v", i+1, r.Duplicate)
		}
	}
	if fresh != 2500 || d.storedLetters(t) != 3000 || d.temporal.startedCount() != 3000 || progress != 3000 {
		t.Fatalf("new %d, stored %d, started %d, progress %d", fresh, d.storedLetters(t), d.temporal.startedCount(), progress)
	}
}

// A region's letter to every household: 10,000 letters stored in one transaction within
// seconds (the old batches of 500 took about as long, but committed one by one).
func TestBulkRunOfTenThousandLettersIsStoredInSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 letters")
	}
	d := newDesk(t)
	ctx := context.Background()
	subs := run(10_000)
	began := time.Now()
	receipts, err := d.SubmitBulk(ctx, subs, postoffice.BulkOptions{})
	took := time.Since(began)
	if err != nil || len(receipts) != len(subs) || d.storedLetters(t) != len(subs) {
		t.Fatalf("%d receipts, %d stored: %v", len(receipts), d.storedLetters(t), err)
	}
	t.Logf("10,000 letters validated, stored and started (fake Temporal) in %v", took)
	if took > 30*time.Second {
		t.Fatalf("10,000 letters took %v", took)
	}
}

// The same message id with other content used to count as "already submitted": the sender
// believed the new text went out. Now the run is refused, naming the rows, and writes nothing.
func TestBulkRunWithChangedContentUnderAnOldMessageIDIsRefusedWhole(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	if _, err := d.SubmitBulk(ctx, run(10), postoffice.BulkOptions{}); err != nil {
		t.Fatal(err)
	}
	again := run(20)
	again[3].Body = "Rettet tekst"
	_, err := d.SubmitBulk(ctx, again, postoffice.BulkOptions{})
	var conflict *postoffice.BulkConflict
	if !errors.As(err, &conflict) || len(conflict.Rules) != 1 || conflict.Rules[0].Field != "letter 4: message_id" {
		t.Fatalf("want a conflict on letter 4, got %v", err)
	}
	if n := d.storedLetters(t); n != 10 {
		t.Fatalf("%d letters stored, want the first run's 10", n)
	}
}
