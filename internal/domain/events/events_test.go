package events_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/domain/events"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/store"
)

// A client that goes on from the last event it read never misses one: here an event written
// by a transaction that began first (lower xid) but commits after a later transaction's event
// was already committed and could have been read. Two real PostgreSQL transactions.
func TestAnEventCommittedLateIsNotSkipped(t *testing.T) {
	ctx := context.Background()
	db, _ := store.NewTestDB(t)
	reg := registry.New(db)
	if err := reg.AddSender(ctx, registry.Sender{ID: "region-midt", Organisation: "Region Midtjylland"}); err != nil {
		t.Fatal(err)
	}
	anna, err := reg.AddCitizen(ctx, registry.NewCitizen{CPR: "010180-1234", Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C"})
	if err != nil {
		t.Fatal(err)
	}
	slow, quick := uuid.New(), uuid.New()
	for _, id := range []uuid.UUID{slow, quick} {
		if _, err := db.Exec(ctx, `INSERT INTO letters (id, sender_id, message_id, recipient_id, subject, deadline_seconds, status)
			VALUES ($1, 'region-midt', $2, $3, 'Brev', 3600, 'received')`, id, id.String(), anna.ID); err != nil {
			t.Fatal(err)
		}
	}
	feed := events.NewFeed(db)
	var read []events.Event
	var cursor events.Cursor
	readOn := func() {
		t.Helper()
		page, err := feed.After(ctx, "region-midt", cursor, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 0 {
			read = append(read, page...)
			cursor = page[len(page)-1].Cursor
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(read) < 2 && time.Now().Before(deadline) {
		readOn()
		time.Sleep(20 * time.Millisecond)
	}
	if len(read) != 2 {
		t.Fatalf("the two received events: read %d", len(read))
	}

	// The late transaction takes its xid first; the quick one after it, and commits at once.
	late, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = late.Rollback(ctx) }()
	var lateXID, quickXID uint64
	if err := late.QueryRow(ctx, `UPDATE letters SET status = 'delivered' WHERE id = $1 RETURNING pg_current_xact_id()::text::bigint`, slow).Scan(&lateXID); err != nil {
		t.Fatal(err)
	}
	quickTx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := quickTx.QueryRow(ctx, `UPDATE letters SET status = 'delivered' WHERE id = $1 RETURNING pg_current_xact_id()::text::bigint`, quick).Scan(&quickXID); err != nil {
		t.Fatal(err)
	}
	if err := quickTx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if quickXID <= lateXID {
		t.Fatalf("xids %d (late) and %d (quick): the late transaction must have the lower one", lateXID, quickXID)
	}
	// The client reads while the late transaction is still open, and goes on from where it got.
	readOn()
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for len(read) < 4 && time.Now().Before(deadline) {
		readOn()
		time.Sleep(20 * time.Millisecond)
	}
	var got []string
	for _, e := range read {
		got = append(got, e.LetterID.String()[:8]+"/"+e.Kind)
	}
	want := []string{slow.String()[:8] + "/received", quick.String()[:8] + "/received", slow.String()[:8] + "/delivered", quick.String()[:8] + "/delivered"}
	if !slices.Equal(got, want) {
		t.Fatalf("the client read %v, want %v: an event committed late was skipped or came out of order", got, want)
	}
}
