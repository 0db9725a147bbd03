// Package access keeps reading access: a delegate allowed by a citizen to read their
// digital mailbox (rule 13). The citizen stays responsible for their post.
package access

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/store"
)

// Status of a request or grant.
type Status string

const (
	Requested Status = "requested"
	Granted   Status = "granted"
	Declined  Status = "declined"
	Expired   Status = "expired"
	Revoked   Status = "revoked"
)

// ErrNotFound is returned for an unknown request id.
var ErrNotFound = errors.New("no such reading access request")

// ErrAlreadyLive: the delegate already has a pending request or access to this mailbox.
var ErrAlreadyLive = errors.New("the delegate already has a pending request or access to this mailbox")

// Grant is a request for, or grant of, reading access.
type Grant struct {
	ID          uuid.UUID
	CitizenID   uuid.UUID
	DelegateID  uuid.UUID
	Status      Status
	RequestedAt time.Time
	RespondBy   time.Time
}

// WorkflowID is the request's workflow id; it carries no personal data.
func WorkflowID(id uuid.UUID) string { return "reading-access-" + id.String() }

// Store keeps grants in PostgreSQL.
type Store struct{ db *pgxpool.Pool }

func NewStore(db *pgxpool.Pool) *Store { return &Store{db: db} }

// Create records a new request.
func (s *Store) Create(ctx context.Context, g Grant) error {
	_, err := s.db.Exec(ctx, `INSERT INTO reading_access (id, citizen_id, delegate_id, status, respond_by) VALUES ($1, $2, $3, 'requested', $4)`,
		g.ID, g.CitizenID, g.DelegateID, g.RespondBy)
	if store.IsUniqueViolation(err) {
		return ErrAlreadyLive
	}
	return err
}

// MarkStarted confirms that the request's workflow runs, so the recovery sweep leaves it be.
func (s *Store) MarkStarted(ctx context.Context, id uuid.UUID) error {
	_, err := s.db.Exec(ctx, `UPDATE reading_access SET started_at = now() WHERE id = $1 AND started_at IS NULL`, id)
	return err
}

const grantColumns = `id, citizen_id, delegate_id, status, requested_at, respond_by`

func scanGrant(row pgx.Row) (Grant, error) {
	var g Grant
	err := row.Scan(&g.ID, &g.CitizenID, &g.DelegateID, &g.Status, &g.RequestedAt, &g.RespondBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return g, ErrNotFound
	}
	return g, err
}

// Get loads a grant.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (Grant, error) {
	return scanGrant(s.db.QueryRow(ctx, `SELECT `+grantColumns+` FROM reading_access WHERE id = $1`, id))
}

// Unstarted lists requests made before the cutoff whose workflow start was never confirmed.
func (s *Store) Unstarted(ctx context.Context, before time.Time, limit int) ([]Grant, error) {
	rows, err := s.db.Query(ctx, `SELECT `+grantColumns+` FROM reading_access
		WHERE started_at IS NULL AND requested_at < $1 ORDER BY requested_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Grant, error) { return scanGrant(r) })
}

// SetStatus records the state the workflow decided.
func (s *Store) SetStatus(ctx context.Context, id uuid.UUID, st Status) error {
	_, err := s.db.Exec(ctx, `UPDATE reading_access SET status = $2, updated_at = now() WHERE id = $1`, id, st)
	return err
}

// MayRead tells whether reader holds granted reading access to owner's mailbox.
func (s *Store) MayRead(ctx context.Context, owner, reader uuid.UUID) (bool, error) {
	var ok bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reading_access WHERE citizen_id = $1 AND delegate_id = $2 AND status = 'granted')`,
		owner, reader).Scan(&ok)
	return ok, err
}
