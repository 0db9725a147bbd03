// Package mailbox is the citizen's digital mailbox: letters delivered into it and
// the moment someone opens them.
package mailbox

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/infra/store"
)

var (
	ErrNotInMailbox = errors.New("letter is not in the mailbox")
	ErrWithdrawn    = errors.New("letter was withdrawn by the sender")
	ErrNoAccess     = errors.New("may not read this mailbox")
)

// Entry is a letter as it sits in a mailbox.
type Entry struct {
	LetterID    uuid.UUID
	CitizenID   uuid.UUID
	DeliveredAt time.Time
	OpenedAt    *time.Time
	OpenedBy    *uuid.UUID
	WithdrawnAt *time.Time
}

// AccessCheck tells whether reader may read owner's mailbox (owner always may).
type AccessCheck func(ctx context.Context, owner, reader uuid.UUID) (bool, error)

// Mailbox stores entries in PostgreSQL.
type Mailbox struct {
	db      *pgxpool.Pool
	mayRead AccessCheck
}

// New builds a mailbox. mayRead decides whether someone other than the owner may open
// a letter (reading access); nil means only the owner may.
func New(db *pgxpool.Pool, mayRead AccessCheck) *Mailbox {
	return &Mailbox{db: db, mayRead: mayRead}
}

// Deliver puts a letter in the citizen's mailbox; delivering twice is harmless.
func (m *Mailbox) Deliver(ctx context.Context, letter, citizen uuid.UUID) error {
	d := Delivery(letter, citizen)
	_, err := m.db.Exec(ctx, d.SQL, d.Args...)
	return err
}

// Delivery is Deliver as a statement, to go in one round trip with the letter's new status.
func Delivery(letter, citizen uuid.UUID) store.Statement {
	return store.Statement{SQL: `INSERT INTO mailbox_entries (letter_id, citizen_id) VALUES ($1, $2) ON CONFLICT (letter_id) DO NOTHING`,
		Args: []any{letter, citizen}}
}

// Open records that reader opened the letter. Opening again keeps the first opening.
// It returns the entry as it now stands and whether this call was the first opening.
// The owner's visit also counts as their login to the mailbox (registry.RecordLogin), in the
// same statement: a delegate's login is the caller's to record.
func (m *Mailbox) Open(ctx context.Context, letter, reader uuid.UUID, at time.Time) (Entry, bool, error) {
	e, first, err := m.openAsOwner(ctx, letter, reader, at)
	switch {
	case err != nil:
		return Entry{}, false, err
	case e.WithdrawnAt != nil:
		return e, false, ErrWithdrawn
	case first:
		e.OpenedAt, e.OpenedBy = &at, &reader
		return e, true, nil
	case e.CitizenID == reader && e.OpenedAt != nil:
		return e, false, nil
	case e.CitizenID == reader:
		// Someone opened (or the sender withdrew) it between the statement's read and its write.
		return m.reread(ctx, letter)
	}
	if ok, err := m.MayRead(ctx, e.CitizenID, reader); err != nil {
		return e, false, err
	} else if !ok {
		return e, false, ErrNoAccess
	}
	if e.OpenedAt != nil {
		return e, false, nil
	}
	tag, err := m.db.Exec(ctx, `UPDATE mailbox_entries SET opened_at = $2, opened_by = $3
		WHERE letter_id = $1 AND opened_at IS NULL AND withdrawn_at IS NULL`, letter, at, reader)
	if err != nil {
		return e, false, err
	}
	if tag.RowsAffected() == 1 {
		e.OpenedAt, e.OpenedBy = &at, &reader
		return e, true, nil
	}
	return m.reread(ctx, letter)
}

// reread answers an opening that lost its race: to another opening (the entry as it stands)
// or to the sender's withdrawal (ErrWithdrawn; the entry has no opening to show).
func (m *Mailbox) reread(ctx context.Context, letter uuid.UUID) (Entry, bool, error) {
	e, err := m.Entry(ctx, letter)
	if err == nil && e.WithdrawnAt != nil {
		return e, false, ErrWithdrawn
	}
	return e, false, err
}

// openAsOwner is the common opening, the owner reading their own letter, in one round trip:
// the entry as it stood before, the opening if it is the first, and the owner's login. For
// anyone else it only reads the entry.
func (m *Mailbox) openAsOwner(ctx context.Context, letter, reader uuid.UUID, at time.Time) (e Entry, first bool, err error) {
	err = m.db.QueryRow(ctx, `
		WITH opened AS (
			UPDATE mailbox_entries SET opened_at = $2, opened_by = $3
			WHERE letter_id = $1 AND citizen_id = $3 AND opened_at IS NULL AND withdrawn_at IS NULL
			RETURNING letter_id
		), login AS (
			UPDATE citizens SET last_login_at = $2, updated_at = now()
			WHERE id = $3 AND EXISTS (SELECT 1 FROM mailbox_entries WHERE letter_id = $1 AND citizen_id = $3 AND withdrawn_at IS NULL)
		)
		SELECT letter_id, citizen_id, delivered_at, opened_at, opened_by, withdrawn_at, EXISTS (SELECT 1 FROM opened)
		FROM mailbox_entries WHERE letter_id = $1`, letter, at, reader).
		Scan(&e.LetterID, &e.CitizenID, &e.DeliveredAt, &e.OpenedAt, &e.OpenedBy, &e.WithdrawnAt, &first)
	if errors.Is(err, pgx.ErrNoRows) {
		return Entry{}, false, ErrNotInMailbox
	}
	return e, first, err
}

// Withdraw hides a letter from the mailbox; it stays stored for the record.
func (m *Mailbox) Withdraw(ctx context.Context, letter uuid.UUID) error {
	_, err := m.db.Exec(ctx, `UPDATE mailbox_entries SET withdrawn_at = coalesce(withdrawn_at, now()) WHERE letter_id = $1`, letter)
	return err
}

// WithdrawUnlessOpened hides a letter from the mailbox unless someone opened it first. The
// opening and the withdrawal update the same row, so PostgreSQL decides the race once: it
// returns the entry as it stands and whether the withdrawal took. A letter that never
// reached the mailbox (paper, or withdrawn before delivery) has nothing to hide.
//
// A letter withdrawn from the mailbox had arrived (legal delivery, Lov om Digital Post § 10):
// the entry returned then has its DeliveredAt, for the record to say so.
func (m *Mailbox) WithdrawUnlessOpened(ctx context.Context, letter uuid.UUID) (Entry, bool, error) {
	e := Entry{LetterID: letter}
	err := m.db.QueryRow(ctx, `UPDATE mailbox_entries SET withdrawn_at = coalesce(withdrawn_at, now())
		WHERE letter_id = $1 AND opened_at IS NULL RETURNING citizen_id, delivered_at, withdrawn_at`, letter).
		Scan(&e.CitizenID, &e.DeliveredAt, &e.WithdrawnAt)
	if err == nil {
		return e, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Entry{}, false, err
	}
	e, err = m.Entry(ctx, letter)
	if errors.Is(err, ErrNotInMailbox) {
		return Entry{LetterID: letter}, true, nil
	}
	return e, false, err
}

// Entry loads one mailbox entry.
func (m *Mailbox) Entry(ctx context.Context, letter uuid.UUID) (Entry, error) {
	var e Entry
	err := m.db.QueryRow(ctx, `SELECT letter_id, citizen_id, delivered_at, opened_at, opened_by, withdrawn_at
		FROM mailbox_entries WHERE letter_id = $1`, letter).
		Scan(&e.LetterID, &e.CitizenID, &e.DeliveredAt, &e.OpenedAt, &e.OpenedBy, &e.WithdrawnAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Entry{}, ErrNotInMailbox
	}
	return e, err
}

// Listing is a letter as the mailbox page lists it.
type Listing struct {
	LetterID     uuid.UUID
	Organisation string
	Subject      string
	DeliveredAt  time.Time
	OpenedAt     *time.Time
}

// List gives the letters in a citizen's mailbox, newest first; withdrawn letters have left it.
func (m *Mailbox) List(ctx context.Context, citizen uuid.UUID, limit int) ([]Listing, error) {
	return m.listings(ctx, `m.citizen_id = $1 ORDER BY m.delivered_at DESC, m.letter_id LIMIT $2`, citizen, limit)
}

// Answers are the letters in a citizen's mailbox that answer one of their messages, oldest
// first: the sender's side of a thread.
func (m *Mailbox) Answers(ctx context.Context, citizen, message uuid.UUID) ([]Listing, error) {
	return m.listings(ctx, `m.citizen_id = $1 AND l.in_reply_to = $2 ORDER BY m.delivered_at, m.letter_id`, citizen, message)
}

// Listing is one letter as the mailbox lists it; ErrNotInMailbox when it is not there (or withdrawn).
func (m *Mailbox) Listing(ctx context.Context, letter uuid.UUID) (Listing, error) {
	ls, err := m.listings(ctx, `m.letter_id = $1`, letter)
	if err == nil && len(ls) == 0 {
		err = ErrNotInMailbox
	}
	if err != nil {
		return Listing{}, err
	}
	return ls[0], nil
}

func (m *Mailbox) listings(ctx context.Context, where string, args ...any) ([]Listing, error) {
	rows, err := m.db.Query(ctx, `SELECT m.letter_id, s.organisation, l.subject, m.delivered_at, m.opened_at
		FROM mailbox_entries m JOIN letters l ON l.id = m.letter_id JOIN senders s ON s.id = l.sender_id
		WHERE m.withdrawn_at IS NULL AND `+where, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Listing, error) {
		var l Listing
		err := r.Scan(&l.LetterID, &l.Organisation, &l.Subject, &l.DeliveredAt, &l.OpenedAt)
		return l, err
	})
}

// MayRead tells whether reader may read owner's mailbox: their own, or by reading access.
func (m *Mailbox) MayRead(ctx context.Context, owner, reader uuid.UUID) (bool, error) {
	if owner == reader {
		return true, nil
	}
	if m.mayRead == nil {
		return false, nil
	}
	return m.mayRead(ctx, owner, reader)
}
