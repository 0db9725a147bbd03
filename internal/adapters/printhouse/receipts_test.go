package printhouse_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/adapters/print"
	"digitalpost/internal/adapters/printhouse"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/store"
)

// spooledLetter stores a printed letter and its spooled job, as the letter workflow leaves them.
func spooledLetter(t *testing.T, db *pgxpool.Pool, category letters.PostalCategory) (uuid.UUID, string) {
	t.Helper()
	ctx := context.Background()
	if err := registry.New(db).AddSender(ctx, registry.Sender{ID: "skat", Organisation: "Skattestyrelsen"}); err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	if _, _, err := letters.NewStore(db).Create(ctx, letters.Letter{ID: id, SenderID: "skat", MessageID: id.String(), Subject: "Brev",
		Body: "x", Deadline: time.Hour, PostalCategory: category}, nil); err != nil {
		t.Fatal(err)
	}
	if err := letters.NewStore(db).SetStatus(ctx, id, letters.Printed, letters.Paper, ""); err != nil {
		t.Fatal(err)
	}
	job := print.JobID(id, print.PaperRoute)
	if err := print.NewJobs(db).Spooled(ctx, print.Record{LetterID: id, Purpose: print.PaperRoute, Reason: "exempt", JobID: job,
		PDFPath: "/spool/" + job + ".pdf", Pages: 1, PostalCategory: string(category)}); err != nil {
		t.Fatal(err)
	}
	return id, job
}

func TestReceiptsMoveAJobForwardOnlyAndAreAllRecorded(t *testing.T) {
	db, _ := store.NewTestDB(t)
	ctx := context.Background()
	rs := printhouse.New(db)
	letter, job := spooledLetter(t, db, letters.Economy)
	at := time.Now().UTC().Truncate(time.Second)
	steps := []struct {
		r    printhouse.Receipt
		want printhouse.Effect
		then letters.Status
	}{
		{printhouse.Receipt{JobID: job, Outcome: printhouse.Posted, At: at}, printhouse.Applied, letters.Posted},
		{printhouse.Receipt{JobID: job, Outcome: printhouse.Posted, At: at}, printhouse.Duplicate, letters.Posted},
		{printhouse.Receipt{JobID: job, Outcome: printhouse.Delivered, At: at}, printhouse.OutOfOrder, letters.Posted}, // not registered
		{printhouse.Receipt{JobID: job, Outcome: printhouse.Returned, Reason: "addressee unknown", At: at.Add(time.Hour)}, printhouse.Applied, letters.Returned},
		{printhouse.Receipt{JobID: job, Outcome: printhouse.Posted, At: at}, printhouse.OutOfOrder, letters.Returned},
		{printhouse.Receipt{JobID: "P-no-such-job", Outcome: printhouse.Posted, At: at}, printhouse.UnknownJob, letters.Returned},
	}
	for i, s := range steps {
		got, err := rs.Apply(ctx, s.r, "test")
		if err != nil || got != s.want {
			t.Fatalf("receipt %d (%s): %s %v, want %s", i+1, s.r.Outcome, got, err, s.want)
		}
		l, _ := letters.NewStore(db).Get(ctx, letter)
		if l.Status != s.then {
			t.Fatalf("after receipt %d the letter is %s, want %s", i+1, l.Status, s.then)
		}
	}
	l, _ := letters.NewStore(db).Get(ctx, letter)
	if !strings.Contains(l.FailureReason, "addressee unknown") || l.Channel != letters.Paper {
		t.Fatalf("returned letter: reason %q, channel %s", l.FailureReason, l.Channel)
	}
	recorded, err := rs.ForLetter(ctx, letter)
	if err != nil || len(recorded) != 5 {
		t.Fatalf("%d receipts recorded for the letter (%v), want 5", len(recorded), err)
	}
	var unknown int
	_ = db.QueryRow(ctx, `SELECT count(*) FROM print_receipts WHERE effect = 'unknown_job'`).Scan(&unknown)
	if unknown != 1 {
		t.Fatalf("%d unknown-job receipts recorded, want 1", unknown)
	}
	var events []string
	rows, _ := db.Query(ctx, `SELECT kind FROM letter_events WHERE letter_id = $1 ORDER BY xid, seq`, letter)
	for rows.Next() {
		var k string
		_ = rows.Scan(&k)
		events = append(events, k)
	}
	if got := strings.Join(events, ","); got != "received,printed,posted,returned" {
		t.Fatalf("events %s, want received,printed,posted,returned", got)
	}
	if _, err := rs.Apply(ctx, printhouse.Receipt{JobID: job, Outcome: printhouse.Failed, At: at}, "test"); !contains(fielderr.Fields(err), "reason") {
		t.Fatalf("a failure without a reason: %v", err)
	}
}

func TestRegisteredWithProofIsDeliveredAndAFailureBeforePostingSticks(t *testing.T) {
	db, _ := store.NewTestDB(t)
	ctx := context.Background()
	rs := printhouse.New(db)
	letter, job := spooledLetter(t, db, letters.RegisteredProof)
	if e, err := rs.Apply(ctx, printhouse.Receipt{JobID: job, Outcome: printhouse.Delivered, At: time.Now()}, "test"); err != nil || e != printhouse.Applied {
		t.Fatalf("delivered with proof: %s %v", e, err)
	}
	if l, _ := letters.NewStore(db).Get(ctx, letter); l.Status != letters.Posted {
		t.Fatalf("a letter delivered with proof is %s, want posted", l.Status)
	}
	jobs, _ := print.NewJobs(db).ForLetter(ctx, letter)
	if len(jobs) != 1 || jobs[0].Outcome != printhouse.Delivered {
		t.Fatalf("jobs %+v", jobs)
	}
	other, otherJob := spooledLetter(t, db, letters.Priority)
	if e, _ := rs.Apply(ctx, printhouse.Receipt{JobID: otherJob, Outcome: printhouse.Failed, Reason: "paper jam, damaged", At: time.Now()}, "test"); e != printhouse.Applied {
		t.Fatalf("failure: %s", e)
	}
	if e, _ := rs.Apply(ctx, printhouse.Receipt{JobID: otherJob, Outcome: printhouse.Returned, At: time.Now()}, "test"); e != printhouse.OutOfOrder {
		t.Fatalf("returned after a failure: %s, want out of order", e)
	}
	if l, _ := letters.NewStore(db).Get(ctx, other); l.Status != letters.PrintFailed || !strings.Contains(l.FailureReason, "paper jam") {
		t.Fatalf("failed letter %s %q", l.Status, l.FailureReason)
	}
}

// The dev print house answers each spooled job once with a file; the folder reads it, and a
// file that is not a receipt is set aside with the reason.
func TestDevPrintHouseAndReceiptsFolder(t *testing.T) {
	db, _ := store.NewTestDB(t)
	ctx := context.Background()
	spool := t.TempDir()
	letter, job := spooledLetter(t, db, letters.Economy)
	manifest, _ := json.Marshal(print.Job{ID: job, LetterID: letter.String(), Purpose: string(print.PaperRoute), PostalCategory: "economy", Pages: 1})
	if err := os.WriteFile(filepath.Join(spool, job+".json"), manifest, 0o640); err != nil {
		t.Fatal(err)
	}
	house := printhouse.DevHouse{Spool: spool, ReturnShare: 1, Now: time.Now}
	if n, err := house.Answer(); err != nil || n != 1 {
		t.Fatalf("answered %d (%v), want 1", n, err)
	}
	if n, _ := house.Answer(); n != 0 {
		t.Fatalf("answered the same job again: %d", n)
	}
	dir := printhouse.ReceiptsDir(spool)
	if err := os.WriteFile(filepath.Join(dir, "garbage.json"), []byte(`{"job":"x"}`), 0o640); err != nil {
		t.Fatal(err)
	}
	f := printhouse.Folder{Dir: dir, Receipts: printhouse.New(db)}
	if n, err := f.Scan(ctx); err != nil || n != 2 {
		t.Fatalf("read %d receipts (%v), want posted and returned", n, err)
	}
	if l, _ := letters.NewStore(db).Get(ctx, letter); l.Status != letters.Returned {
		t.Fatalf("letter %s, want returned", l.Status)
	}
	if _, err := os.Stat(filepath.Join(dir, "done", job+".json")); err != nil {
		t.Fatalf("the receipt file was not moved to done: %v", err)
	}
	why, err := os.ReadFile(filepath.Join(dir, "rejected", "garbage.json.error"))
	if err != nil || !strings.Contains(string(why), "unknown field") {
		t.Fatalf("rejected file's reason %q (%v)", why, err)
	}
	if n, _ := house.Answer(); n != 0 {
		t.Fatalf("a job answered before (receipt now in done/) was answered again: %d", n)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Whoever may write in the receipts folder could link a receipt file to any file the worker
// can read, and have it applied (issue 23's attack table). Links and files that are not
// regular are moved to rejected/ unread.
func TestALinkInTheReceiptsFolderIsNotFollowed(t *testing.T) {
	db, _ := store.NewTestDB(t)
	ctx := context.Background()
	letter, job := spooledLetter(t, db, letters.Economy)
	outside := filepath.Join(t.TempDir(), "elsewhere.json")
	receipt, _ := json.Marshal(printhouse.Receipt{JobID: job, Outcome: "returned", Reason: "ubekendt", At: time.Now()})
	if err := os.WriteFile(outside, receipt, 0o640); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "a-link.json")); err != nil {
		t.Fatal(err)
	}
	f := printhouse.Folder{Dir: dir, Receipts: printhouse.New(db)}
	if n, err := f.Scan(ctx); err != nil || n != 0 {
		t.Fatalf("read %d receipts (%v) through a link", n, err)
	}
	if l, _ := letters.NewStore(db).Get(ctx, letter); l.Status != letters.Printed {
		t.Fatalf("letter %s after a linked receipt, want still printed", l.Status)
	}
	why, err := os.ReadFile(filepath.Join(dir, "rejected", "a-link.json.error"))
	if err != nil || !strings.Contains(string(why), "symbolic link") {
		t.Fatalf("rejected link's reason %q (%v)", why, err)
	}
	// The same receipt as a regular file in the folder is read.
	if err := os.WriteFile(filepath.Join(dir, "real.json"), receipt, 0o640); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Scan(ctx); err != nil || n != 1 {
		t.Fatalf("read %d receipts (%v) from a regular file, want 1", n, err)
	}
}
