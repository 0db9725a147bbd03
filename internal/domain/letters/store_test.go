package letters_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/store"
)

func TestCreateManyStoresWhatIsMissingAndSaysWhichWereNew(t *testing.T) {
	db, _ := store.NewTestDB(t)
	ctx := context.Background()
	if _, err := db.Exec(ctx, `INSERT INTO senders (id, organisation) VALUES ('region-midt', 'Region Midtjylland')`); err != nil {
		t.Fatal(err)
	}
	s := letters.NewStore(db)
	run := func(n int) ([]letters.Letter, [][]letters.Document) {
		ls := make([]letters.Letter, n)
		docs := make([][]letters.Document, n)
		for i := range ls {
			id := fmt.Sprintf("household-%d", i+1)
			ls[i] = letters.Letter{ID: letters.IDFor("region-midt", id), SenderID: "region-midt", MessageID: id,
				Subject: "Brev", Body: "Tekst", DigitalOnly: true, Deadline: time.Hour}
			docs[i] = []letters.Document{{Filename: "bilag.txt", ContentType: "text/plain", Content: []byte("bilag " + id)}}
		}
		return ls, docs
	}
	first, firstDocs := run(3)
	if created, err := s.CreateMany(ctx, first, firstDocs, nil); err != nil || fmt.Sprint(created) != "[true true true]" {
		t.Fatalf("created %v, %v", created, err)
	}
	// Running again with more letters and other documents for the stored ones: the stored
	// letters keep what they have.
	again, againDocs := run(5)
	againDocs[0] = []letters.Document{{Filename: "other.txt", ContentType: "text/plain", Content: []byte("other")}}
	created, err := s.CreateMany(ctx, again, againDocs, nil)
	if err != nil || fmt.Sprint(created) != "[false false false true true]" {
		t.Fatalf("created %v, %v", created, err)
	}
	for i, l := range again {
		got, err := s.Get(ctx, l.ID)
		if err != nil || got.Status != letters.Received || got.Deadline != time.Hour || got.MessageID != l.MessageID {
			t.Fatalf("letter %d: %+v %v", i+1, got, err)
		}
		docs, err := s.Documents(ctx, l.ID)
		if err != nil || len(docs) != 1 || string(docs[0].Content) != "bilag "+l.MessageID {
			t.Fatalf("letter %d documents: %v %v", i+1, docs, err)
		}
	}
}

func TestCreateManyIsOneTransaction(t *testing.T) {
	db, _ := store.NewTestDB(t)
	ctx := context.Background()
	if _, err := db.Exec(ctx, `INSERT INTO senders (id, organisation) VALUES ('region-midt', 'Region Midtjylland')`); err != nil {
		t.Fatal(err)
	}
	ls := make([]letters.Letter, 1200)
	for i := range ls {
		id := fmt.Sprintf("household-%d", i+1)
		ls[i] = letters.Letter{ID: letters.IDFor("region-midt", id), SenderID: "region-midt", MessageID: id,
			Subject: "Brev", Body: "Tekst", Deadline: time.Hour}
	}
	ls[1100].Deadline = 0 // the database's CHECK refuses it
	if _, err := letters.NewStore(db).CreateMany(ctx, ls, make([][]letters.Document, len(ls)), nil); err == nil {
		t.Fatal("a broken letter was stored")
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM letters`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d letters left behind (%v)", n, err)
	}
}

// A delivery replayed after its workflow task was lost must not turn a notified letter back.
func TestReplayedDeliveryDoesNotUndoNotified(t *testing.T) {
	s, l := storedLetterForStatus(t)
	ctx := context.Background()
	if err := s.SetStatus(ctx, l, letters.Notified, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, l, letters.Delivered, letters.Digital, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, l); got.Status != letters.Notified {
		t.Fatalf("status %s after a replayed delivery, want notified", got.Status)
	}
}

func storedLetterForStatus(t *testing.T) (*letters.Store, uuid.UUID) {
	t.Helper()
	db, _ := store.NewTestDB(t)
	ctx := context.Background()
	if _, err := db.Exec(ctx, `INSERT INTO senders (id, organisation) VALUES ('region-midt', 'Region Midtjylland')`); err != nil {
		t.Fatal(err)
	}
	s := letters.NewStore(db)
	l := letters.Letter{ID: letters.IDFor("region-midt", "m1"), SenderID: "region-midt", MessageID: "m1",
		Subject: "Brev", Body: "Tekst", Deadline: time.Hour}
	if _, _, err := s.Create(ctx, l, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, l.ID, letters.Delivered, letters.Digital, ""); err != nil {
		t.Fatal(err)
	}
	return s, l.ID
}
