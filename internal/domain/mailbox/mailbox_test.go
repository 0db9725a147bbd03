package mailbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/mailbox"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/store"
)

// post is a mailbox against a fresh database, with Anna as the owner and Bo as another citizen.
type post struct {
	db        *pgxpool.Pool
	letters   *letters.Store
	anna, bo  registry.Citizen
	delivered int
}

func newPost(t *testing.T) *post {
	t.Helper()
	db, _ := store.NewTestDB(t)
	ctx := context.Background()
	reg := registry.New(db)
	if err := reg.AddSender(ctx, registry.Sender{ID: "region-midt", Organisation: "Region Midtjylland"}); err != nil {
		t.Fatal(err)
	}
	p := &post{db: db, letters: letters.NewStore(db)}
	var err error
	if p.anna, err = reg.AddCitizen(ctx, registry.NewCitizen{CPR: "010180-1234", Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C"}); err != nil {
		t.Fatal(err)
	}
	if p.bo, err = reg.AddCitizen(ctx, registry.NewCitizen{CPR: "020275-2345", Name: "Bo Nielsen", Address: "Nørregade 2\n8000 Aarhus C"}); err != nil {
		t.Fatal(err)
	}
	return p
}

// deliver puts a new letter in Anna's mailbox.
func (p *post) deliver(t *testing.T, m *mailbox.Mailbox) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	p.delivered++
	id := uuid.New()
	if _, _, err := p.letters.Create(ctx, letters.Letter{ID: id, SenderID: "region-midt", MessageID: id.String(),
		RecipientID: &p.anna.ID, Subject: fmt.Sprintf("Brev %d", p.delivered), Body: "Tekst", Deadline: time.Hour}, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Deliver(ctx, id, p.anna.ID); err != nil {
		t.Fatal(err)
	}
	return id
}

// consistent checks the stored entry: never both opened and withdrawn, and a withdrawn letter
// is gone from the owner's listing.
func (p *post) consistent(t *testing.T, m *mailbox.Mailbox, id uuid.UUID) mailbox.Entry {
	t.Helper()
	ctx := context.Background()
	e, err := m.Entry(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if e.OpenedAt != nil && e.WithdrawnAt != nil {
		t.Fatalf("letter %s is stored both opened (%s) and withdrawn (%s)", id, e.OpenedAt, e.WithdrawnAt)
	}
	listed, err := m.List(ctx, p.anna.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range listed {
		if l.LetterID == id && e.WithdrawnAt != nil {
			t.Fatalf("withdrawn letter %s is still listed in the mailbox", id)
		}
	}
	return e
}

// A citizen opens a letter at the moment its sender withdraws it, from two connections at
// once: PostgreSQL lets exactly one of them win, both callers are told the same outcome, and
// the stored entry shows only the winner. Run for many letters, both orders of arrival occur.
func TestOpeningAndWithdrawalAtOnceHaveExactlyOneWinner(t *testing.T) {
	p := newPost(t)
	m := mailbox.New(p.db, func(_ context.Context, owner, reader uuid.UUID) (bool, error) {
		return owner == p.anna.ID && reader == p.bo.ID, nil // Bo reads Anna's post
	})
	ctx := context.Background()
	wins := map[string]int{}
	for i := range 40 {
		reader := p.anna.ID
		if i%2 == 1 {
			reader = p.bo.ID // a delegate's opening takes the other path through Open
		}
		id := p.deliver(t, m)
		var (
			start                sync.WaitGroup
			done                 sync.WaitGroup
			opened, withdrawn    mailbox.Entry
			first, took          bool
			openErr, withdrawErr error
		)
		start.Add(1)
		done.Add(2)
		go func() {
			defer done.Done()
			start.Wait()
			opened, first, openErr = m.Open(ctx, id, reader, time.Now().UTC())
		}()
		go func() {
			defer done.Done()
			start.Wait()
			// Its statement is the shorter: held back a little on some letters, it loses
			// some races too.
			time.Sleep(time.Duration(i%4) * 300 * time.Microsecond)
			withdrawn, took, withdrawErr = m.WithdrawUnlessOpened(ctx, id)
		}()
		start.Done()
		done.Wait()
		if withdrawErr != nil || openErr != nil && !errors.Is(openErr, mailbox.ErrWithdrawn) {
			t.Fatalf("letter %d: open %v, withdraw %v", i, openErr, withdrawErr)
		}
		stored := p.consistent(t, m, id)
		switch openWon := openErr == nil && first; {
		case openWon && took:
			t.Fatalf("letter %d: both the opening and the withdrawal were told they won", i)
		case !openWon && !took:
			t.Fatalf("letter %d: neither the opening (%v) nor the withdrawal won", i, openErr)
		case openWon:
			wins["opening"]++
			// The refused withdrawal is shown the opening that beat it.
			if withdrawn.OpenedAt == nil || stored.OpenedAt == nil || *stored.OpenedBy != reader || stored.WithdrawnAt != nil {
				t.Fatalf("letter %d: the opening won, but the withdrawal saw %+v and the mailbox holds %+v", i, withdrawn, stored)
			}
		default:
			wins["withdrawal"]++
			// The opening that lost is told so, and shows no opening.
			if !errors.Is(openErr, mailbox.ErrWithdrawn) || opened.OpenedAt != nil || stored.OpenedAt != nil || stored.WithdrawnAt == nil {
				t.Fatalf("letter %d: the withdrawal won, but the opening got %+v %v and the mailbox holds %+v", i, opened, openErr, stored)
			}
		}
		// After the race, the loser's second try changes nothing.
		if _, again, err := m.WithdrawUnlessOpened(ctx, id); stored.OpenedAt != nil && (again || err != nil) {
			t.Fatalf("letter %d: an opened letter was withdrawn afterwards (%v)", i, err)
		}
		if _, again, err := m.Open(ctx, id, reader, time.Now().UTC()); stored.WithdrawnAt != nil && (again || !errors.Is(err, mailbox.ErrWithdrawn)) {
			t.Fatalf("letter %d: a withdrawn letter was opened afterwards (%v)", i, err)
		}
		p.consistent(t, m, id)
	}
	t.Logf("winners over 40 races: %v", wins)
}

// The owner's opening reads the entry and writes its opening in one statement. When the
// sender's withdrawal holds the row and commits while that statement waits, the statement's
// own read still shows the letter unopened and not withdrawn, and its write finds nothing to
// open: Open reads the entry again and answers ErrWithdrawn, not an unopened letter.
func TestOwnersOpeningThatLosesToAWithdrawalReadsTheEntryAgain(t *testing.T) {
	p := newPost(t)
	m := mailbox.New(p.db, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := p.deliver(t, m)

	// The withdrawal takes the row's lock first and keeps it until it commits.
	tx, err := p.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if tag, err := tx.Exec(ctx, `UPDATE mailbox_entries SET withdrawn_at = now() WHERE letter_id = $1 AND opened_at IS NULL`, id); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("withdrawal: %v (%d rows)", err, tag.RowsAffected())
	}
	type result struct {
		e     mailbox.Entry
		first bool
		err   error
	}
	got := make(chan result, 1)
	go func() {
		e, first, err := m.Open(ctx, id, p.anna.ID, time.Now().UTC())
		got <- result{e, first, err}
	}()
	// The opening's statement has begun (its snapshot is taken) and waits for the row.
	for {
		var waiting bool
		if err := p.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%WITH opened AS%')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case r := <-got:
			t.Fatalf("the opening did not wait for the withdrawal's lock: %+v", r)
		case <-ctx.Done():
			t.Fatal("the opening never waited for the withdrawal's lock")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if !errors.Is(r.err, mailbox.ErrWithdrawn) || r.first || r.e.OpenedAt != nil || r.e.WithdrawnAt == nil {
		t.Fatalf("the opening that lost answered %+v (first %v) %v, want the withdrawn entry and ErrWithdrawn", r.e, r.first, r.err)
	}
	p.consistent(t, m, id)
}

// A delegate's opening reads the entry, asks whether the delegate may read the mailbox, then
// writes: a withdrawal between the read and the write makes the write find nothing, and Open
// reads the entry again and answers ErrWithdrawn.
func TestDelegatesOpeningThatLosesToAWithdrawalReadsTheEntryAgain(t *testing.T) {
	p := newPost(t)
	var m *mailbox.Mailbox
	var id uuid.UUID
	var asked int
	m = mailbox.New(p.db, func(ctx context.Context, owner, reader uuid.UUID) (bool, error) {
		asked++
		// The sender withdraws while the delegate's access is being checked.
		_, took, err := m.WithdrawUnlessOpened(ctx, id)
		if err != nil || !took {
			return false, fmt.Errorf("withdrawal during the access check: took %v, %v", took, err)
		}
		return owner == p.anna.ID && reader == p.bo.ID, nil
	})
	id = p.deliver(t, m)
	e, first, err := m.Open(context.Background(), id, p.bo.ID, time.Now().UTC())
	if asked != 1 {
		t.Fatalf("the access check ran %d times, want once", asked)
	}
	if !errors.Is(err, mailbox.ErrWithdrawn) || first || e.OpenedAt != nil || e.WithdrawnAt == nil {
		t.Fatalf("the delegate's opening that lost answered %+v (first %v) %v, want the withdrawn entry and ErrWithdrawn", e, first, err)
	}
	p.consistent(t, m, id)
}
