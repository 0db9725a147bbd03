// Package events is a sender's feed of what happened to its letters and what citizens sent
// it: every change of a letter's status (a trigger writes one row per change, in the same
// transaction as the change), every reply to a letter and every message written first (the
// citizens' post store writes one row with the message), in order, from PostgreSQL. The feed
// backs GET /v1/events and the webhooks.
package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Retention is how long events are kept.
const Retention = 60 * 24 * time.Hour

// MaxPage is the most events one read returns.
const MaxPage = 1000

// Event is one change of a letter's status, a citizen's reply to a letter, or a citizen's
// message written first.
type Event struct {
	ID     string // stable: the same event always has the same id (webhook de-duplication)
	Cursor Cursor
	// Topic is what the event is about: "letter", or "message" for a message written first.
	Topic     string
	LetterID  uuid.UUID // uuid.Nil for a message written first
	MessageID string    // the sender's own id of the letter
	Kind      string    // the letter's new status (received, delivered, notified, opened, …), replied, or received
	Channel   string
	Reason    string
	// CitizenMessageID is the reply or message a citizen sent (letter.replied, message.received).
	CitizenMessageID *uuid.UUID
	// LegalDeliveryAt: on a letter's delivered event, when it arrived in the law's sense (in
	// the mailbox, opened or not).
	LegalDeliveryAt *time.Time
	At              time.Time
}

// Type names the event as the feed and the webhooks both announce it: letter.<status>,
// letter.replied or message.received.
func (e Event) Type() string {
	if e.Topic == "" {
		return TypeOf(e.Kind)
	}
	return e.Topic + "." + e.Kind
}

// NoticeFailed is the kind of a letter's event for a notice the provider refused (rejected),
// whose fate is unknown, or that was given up after its retries (failed): letter.notice_failed,
// with the channel and the reason as a code, "<state>:<purpose>".
const NoticeFailed = "notice_failed"

// StatusChange tells a change of the letter's status from a citizen's reply or message and
// from a failed notice.
func (e Event) StatusChange() bool { return e.CitizenMessageID == nil && e.Kind != NoticeFailed }

// TypeOf names a letter's status change: letter.<status>.
func TypeOf(kind string) string { return "letter." + kind }

// Cursor is a place in a sender's feed: the events after it come next. The zero cursor is
// the start of the feed.
type Cursor struct {
	xid uint64
	seq int64
}

// String is the cursor as a client carries it.
func (c Cursor) String() string {
	if c == (Cursor{}) {
		return ""
	}
	return fmt.Sprintf("%d.%d", c.xid, c.seq)
}

// ErrBadCursor is a cursor this feed never handed out.
var ErrBadCursor = errors.New("is not a cursor from this feed (use the next_cursor of the previous page, or leave it out to start from the beginning)")

// ParseCursor reads a cursor a client sends back.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	x, q, ok := strings.Cut(s, ".")
	xid, err1 := strconv.ParseUint(x, 10, 64)
	seq, err2 := strconv.ParseInt(q, 10, 64)
	if !ok || err1 != nil || err2 != nil || seq < 0 {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{xid: xid, seq: seq}, nil
}

// Feed reads events.
type Feed struct{ db *pgxpool.Pool }

// NewFeed returns the feed on db.
func NewFeed(db *pgxpool.Pool) *Feed { return &Feed{db: db} }

// After returns up to limit of a sender's events after the cursor, oldest first. Only events
// of transactions older than every transaction still running are returned: those are all
// the events there will ever be before them, so a client that goes on from the last one
// never misses one committed late.
func (f *Feed) After(ctx context.Context, senderID string, after Cursor, limit int) ([]Event, error) {
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	rows, err := f.db.Query(ctx, `
		SELECT `+columns+`
		WHERE e.sender_id = $1 AND (e.xid, e.seq) > ($2::text::xid8, $3)
		  AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY e.xid, e.seq
		LIMIT $4`, senderID, strconv.FormatUint(after.xid, 10), after.seq, limit)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return collect(rows)
}

// ForLetter returns one letter's events, oldest first (its timeline as the sender sees it).
func (f *Feed) ForLetter(ctx context.Context, letterID uuid.UUID) ([]Event, error) {
	rows, err := f.db.Query(ctx, `
		SELECT `+columns+`
		WHERE e.letter_id = $1 ORDER BY e.xid, e.seq`, letterID)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return collect(rows)
}

const columns = `e.xid::text::bigint, e.seq, e.topic, e.letter_id, coalesce(l.message_id, ''), e.kind, e.channel, e.reason,	e.citizen_message_id, CASE WHEN e.kind = 'delivered' AND e.topic = 'letter' THEN m.delivered_at END, e.at
	FROM letter_events e LEFT JOIN letters l ON l.id = e.letter_id LEFT JOIN mailbox_entries m ON m.letter_id = e.letter_id`

func collect(rows pgx.Rows) ([]Event, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		var xid int64
		var letter *uuid.UUID
		err := r.Scan(&xid, &e.Cursor.seq, &e.Topic, &letter, &e.MessageID, &e.Kind, &e.Channel, &e.Reason, &e.CitizenMessageID, &e.LegalDeliveryAt, &e.At)
		e.Cursor.xid = uint64(xid)
		if letter != nil {
			e.LetterID = *letter
		}
		e.ID = "evt_" + e.Cursor.String()
		return e, err
	})
}

// Expire deletes events older than the retention, a bounded number at a time so that a
// long backlog never holds one long transaction. It returns how many it deleted.
func (f *Feed) Expire(ctx context.Context, now time.Time) (int64, error) {
	tag, err := f.db.Exec(ctx, `DELETE FROM letter_events WHERE (xid, seq) IN (
		SELECT xid, seq FROM letter_events WHERE at < $1 LIMIT 10000)`, now.Add(-Retention))
	return tag.RowsAffected(), err
}
