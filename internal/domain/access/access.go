// Package access keeps reading access: a delegate allowed by a citizen to read their
// digital mailbox (rule 13). The citizen stays responsible for their post.
package access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/serviceerror"

	"digitalpost/internal/infra/store"
)

// Status of a request or grant.
type Status string

const (
	Requested Status = "requested"
	Granted   Status = "granted"
	Declined  Status = "declined"
	Expired   Status = "expired"
	Revoked   Status = "revoked"
	// Suspended: the citizen (or the delegate) became exempt from Digital Post or died. It
	// never comes back: after re-enrolment the citizen must consent anew.
	Suspended Status = "suspended"
)

// SuspendSignal tells a request's workflow that its access is suspended; it carries a
// Suspension.
const SuspendSignal = "suspend"

// Suspension names the party whose registry change (exemption, death) suspends the access:
// the workflow takes it only from one of its own parties.
type Suspension struct{ Party uuid.UUID }

// HumanAct marks a suspension as an act (codec.Act): its payload opens only as a Suspension.
func (Suspension) HumanAct() {}

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
	// GrantedBy names the caseworker who recorded access the citizen gave at the citizen
	// service; empty when the citizen accepted a request themselves.
	GrantedBy string
}

// WorkflowID is the request's workflow id; it carries no personal data.
func WorkflowID(id uuid.UUID) string { return "reading-access-" + id.String() }

// Store keeps grants in PostgreSQL.
type Store struct{ db *pgxpool.Pool }

func NewStore(db *pgxpool.Pool) *Store { return &Store{db: db} }

// Create records a new request, or (Status Granted) access a caseworker recorded.
func (s *Store) Create(ctx context.Context, g Grant) error {
	if g.Status == "" {
		g.Status = Requested
	}
	_, err := s.db.Exec(ctx, `INSERT INTO reading_access (id, citizen_id, delegate_id, status, respond_by, granted_by) VALUES ($1, $2, $3, $4, $5, $6)`,
		g.ID, g.CitizenID, g.DelegateID, g.Status, g.RespondBy, g.GrantedBy)
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

const grantColumns = `id, citizen_id, delegate_id, status, requested_at, respond_by, granted_by`

func scanGrant(row pgx.Row) (Grant, error) {
	var g Grant
	err := row.Scan(&g.ID, &g.CitizenID, &g.DelegateID, &g.Status, &g.RequestedAt, &g.RespondBy, &g.GrantedBy)
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
		WHERE started_at IS NULL AND requested_at < $1 AND status IN ('requested', 'granted') ORDER BY requested_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Grant, error) { return scanGrant(r) })
}

// SetStatus records the state the workflow decided. Suspension is final: a workflow that
// granted access in the moment before it learnt of the suspension does not bring it back.
func (s *Store) SetStatus(ctx context.Context, id uuid.UUID, st Status) error {
	_, err := s.db.Exec(ctx, `UPDATE reading_access SET status = $2, updated_at = now() WHERE id = $1 AND status <> 'suspended'`, id, st)
	return err
}

// MayRead tells whether reader holds granted reading access to owner's mailbox. Access is
// also refused in the moment between an owner's exemption or death, or a reader's
// exemption, and the suspension of their grants.
func (s *Store) MayRead(ctx context.Context, owner, reader uuid.UUID) (bool, error) {
	var ok bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reading_access a
		JOIN citizens o ON o.id = a.citizen_id JOIN citizens r ON r.id = a.delegate_id
		WHERE a.citizen_id = $1 AND a.delegate_id = $2 AND a.status = 'granted'
		  AND o.enrolment <> 'exempt' AND o.died_on IS NULL AND r.enrolment <> 'exempt' AND r.died_on IS NULL)`,
		owner, reader).Scan(&ok)
	return ok, err
}

// Signaller is the part of a Temporal client that tells a request's workflow of a suspension.
type Signaller interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// SuspendAll ends every pending request and grant the citizen has, as owner or as delegate,
// because they became exempt or died: at once in PostgreSQL, where MayRead looks, and then
// in each request's workflow. Running it again signals again, so a retry after a failed
// signal completes the work; a workflow that has ended is skipped.
func (s *Store) SuspendAll(ctx context.Context, temporal Signaller, citizen uuid.UUID) error {
	rows, err := s.db.Query(ctx, `UPDATE reading_access SET status = 'suspended', updated_at = now()
		WHERE (citizen_id = $1 OR delegate_id = $1) AND status IN ('requested', 'granted', 'suspended')
		RETURNING id`, citizen)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := temporal.SignalWorkflow(ctx, WorkflowID(id), "", SuspendSignal, Suspension{Party: citizen})
		var gone *serviceerror.NotFound
		if err != nil && !errors.As(err, &gone) {
			return fmt.Errorf("suspend reading access %s: %w", id, err)
		}
	}
	return nil
}

// Party is the other side of a request or grant, as a mailbox page shows it.
type Party struct {
	Grant
	Name string // the other citizen's name
}

// SharedWith lists the mailboxes the delegate holds granted access to, with the owners' names.
func (s *Store) SharedWith(ctx context.Context, delegate uuid.UUID) ([]Party, error) {
	return s.parties(ctx, `a.delegate_id = $1 AND a.status = 'granted' AND o.enrolment <> 'exempt' AND o.died_on IS NULL`, "o", delegate)
}

// PendingFor lists the requests waiting for the citizen's answer, with the delegates' names.
func (s *Store) PendingFor(ctx context.Context, citizen uuid.UUID) ([]Party, error) {
	return s.parties(ctx, `a.citizen_id = $1 AND a.status = 'requested'`, "d", citizen)
}

// GrantedBy lists who may read the citizen's mailbox, with the delegates' names.
func (s *Store) GrantedBy(ctx context.Context, citizen uuid.UUID) ([]Party, error) {
	return s.parties(ctx, `a.citizen_id = $1 AND a.status = 'granted'`, "d", citizen)
}

func (s *Store) parties(ctx context.Context, where, nameOf string, id uuid.UUID) ([]Party, error) {
	rows, err := s.db.Query(ctx, `SELECT a.id, a.citizen_id, a.delegate_id, a.status, a.requested_at, a.respond_by, a.granted_by, `+nameOf+`.name
		FROM reading_access a JOIN citizens o ON o.id = a.citizen_id JOIN citizens d ON d.id = a.delegate_id
		WHERE `+where+` ORDER BY a.requested_at DESC`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Party, error) {
		var p Party
		err := r.Scan(&p.ID, &p.CitizenID, &p.DelegateID, &p.Status, &p.RequestedAt, &p.RespondBy, &p.GrantedBy, &p.Name)
		return p, err
	})
}
