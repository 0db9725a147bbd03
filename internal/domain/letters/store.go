package letters

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/store"
)

// ErrNotFound is returned for a letter id that is not stored.
var ErrNotFound = errors.New("letter not found")

// Store keeps letters and their documents in PostgreSQL.
type Store struct{ db *pgxpool.Pool }

func NewStore(db *pgxpool.Pool) *Store { return &Store{db: db} }

// Create stores a new letter with its documents in one transaction. When the sender
// already submitted this message id, nothing is written and the stored letter is returned
// with created = false.
func (s *Store) Create(ctx context.Context, l Letter, docs []Document) (stored Letter, created bool, err error) {
	if len(docs) == 0 {
		return s.createWithoutDocuments(ctx, l)
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, insertLetter, letterArgs(l)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		created = true
		rows := make([][]any, len(docs))
		for i, d := range docs {
			rows[i] = []any{l.ID, i, d.Filename, d.ContentType, d.Content}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"letter_documents"},
			[]string{"letter_id", "position", "filename", "content_type", "content"}, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return Letter{}, false, err
	}
	stored, err = s.BySenderMessage(ctx, l.SenderID, l.MessageID)
	return stored, created, err
}

// createWithoutDocuments is Create in one round trip, for the letters most senders send:
// it inserts the letter or, when the message id made a letter before, reads that one.
func (s *Store) createWithoutDocuments(ctx context.Context, l Letter) (stored Letter, created bool, err error) {
	stored, err = scanLetterRow(s.db.QueryRow(ctx, `
		WITH new AS (`+insertLetter+` RETURNING `+letterColumns+`)
		SELECT true, `+letterColumns+` FROM new
		UNION ALL
		SELECT false, `+letterColumns+` FROM letters WHERE sender_id = $2 AND message_id = $3 AND NOT EXISTS (SELECT 1 FROM new)`,
		letterArgs(l)...), &created)
	if errors.Is(err, pgx.ErrNoRows) {
		// A concurrent submission of the same message id committed after this statement's
		// snapshot was taken: its letter is there now.
		stored, err = s.BySenderMessage(ctx, l.SenderID, l.MessageID)
		return stored, false, err
	}
	return stored, created, err
}

const insertLetter = `
	INSERT INTO letters (id, sender_id, message_id, recipient_id, subject, body, physical_only, digital_only, deadline_seconds,
	                     content_hash, batch_id, deliver_at, postal_category, appointment_at, urgency, start_after,
	                     replies_allowed, reply_by, reply_contact_point, in_reply_to, submitted_by, status)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, 'received')
	ON CONFLICT DO NOTHING`

// (No conflict target: two submissions of one message id race on both unique indexes, the
// letter id being derived from the message id, and either may be the one PostgreSQL checks
// first. Naming only (sender_id, message_id) let the loser fail on the primary key.)

func letterArgs(l Letter) []any {
	return []any{l.ID, l.SenderID, l.MessageID, l.RecipientID, l.Subject, l.Body, l.PhysicalOnly, l.DigitalOnly,
		int64(l.Deadline / time.Second), l.ContentHash, l.BatchID, l.DeliverAt, string(l.category()), l.AppointmentAt, string(l.Urgency.OrDefault()), l.StartAfter,
		l.Replies.Allowed, l.Replies.By, l.Replies.ContactPoint, l.InReplyTo, l.SubmittedBy}
}

func (l Letter) category() PostalCategory {
	if l.PostalCategory == "" {
		return Economy
	}
	return l.PostalCategory
}

// CreateMany stores a bulk run in one transaction: every letter or, should anything fail,
// none (a run refused at letter 501 once left 500 stored, and the recovery sweep delivered
// them). Letters already stored under their message id, by an earlier run of the same file,
// are left as they are; created tells, letter by letter, which ones this call stored.
// The letters travel by COPY into a temporary table and from there into letters, so a
// run of 10,000 takes one round trip for the rows instead of 10,000 statements.
//
// A batch, when given, is recorded in the same transaction; the same file again (same
// sender and file hash) is the batch stored before, and batch.ID is set to its id.
func (s *Store) CreateMany(ctx context.Context, ls []Letter, docs [][]Document, batch *Batch) (created []bool, err error) {
	created = make([]bool, len(ls))
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if batch != nil {
			if err := tx.QueryRow(ctx, `WITH new AS (
					INSERT INTO batches (id, sender_id, file_hash, letters) VALUES ($1, $2, $3, $4)
					ON CONFLICT (sender_id, file_hash) DO NOTHING RETURNING id)
				SELECT id FROM new UNION ALL SELECT id FROM batches WHERE sender_id = $2 AND file_hash = $3 LIMIT 1`,
				batch.ID, batch.SenderID, batch.FileHash, len(ls)).Scan(&batch.ID); err != nil {
				return err
			}
			for i := range ls {
				ls[i].BatchID = &batch.ID
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE bulk_letters (LIKE letters INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
			return err
		}
		rows := make([][]any, len(ls))
		for i, l := range ls {
			rows[i] = append(letterArgs(l), string(Received))
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"bulk_letters"}, bulkColumns, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		list := strings.Join(bulkColumns, ", ")
		inserted, err := tx.Query(ctx, `INSERT INTO letters (`+list+`) SELECT `+list+` FROM bulk_letters
			ON CONFLICT DO NOTHING RETURNING id`) // either unique index, as in insertLetter
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(inserted, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		isNew := make(map[uuid.UUID]bool, len(ids))
		for _, id := range ids {
			isNew[id] = true
		}
		if len(ids) < len(ls) {
			changed, err := tx.Query(ctx, `SELECT l.id FROM letters l JOIN bulk_letters b USING (id)
				WHERE l.content_hash IS NOT NULL AND l.content_hash IS DISTINCT FROM b.content_hash`)
			if err != nil {
				return err
			}
			conflicts, err := pgx.CollectRows(changed, pgx.RowTo[uuid.UUID])
			if err != nil {
				return err
			}
			if len(conflicts) > 0 {
				return &ContentConflict{IDs: conflicts}
			}
		}
		// Documents go with the letters stored now; a stored letter keeps the ones it has.
		var docRows [][]any
		for i, l := range ls {
			created[i] = isNew[l.ID]
			if !created[i] {
				continue
			}
			for j, d := range docs[i] {
				docRows = append(docRows, []any{l.ID, j, d.Filename, d.ContentType, d.Content})
			}
		}
		if len(docRows) == 0 {
			return nil
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"letter_documents"},
			[]string{"letter_id", "position", "filename", "content_type", "content"}, pgx.CopyFromRows(docRows))
		return err
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}

// Batch is one file of letters a sender handed in.
type Batch struct {
	ID       uuid.UUID
	SenderID string
	FileHash []byte
	Letters  int
	Created  time.Time
}

// ContentConflict: letters of a run whose message ids were stored before with other content.
// The run is rolled back.
type ContentConflict struct{ IDs []uuid.UUID }

func (c *ContentConflict) Error() string {
	return fmt.Sprintf("%d letters were submitted before under the same message id with other content", len(c.IDs))
}

// bulkColumns are letterArgs' columns, then the status.
var bulkColumns = []string{"id", "sender_id", "message_id", "recipient_id", "subject", "body", "physical_only",
	"digital_only", "deadline_seconds", "content_hash", "batch_id", "deliver_at", "postal_category", "appointment_at", "urgency", "start_after",
	"replies_allowed", "reply_by", "reply_contact_point", "in_reply_to", "submitted_by", "status"}

// letterColumns read a letter; the last is its legal delivery, the moment it was put in the
// mailbox (mailbox_entries has no column named id, so id is the letter's, in a table or a CTE).
const letterColumns = `id, sender_id, message_id, recipient_id, subject, body, physical_only, digital_only,
	deadline_seconds, status, channel, failure_reason, content_hash, batch_id, created_at, updated_at, deliver_at, postal_category, appointment_at, urgency,
	replies_allowed, reply_by, reply_contact_point, in_reply_to, submitted_by,
	(SELECT me.delivered_at FROM mailbox_entries me WHERE me.letter_id = id)`

func scanLetter(row pgx.Row) (Letter, error) {
	l, err := scanLetterRow(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return Letter{}, ErrNotFound
	}
	return l, err
}

// scanLetterRow reads letterColumns, after the leading columns read into first; a missing row
// stays pgx.ErrNoRows.
func scanLetterRow(row pgx.Row, first ...any) (Letter, error) {
	var l Letter
	var deadline int64
	err := row.Scan(append(first, &l.ID, &l.SenderID, &l.MessageID, &l.RecipientID, &l.Subject, &l.Body, &l.PhysicalOnly,
		&l.DigitalOnly, &deadline, &l.Status, &l.Channel, &l.FailureReason, &l.ContentHash, &l.BatchID, &l.CreatedAt, &l.UpdatedAt, &l.DeliverAt, &l.PostalCategory, &l.AppointmentAt, &l.Urgency,
		&l.Replies.Allowed, &l.Replies.By, &l.Replies.ContactPoint, &l.InReplyTo, &l.SubmittedBy, &l.LegalDeliveryAt)...)
	if err != nil {
		return Letter{}, err
	}
	l.Deadline = time.Duration(deadline) * time.Second
	return l, nil
}

// Addressed is a letter with the two parties it travels between.
type Addressed struct {
	Letter
	Recipient registry.Citizen
	// HasRecipient is false once the recipient was deleted from the registry.
	HasRecipient bool
	Sender       registry.Sender
}

// WithParties loads a letter, its recipient and its sender in one round trip. ErrNotFound:
// no such letter.
func (s *Store) WithParties(ctx context.Context, id uuid.UUID) (Addressed, error) {
	var a Addressed
	var found, senderFound bool
	letter := store.Lookup{SQL: `SELECT ` + letterColumns + ` FROM letters WHERE id = $1`, Args: []any{id},
		Scan: store.Found(&found, func(row pgx.Row) (err error) { a.Letter, err = scanLetterRow(row); return err })}
	err := store.LookupAll(ctx, s.db, letter, registry.RecipientLookup(id, &a.Recipient, &a.HasRecipient),
		registry.SenderOfLetterLookup(id, &a.Sender, &senderFound))
	if err == nil && !found {
		err = ErrNotFound
	}
	return a, err
}

// Get loads one letter.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (Letter, error) {
	return scanLetter(s.db.QueryRow(ctx, `SELECT `+letterColumns+` FROM letters WHERE id = $1`, id))
}

// BySenderMessage finds a letter by the sender's own message id.
func (s *Store) BySenderMessage(ctx context.Context, senderID, messageID string) (Letter, error) {
	return scanLetter(s.db.QueryRow(ctx, `SELECT `+letterColumns+` FROM letters WHERE sender_id = $1 AND message_id = $2`, senderID, messageID))
}

// Documents loads a letter's attachments in order.
func (s *Store) Documents(ctx context.Context, id uuid.UUID) ([]Document, error) {
	rows, err := s.db.Query(ctx, `SELECT filename, content_type, content FROM letter_documents WHERE letter_id = $1 ORDER BY position`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Document, error) {
		var d Document
		err := r.Scan(&d.Filename, &d.ContentType, &d.Content)
		return d, err
	})
}

// SetStatus records a state change. Once a letter is final, later changes are ignored, so
// an activity retried after the workflow moved on cannot turn an opened letter back; nor
// can a delivery replayed after its workflow task was lost turn a notified letter back.
//
// The statements in with run first, in the same round trip and transaction: what makes the new
// status true (the mailbox entry of a delivered letter) is written with it or not at all.
func (s *Store) SetStatus(ctx context.Context, id uuid.UUID, status Status, channel Channel, reason string, with ...store.Statement) error {
	affected, err := store.ExecAll(ctx, s.db, append(with, store.Statement{SQL: `
		UPDATE letters SET status = $2, channel = CASE WHEN $3 = '' THEN channel ELSE $3 END,
		       failure_reason = $4, updated_at = now(), started_at = coalesce(started_at, now())
		WHERE id = $1 AND status NOT IN ('opened', 'escalated', 'printed', 'withdrawn', 'failed', 'posted', 'returned', 'print_failed')
		  AND NOT (status = 'notified' AND $2 = 'delivered')`,
		Args: []any{id, status, channel, reason}})...)
	if err != nil {
		return fmt.Errorf("letter %s: set status %s: %w", id, status, err)
	}
	if affected[len(affected)-1] == 0 {
		if _, err := s.Get(ctx, id); err != nil {
			return fmt.Errorf("letter %s: %w", id, err)
		}
	}
	return nil
}

// MarkStarted confirms that the letter's workflow runs, so the recovery sweep leaves it be.
// Any status the workflow writes confirms it too.
func (s *Store) MarkStarted(ctx context.Context, ids ...uuid.UUID) error {
	_, err := s.db.Exec(ctx, `UPDATE letters SET started_at = now() WHERE id = ANY($1) AND started_at IS NULL`, ids)
	return err
}

// Addressing is what a notice needs: the recipient's contact details and the sender's name.
type Addressing struct {
	HasRecipient bool // false once the recipient was deleted from the registry
	RecipientID  uuid.UUID
	Mobile       string
	Email        string
	Organisation string
	// AppointmentAt: the appointment the letter calls to, if any.
	AppointmentAt *time.Time
	Urgency       Urgency
}

// Addressing reads a letter's notice details in one query.
func (s *Store) Addressing(ctx context.Context, id uuid.UUID) (Addressing, error) {
	var a Addressing
	err := s.db.QueryRow(ctx, `
		SELECT c.id IS NOT NULL, coalesce(c.id, '00000000-0000-0000-0000-000000000000'), coalesce(c.mobile, ''), coalesce(c.email, ''),
		       s.organisation, l.appointment_at, l.urgency
		FROM letters l JOIN senders s ON s.id = l.sender_id LEFT JOIN citizens c ON c.id = l.recipient_id
		WHERE l.id = $1`, id).Scan(&a.HasRecipient, &a.RecipientID, &a.Mobile, &a.Email, &a.Organisation, &a.AppointmentAt, &a.Urgency)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// MoveAppointment records a letter's new appointment time.
func (s *Store) MoveAppointment(ctx context.Context, id uuid.UUID, at time.Time) error {
	tag, err := s.db.Exec(ctx, `UPDATE letters SET appointment_at = $2, updated_at = now() WHERE id = $1`, id, at)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

// MarkNotified moves a delivered letter to notified; a letter already further along keeps its state.
func (s *Store) MarkNotified(ctx context.Context, id uuid.UUID) error {
	_, err := s.db.Exec(ctx, `UPDATE letters SET status = 'notified', updated_at = now() WHERE id = $1 AND status = 'delivered'`, id)
	return err
}

// Unstarted lists letters stored before the cutoff whose workflow start was never
// confirmed (the submitting process may have died in between), oldest first, after the
// given letter (keyset paging: pass uuid.Nil and the zero time to begin).
func (s *Store) Unstarted(ctx context.Context, before time.Time, afterCreated time.Time, afterID uuid.UUID, limit int) ([]Letter, error) {
	rows, err := s.db.Query(ctx, `SELECT `+letterColumns+` FROM letters
		WHERE started_at IS NULL AND created_at < $1 AND (start_after IS NULL OR start_after < $1) AND (created_at, id) > ($2, $3)
		ORDER BY created_at, id LIMIT $4`, before, afterCreated, afterID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Letter, error) { return scanLetter(r) })
}

// Filter selects letters for lists; empty fields match everything.
type Filter struct {
	Status   Status
	SenderID string
	Limit    int
}

// List returns letters newest first. Lists come from PostgreSQL, not from Temporal
// visibility, which is only eventually consistent.
func (s *Store) List(ctx context.Context, f Filter) ([]Letter, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := s.db.Query(ctx, `SELECT `+letterColumns+` FROM letters
		WHERE ($1 = '' OR status = $1) AND ($2 = '' OR sender_id = $2)
		ORDER BY created_at DESC LIMIT $3`, f.Status, f.SenderID, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Letter, error) { return scanLetter(r) })
}

// OpenedAndEscalated counts a sender's digital letters that ended opened and those that
// went to paper because nobody opened them in time.
func (s *Store) OpenedAndEscalated(ctx context.Context, senderID string) (opened, escalated int, err error) {
	err = s.db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'opened'), count(*) FILTER (WHERE status = 'escalated')
		FROM letters WHERE sender_id = $1 AND status IN ('opened', 'escalated')`, senderID).Scan(&opened, &escalated)
	return opened, escalated, err
}

// Page is one page of a sender's letters, newest first, and where the next one starts.
type Page struct {
	Letters []Letter
	Next    *PageKey // nil on the last page
}

// PageKey is where a page of letters starts: after this (created_at, id).
type PageKey struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// SenderFilter picks a sender's letters for a page.
type SenderFilter struct {
	SenderID string
	Status   Status    // "" for all
	Since    time.Time // created at or after; zero for all
	After    *PageKey
	Limit    int
}

// SenderPage returns a page of one sender's letters, newest first, by keyset: pages stay
// right while new letters arrive, and a deep page costs what the first one does.
func (s *Store) SenderPage(ctx context.Context, f SenderFilter) (Page, error) {
	after := PageKey{CreatedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), ID: uuid.Max}
	if f.After != nil {
		after = *f.After
	}
	rows, err := s.db.Query(ctx, `SELECT `+letterColumns+` FROM letters
		WHERE sender_id = $1 AND ($2 = '' OR status = $2) AND created_at >= $3
		  AND (created_at, id) < ($4, $5)
		ORDER BY created_at DESC, id DESC LIMIT $6`, f.SenderID, f.Status, f.Since, after.CreatedAt, after.ID, f.Limit+1)
	if err != nil {
		return Page{}, err
	}
	ls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Letter, error) { return scanLetter(r) })
	if err != nil {
		return Page{}, err
	}
	p := Page{Letters: ls}
	if len(ls) > f.Limit {
		p.Letters = ls[:f.Limit]
		last := p.Letters[f.Limit-1]
		p.Next = &PageKey{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return p, nil
}

// BatchProgress counts a batch's letters by status.
func (s *Store) BatchProgress(ctx context.Context, senderID string, id uuid.UUID) (Batch, map[Status]int, error) {
	b := Batch{ID: id, SenderID: senderID}
	err := s.db.QueryRow(ctx, `SELECT letters, created_at FROM batches WHERE id = $1 AND sender_id = $2`, id, senderID).
		Scan(&b.Letters, &b.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, nil, ErrNotFound
	}
	if err != nil {
		return b, nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT status, count(*) FROM letters WHERE batch_id = $1 GROUP BY status`, id)
	if err != nil {
		return b, nil, err
	}
	defer rows.Close()
	counts := map[Status]int{}
	for rows.Next() {
		var st Status
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return b, nil, err
		}
		counts[st] = n
	}
	return b, counts, rows.Err()
}

// AnswersTo is the ids of the letters that answer a citizen's message, oldest first.
func (s *Store) AnswersTo(ctx context.Context, message uuid.UUID) ([]uuid.UUID, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM letters WHERE in_reply_to = $1 ORDER BY created_at, id`, message)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}
