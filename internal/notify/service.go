package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/time/rate"
)

// Service sends notices at most once per letter, channel and purpose.
type Service struct {
	db      *pgxpool.Pool
	sms     Provider
	email   Provider
	limiter *rate.Limiter
}

// NewService builds the service. perSecond > 0 holds provider calls from this process to
// that rate (each worker process has its own bucket: give each its share of the account's
// limit); 0 means no limit.
func NewService(db *pgxpool.Pool, sms, email Provider, perSecond float64) *Service {
	s := &Service{db: db, sms: sms, email: email}
	if perSecond > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond)))
	}
	return s
}

// Send claims the notice in PostgreSQL, then calls the provider.
//
// The claim row is what makes a retry safe. A retry that finds the notice sent, or finds
// it mid-send because the earlier attempt died during the provider call, does not send
// again: neither Twilio nor SendGrid has an idempotency key, and a duplicate is worse than
// a missing notice (the letter still escalates to paper if unopened). A definite provider
// failure releases the claim so the next attempt may send.
func (s *Service) Send(ctx context.Context, n Notice) (Outcome, error) {
	var state string
	err := s.db.QueryRow(ctx, `
		INSERT INTO notifications (letter_id, channel, purpose, state) VALUES ($1, $2, $3, 'sending')
		ON CONFLICT (letter_id, channel, purpose) DO UPDATE SET state = 'sending', updated_at = now()
		    WHERE notifications.state = 'failed'
		RETURNING state`, n.LetterID, n.Channel, n.Purpose).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return AlreadyHandled, nil
	}
	if err != nil {
		return "", fmt.Errorf("claim %s notice: %w", n.Channel, err)
	}
	provider := s.sms
	if n.Channel == Email {
		provider = s.email
	}
	if s.limiter != nil {
		if err := s.limiter.Wait(ctx); err != nil {
			// Not sent: release the claim so a retry may send.
			_, _ = s.db.Exec(context.WithoutCancel(ctx), `UPDATE notifications SET state = 'failed', error = 'rate limit wait cut short'
				WHERE letter_id = $1 AND channel = $2 AND purpose = $3`, n.LetterID, n.Channel, n.Purpose)
			return "", fmt.Errorf("%s notice: %w", n.Channel, err)
		}
	}
	id, sendErr := provider.Send(ctx, n)
	final, errText := "sent", ""
	switch {
	case sendErr == nil:
	case errors.Is(sendErr, ErrRejected), errors.Is(sendErr, ErrNotDelivered):
		final, errText = "failed", sendErr.Error()
	default:
		final, errText = "unknown", sendErr.Error()
	}
	// Recording the outcome must not be cut short by the caller's deadline.
	_, err = s.db.Exec(context.WithoutCancel(ctx), `UPDATE notifications SET state = $4, provider_id = $5, error = $6, updated_at = now()
		WHERE letter_id = $1 AND channel = $2 AND purpose = $3`, n.LetterID, n.Channel, n.Purpose, final, id, errText)
	if sendErr != nil {
		return "", sendErr
	}
	return Sent, err
}

// Record is a notice as stored, for status pages and tests.
type Record struct {
	Channel    Channel
	Purpose    Purpose
	State      string
	ProviderID string
	Error      string
}

// ForLetter lists the notices of one letter.
func (s *Service) ForLetter(ctx context.Context, letter uuid.UUID) ([]Record, error) {
	rows, err := s.db.Query(ctx, `SELECT channel, purpose, state, provider_id, error FROM notifications WHERE letter_id = $1 ORDER BY channel`, letter)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.Channel, &r.Purpose, &r.State, &r.ProviderID, &r.Error); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
