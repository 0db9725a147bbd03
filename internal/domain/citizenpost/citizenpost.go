// Package citizenpost is the post citizens send to the public sector: a reply to a letter,
// or a message written first to one of a sender's contact points, with its attachments. Each
// is stored with the event that announces it to the sender (letter.replied,
// message.received) in one transaction, so none is lost between the two and none is
// announced twice.
package citizenpost

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
)

// ErrNotFound is a message or contact point that is not there (or not the asker's).
var ErrNotFound = errors.New("not found")

// ContactPoint is a unit of a sender that citizens' post goes to.
type ContactPoint struct {
	SenderID string
	ID       string // the sender's own short name: "roentgen"
	Name     string // as citizens see it: "Aarhus Universitetshospital, Røntgen"
	// ForCitizens: citizens may write to it first, not only answer letters.
	ForCitizens  bool
	Organisation string // the sender's name, when listed for citizens
}

// Message is what a citizen sent: a reply to a letter (LetterID set) or a message written first.
type Message struct {
	ID        uuid.UUID
	SenderID  string
	CitizenID *uuid.UUID // nil once the citizen is deleted from the registry
	LetterID  *uuid.UUID // the letter answered; nil for a message written first
	// ContactPoint is the id it went to ("" the sender as a whole); ContactPointName its name.
	ContactPoint     string
	ContactPointName string
	Organisation     string // the sender's name
	Subject          string
	Body             string
	Attachments      []Attachment
	CreatedAt        time.Time
	HandledAt        *time.Time
}

// IsReply tells a reply to a letter from a message written first.
func (m Message) IsReply() bool { return m.LetterID != nil }

// Kind is "reply" or "message", as the senders' API names them.
func (m Message) Kind() string {
	if m.IsReply() {
		return KindReply
	}
	return KindMessage
}

// The kinds of citizens' post.
const (
	KindReply   = "reply"
	KindMessage = "message"
)

// Attachment is an attached file as listed, without its bytes.
type Attachment struct {
	Filename    string
	ContentType string
	Size        int
}

// Store keeps citizens' post and senders' contact points in PostgreSQL.
type Store struct{ db *pgxpool.Pool }

// NewStore is the store on db.
func NewStore(db *pgxpool.Pool) *Store { return &Store{db: db} }

// Post stores a message and its attachments and, in the same transaction, the event that
// announces it. The form's key names the message: the same citizen posting the same form
// again (a second click) gets the stored message back, created false, and nothing is written.
func (s *Store) Post(ctx context.Context, m Message, docs []letters.Document, formKey string) (Message, bool, error) {
	if m.CitizenID == nil {
		return Message{}, false, errors.New("a message needs its citizen")
	}
	created := false
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		id := uuid.New()
		tag, err := tx.Exec(ctx, `INSERT INTO citizen_messages (id, sender_id, citizen_id, letter_id, contact_point, subject, body, form_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (citizen_id, form_key) DO NOTHING`,
			id, m.SenderID, m.CitizenID, m.LetterID, m.ContactPoint, m.Subject, m.Body, formKey)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		created, m.ID = true, id
		if len(docs) > 0 {
			rows := make([][]any, len(docs))
			for i, d := range docs {
				rows[i] = []any{id, i, d.Filename, d.ContentType, d.Content}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"citizen_message_attachments"},
				[]string{"message_id", "position", "filename", "content_type", "content"}, pgx.CopyFromRows(rows)); err != nil {
				return err
			}
		}
		topic, kind := "message", "received"
		if m.LetterID != nil {
			topic, kind = "letter", "replied"
		}
		_, err = tx.Exec(ctx, `INSERT INTO letter_events (sender_id, letter_id, topic, kind, citizen_message_id) VALUES ($1, $2, $3, $4, $5)`,
			m.SenderID, m.LetterID, topic, kind, id)
		return err
	})
	if err != nil {
		return Message{}, false, fmt.Errorf("store citizen's message: %w", err)
	}
	if !created {
		err = s.db.QueryRow(ctx, `SELECT id FROM citizen_messages WHERE citizen_id = $1 AND form_key = $2`, m.CitizenID, formKey).Scan(&m.ID)
		if err != nil {
			return Message{}, false, err
		}
	}
	stored, err := s.Get(ctx, m.ID)
	return stored, created, err
}

const messageColumns = `m.id, m.sender_id, m.citizen_id, m.letter_id, m.contact_point, coalesce(cp.name, ''), coalesce(s.organisation, ''),
	m.subject, m.body, m.created_at, m.handled_at,
	coalesce((SELECT array_agg(a.filename ORDER BY a.position) FROM citizen_message_attachments a WHERE a.message_id = m.id), '{}'),
	coalesce((SELECT array_agg(a.content_type ORDER BY a.position) FROM citizen_message_attachments a WHERE a.message_id = m.id), '{}'),
	coalesce((SELECT array_agg(length(a.content) ORDER BY a.position) FROM citizen_message_attachments a WHERE a.message_id = m.id), '{}')
	FROM citizen_messages m
	LEFT JOIN contact_points cp ON cp.sender_id = m.sender_id AND cp.id = m.contact_point
	LEFT JOIN senders s ON s.id = m.sender_id`

func scanMessage(row pgx.CollectableRow) (Message, error) {
	var m Message
	var names, types []string
	var sizes []int32
	err := row.Scan(&m.ID, &m.SenderID, &m.CitizenID, &m.LetterID, &m.ContactPoint, &m.ContactPointName, &m.Organisation,
		&m.Subject, &m.Body, &m.CreatedAt, &m.HandledAt, &names, &types, &sizes)
	for i := range names {
		m.Attachments = append(m.Attachments, Attachment{Filename: names[i], ContentType: types[i], Size: int(sizes[i])})
	}
	return m, err
}

func (s *Store) query(ctx context.Context, where string, args ...any) ([]Message, error) {
	rows, err := s.db.Query(ctx, `SELECT `+messageColumns+` `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read citizens' messages: %w", err)
	}
	return pgx.CollectRows(rows, scanMessage)
}

// Get is one message; ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (Message, error) {
	ms, err := s.query(ctx, `WHERE m.id = $1`, id)
	if err == nil && len(ms) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return Message{}, err
	}
	return ms[0], nil
}

// Sent is what a citizen sent, newest first: their mailbox's sent folder.
func (s *Store) Sent(ctx context.Context, citizen uuid.UUID, limit int) ([]Message, error) {
	return s.query(ctx, `WHERE m.citizen_id = $1 ORDER BY m.created_at DESC, m.id DESC LIMIT $2`, citizen, limit)
}

// RepliesTo is the replies to a letter, oldest first.
func (s *Store) RepliesTo(ctx context.Context, letter uuid.UUID) ([]Message, error) {
	return s.query(ctx, `WHERE m.letter_id = $1 ORDER BY m.created_at, m.id`, letter)
}

// Attachments is a message's attached files with their bytes, in order.
func (s *Store) Attachments(ctx context.Context, id uuid.UUID) ([]letters.Document, error) {
	rows, err := s.db.Query(ctx, `SELECT filename, content_type, content FROM citizen_message_attachments
		WHERE message_id = $1 ORDER BY position`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (letters.Document, error) {
		var d letters.Document
		return d, r.Scan(&d.Filename, &d.ContentType, &d.Content)
	})
}

// MarkHandled records that the sender has dealt with a message; marking it again keeps the
// first time. ErrNotFound: not the sender's message.
func (s *Store) MarkHandled(ctx context.Context, senderID string, id uuid.UUID) error {
	tag, err := s.db.Exec(ctx, `UPDATE citizen_messages SET handled_at = coalesce(handled_at, now()) WHERE id = $1 AND sender_id = $2`, id, senderID)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

// Filter selects a sender's messages for a page of GET /v1/messages.
type Filter struct {
	SenderID     string
	Kind         string // KindReply, KindMessage, or "" for both
	Handled      *bool
	LetterID     *uuid.UUID
	ContactPoint string
	After        *PageKey // the last message of the previous page
	Limit        int
}

// PageKey is a place in a sender's messages, newest first.
type PageKey struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// Page is one page of messages, and the key of the next page (nil at the end).
type Page struct {
	Messages []Message
	Next     *PageKey
}

// Page lists a sender's messages, newest first.
func (s *Store) Page(ctx context.Context, f Filter) (Page, error) {
	where := []string{"m.sender_id = $1"}
	args := []any{f.SenderID}
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	switch f.Kind {
	case KindReply:
		where = append(where, "m.letter_id IS NOT NULL")
	case KindMessage:
		where = append(where, "m.letter_id IS NULL")
	}
	if f.Handled != nil {
		add("(m.handled_at IS NOT NULL) = $%d", *f.Handled)
	}
	if f.LetterID != nil {
		add("m.letter_id = $%d", *f.LetterID)
	}
	if f.ContactPoint != "" {
		add("m.contact_point = $%d", f.ContactPoint)
	}
	if f.After != nil {
		args = append(args, f.After.CreatedAt, f.After.ID)
		where = append(where, fmt.Sprintf("(m.created_at, m.id) < ($%d, $%d)", len(args)-1, len(args)))
	}
	args = append(args, f.Limit+1)
	ms, err := s.query(ctx, `WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY m.created_at DESC, m.id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return Page{}, err
	}
	p := Page{Messages: ms}
	if len(ms) > f.Limit {
		p.Messages = ms[:f.Limit]
		last := p.Messages[f.Limit-1]
		p.Next = &PageKey{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return p, nil
}

var contactPointID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// AddContactPoint adds or renames one of a sender's contact points.
func (s *Store) AddContactPoint(ctx context.Context, cp ContactPoint) error {
	var errs fielderr.List
	if !contactPointID.MatchString(cp.ID) {
		errs.Add("id", "must be 1–64 lower-case letters, digits or dashes")
	}
	switch name := strings.TrimSpace(cp.Name); {
	case name == "":
		errs.Add("name", "must not be empty: it is what citizens see")
	case len([]rune(name)) > 200:
		errs.Add("name", "must be at most 200 characters")
	default:
		errs.CheckText("name", name)
	}
	if err := errs.Err(); err != nil {
		return err
	}
	_, err := s.db.Exec(ctx, `INSERT INTO contact_points (sender_id, id, name, for_citizens) VALUES ($1, $2, $3, $4)
		ON CONFLICT (sender_id, id) DO UPDATE SET name = $3, for_citizens = $4, removed_at = NULL`,
		cp.SenderID, cp.ID, strings.TrimSpace(cp.Name), cp.ForCitizens)
	if err != nil && strings.Contains(err.Error(), "contact_points_sender_id_fkey") {
		return &fielderr.Error{Field: "sender", Rule: "is not a registered sender"}
	}
	return err
}

// RemoveContactPoint stops a contact point taking new post; what was sent to it keeps its name.
func (s *Store) RemoveContactPoint(ctx context.Context, senderID, id string) error {
	tag, err := s.db.Exec(ctx, `UPDATE contact_points SET removed_at = now() WHERE sender_id = $1 AND id = $2 AND removed_at IS NULL`, senderID, id)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

const contactPointColumns = `cp.sender_id, cp.id, cp.name, cp.for_citizens, s.organisation
	FROM contact_points cp JOIN senders s ON s.id = cp.sender_id`

func (s *Store) contactPoints(ctx context.Context, where string, args ...any) ([]ContactPoint, error) {
	rows, err := s.db.Query(ctx, `SELECT `+contactPointColumns+` WHERE cp.removed_at IS NULL AND `+where+` ORDER BY s.organisation, cp.name`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ContactPoint, error) {
		var cp ContactPoint
		return cp, r.Scan(&cp.SenderID, &cp.ID, &cp.Name, &cp.ForCitizens, &cp.Organisation)
	})
}

// ContactPoints is a sender's contact points.
func (s *Store) ContactPoints(ctx context.Context, senderID string) ([]ContactPoint, error) {
	return s.contactPoints(ctx, `cp.sender_id = $1`, senderID)
}

// ContactPoint is one of a sender's contact points in use; ErrNotFound otherwise.
func (s *Store) ContactPoint(ctx context.Context, senderID, id string) (ContactPoint, error) {
	cps, err := s.contactPoints(ctx, `cp.sender_id = $1 AND cp.id = $2`, senderID, id)
	if err == nil && len(cps) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return ContactPoint{}, err
	}
	return cps[0], nil
}

// ContactPointName is the name of one of a sender's contact points, removed ones included:
// a letter sent before its contact point was removed still names where its replies go.
func (s *Store) ContactPointName(ctx context.Context, senderID, id string) (string, error) {
	var name string
	err := s.db.QueryRow(ctx, `SELECT name FROM contact_points WHERE sender_id = $1 AND id = $2`, senderID, id).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	return name, err
}

// SentSince counts what a citizen sent since a time: the pages' bound on how much one citizen
// may send.
func (s *Store) SentSince(ctx context.Context, citizen uuid.UUID, since time.Time) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM citizen_messages WHERE citizen_id = $1 AND created_at >= $2`, citizen, since).Scan(&n)
	return n, err
}

// ForCitizens is every contact point citizens may write to first, by organisation.
func (s *Store) ForCitizens(ctx context.Context) ([]ContactPoint, error) {
	return s.contactPoints(ctx, `cp.for_citizens`)
}
