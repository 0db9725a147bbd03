// Package nemsms is NemSMS (rule 9): a free, opt-in service of short messages from
// authorities, apart from Digital Post. A citizen subscribes by accepting its terms (even when
// exempt from Digital Post); new-post SMS notices are no subscription. Only Danish numbers
// (+45); a citizen who gave Digital Post a mobile number keeps it for NemSMS. A message is
// one SMS as the phone counts it (160 GSM characters, or 70 in UCS-2) and carries nothing sensitive.
package nemsms

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
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/domain/smslength"
	"digitalpost/internal/infra/store"
)

// Purposes of NemSMS messages in the provider claims (notify): one claim per message.
const (
	PurposeMessage     = "nemsms"
	PurposeAppointment = "appointment-reminder"
)

// Subscription is a citizen's NemSMS sign-up.
type Subscription struct {
	CitizenID    uuid.UUID
	Mobile       string
	TermsVersion string
	AcceptedAt   time.Time
	CancelledAt  *time.Time
}

// Active tells whether messages may go to the citizen.
func (s Subscription) Active() bool { return s.CancelledAt == nil }

// Store keeps subscriptions and messages.
type Store struct {
	db *pgxpool.Pool
	// Terms is the version of the terms a citizen must accept now.
	Terms string
}

func NewStore(db *pgxpool.Pool, terms string) *Store { return &Store{db: db, Terms: terms} }

// Subscribe signs a citizen up, once they accept the current terms. The number is the one
// given, else the citizen's Digital Post mobile; it must be Danish.
func (s *Store) Subscribe(ctx context.Context, c registry.Citizen, acceptedTerms, mobile string) (Subscription, error) {
	var errs fielderr.List
	if accepted := strings.TrimSpace(acceptedTerms); accepted == "" || accepted != s.Terms {
		errs.Add("accept-terms", fmt.Sprintf("the citizen must accept the current NemSMS terms, version %s", s.Terms))
	}
	if c.Deceased() {
		errs.Add("cpr", "citizen is recorded as deceased")
	}
	number := strings.TrimSpace(mobile)
	if number == "" {
		number = c.Mobile // the Digital Post mobile, used once the terms are accepted
	}
	switch normalized, err := registry.NormalizeMobile(number); {
	case number == "":
		errs.Add("mobile", "is required: the citizen gave Digital Post no mobile number")
	case err != nil:
		errs.Add("mobile", err.Error())
	case !strings.HasPrefix(normalized, "+45"):
		errs.Add("mobile", "NemSMS takes Danish numbers only (+45)")
	default:
		number = normalized
	}
	if err := errs.Err(); err != nil {
		return Subscription{}, err
	}
	sub := Subscription{CitizenID: c.ID, Mobile: number, TermsVersion: s.Terms, AcceptedAt: time.Now().UTC()}
	_, err := s.db.Exec(ctx, `INSERT INTO nemsms_subscriptions (citizen_id, mobile, terms_version, accepted_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (citizen_id) DO UPDATE SET mobile = $2, terms_version = $3, accepted_at = $4, cancelled_at = NULL`,
		sub.CitizenID, sub.Mobile, sub.TermsVersion, sub.AcceptedAt)
	return sub, err
}

// ErrNotSubscribed: the citizen has no active NemSMS subscription.
var ErrNotSubscribed = errors.New("the citizen has not signed up for NemSMS")

// Unsubscribe ends a subscription; messages stop at once.
func (s *Store) Unsubscribe(ctx context.Context, citizen uuid.UUID) error {
	tag, err := s.db.Exec(ctx, `UPDATE nemsms_subscriptions SET cancelled_at = now() WHERE citizen_id = $1 AND cancelled_at IS NULL`, citizen)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotSubscribed
	}
	return err
}

// SubscriptionOf returns the citizen's subscription, active or not.
func (s *Store) SubscriptionOf(ctx context.Context, citizen uuid.UUID) (Subscription, error) {
	var sub Subscription
	err := s.db.QueryRow(ctx, `SELECT citizen_id, mobile, terms_version, accepted_at, cancelled_at FROM nemsms_subscriptions WHERE citizen_id = $1`,
		citizen).Scan(&sub.CitizenID, &sub.Mobile, &sub.TermsVersion, &sub.AcceptedAt, &sub.CancelledAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return sub, ErrNotSubscribed
	}
	return sub, err
}

// cprLike finds what looks like a CPR number: personal data a NemSMS must not carry.
var cprLike = regexp.MustCompile(`\b[0-3]\d[01]\d\d\d[- ]?\d{4}\b`)

// CheckText applies the message rules: one SMS, text PostgreSQL can store, no CPR number.
func CheckText(errs *fielderr.List, field, text string) {
	switch rule := smslength.Rule(text); {
	case strings.TrimSpace(text) == "":
		errs.Add(field, "must not be empty")
	case rule != "": // NemSMS sends no concatenated messages
		errs.Add(field, rule)
	case cprLike.MatchString(text):
		errs.Add(field, "must not contain a CPR number or anything like one: NemSMS carries no sensitive content")
	default:
		errs.CheckText(field, text)
	}
}

// Message is a sender's NemSMS message to a citizen.
type Message struct {
	ID        uuid.UUID
	SenderID  string
	MessageID string
	CitizenID uuid.UUID
	Body      string
	Status    string // queued, sent, failed, skipped
	Detail    string
	CreatedAt time.Time
}

// WorkflowID is the message's workflow id; it carries no personal data.
func WorkflowID(id uuid.UUID) string { return "nemsms-" + id.String() }

var namespace = uuid.MustParse("3b0f7d2e-2c55-4f55-9a5e-6c1f1ad0e1aa")

// IDFor derives a message id from the sender's own id, so sending it again names the same message.
func IDFor(sender, messageID string) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte(sender+"\x00"+messageID))
}

// Create stores a message; the same sender and message id again returns the stored one and
// created false.
func (s *Store) Create(ctx context.Context, m Message) (Message, bool, error) {
	tag, err := s.db.Exec(ctx, `INSERT INTO nemsms_messages (id, sender_id, message_id, citizen_id, body) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (sender_id, message_id) DO NOTHING`, m.ID, m.SenderID, m.MessageID, m.CitizenID, m.Body)
	if store.IsForeignKeyViolation(err) {
		return Message{}, false, &fielderr.Error{Field: "sender", Rule: "is not a registered sender"}
	}
	if err != nil {
		return Message{}, false, err
	}
	stored, err := s.Message(ctx, IDFor(m.SenderID, m.MessageID))
	return stored, tag.RowsAffected() == 1, err
}

// ErrNoMessage is an unknown message id.
var ErrNoMessage = errors.New("no such NemSMS message")

// Message loads one message.
func (s *Store) Message(ctx context.Context, id uuid.UUID) (Message, error) {
	var m Message
	var citizen *uuid.UUID
	err := s.db.QueryRow(ctx, `SELECT id, sender_id, message_id, citizen_id, body, status, detail, created_at FROM nemsms_messages WHERE id = $1`, id).
		Scan(&m.ID, &m.SenderID, &m.MessageID, &citizen, &m.Body, &m.Status, &m.Detail, &m.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, ErrNoMessage
	}
	if citizen != nil {
		m.CitizenID = *citizen
	}
	return m, err
}

// SetStatus records how a message ended.
func (s *Store) SetStatus(ctx context.Context, id uuid.UUID, status, detail string) error {
	_, err := s.db.Exec(ctx, `UPDATE nemsms_messages SET status = $2, detail = $3, updated_at = now() WHERE id = $1`, id, status, detail)
	return err
}

// MarkStarted confirms that the message's workflow runs, so the recovery sweep leaves it be.
func (s *Store) MarkStarted(ctx context.Context, id uuid.UUID) error {
	_, err := s.db.Exec(ctx, `UPDATE nemsms_messages SET started_at = now() WHERE id = $1 AND started_at IS NULL`, id)
	return err
}

// Unstarted lists messages stored before the cutoff whose workflow start was never confirmed.
func (s *Store) Unstarted(ctx context.Context, before time.Time, limit int) ([]Message, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM nemsms_messages WHERE started_at IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(ids))
	for _, id := range ids {
		m, err := s.Message(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
