package exemption

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/infra/store"
)

// ErrNotFound is returned for an unknown case id.
var ErrNotFound = errors.New("no such exemption case")

// Store keeps cases in PostgreSQL.
type Store struct{ db *pgxpool.Pool }

func NewStore(db *pgxpool.Pool) *Store { return &Store{db: db} }

// Create stores a new case.
func (s *Store) Create(ctx context.Context, c Case) error {
	if c.Grounds == nil {
		c.Grounds = []Ground{} // none named: the caseworker records one with the decision
	}
	_, err := s.db.Exec(ctx, `INSERT INTO exemption_cases (id, citizen_id, municipality_id, grounds, representative_name,
		representative_id, poa_filename, poa_document, status, service_deadline, caseworker)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.ID, c.CitizenID, c.MunicipalityID, c.Grounds, c.RepresentativeName, c.RepresentativeID, c.POAFilename,
		c.POADocument, c.Status, c.ServiceDeadline, c.Caseworker)
	if store.IsUniqueViolation(err) { // exemption_cases_one_open: the citizen's open case
		return ErrOpenCase
	}
	return err
}

// ErrOpenCase: the citizen already has an open case.
var ErrOpenCase = errors.New("the citizen already has an open exemption case")

// OpenFor returns the citizen's open case, if any.
func (s *Store) OpenFor(ctx context.Context, citizen uuid.UUID) (Case, bool, error) {
	c, err := scanCase(s.db.QueryRow(ctx, `SELECT `+caseColumns+` FROM exemption_cases
		WHERE citizen_id = $1 AND status IN ('awaiting_proxy_verification', 'awaiting_decision')`, citizen))
	if errors.Is(err, ErrNotFound) {
		return Case{}, false, nil
	}
	return c, err == nil, err
}

// LatestApproved is the citizen's most recent approved case, if any: the exemption in force.
func (s *Store) LatestApproved(ctx context.Context, citizen uuid.UUID) (Case, bool, error) {
	c, err := scanCase(s.db.QueryRow(ctx, `SELECT `+caseColumns+` FROM exemption_cases
		WHERE citizen_id = $1 AND status = 'approved' ORDER BY updated_at DESC LIMIT 1`, citizen))
	if errors.Is(err, ErrNotFound) {
		return Case{}, false, nil
	}
	return c, err == nil, err
}

const caseColumns = `id, citizen_id, municipality_id, grounds, representative_name, representative_id, poa_filename,
	status, overdue, reason, caseworker, service_deadline, decision_letter_id, created_at, updated_at`

func scanCase(row pgx.Row) (Case, error) {
	var c Case
	var gs []string
	err := row.Scan(&c.ID, &c.CitizenID, &c.MunicipalityID, &gs, &c.RepresentativeName, &c.RepresentativeID,
		&c.POAFilename, &c.Status, &c.Overdue, &c.Reason, &c.Caseworker, &c.ServiceDeadline, &c.DecisionLetterID,
		&c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	for _, g := range gs {
		c.Grounds = append(c.Grounds, Ground(g))
	}
	return c, err
}

// MarkStarted confirms that the case's workflow runs, so the recovery sweep leaves it be.
func (s *Store) MarkStarted(ctx context.Context, id uuid.UUID) error {
	_, err := s.db.Exec(ctx, `UPDATE exemption_cases SET started_at = now() WHERE id = $1 AND started_at IS NULL`, id)
	return err
}

// Unstarted lists cases registered before the cutoff whose workflow start was never confirmed.
func (s *Store) Unstarted(ctx context.Context, before time.Time, limit int) ([]Case, error) {
	rows, err := s.db.Query(ctx, `SELECT `+caseColumns+` FROM exemption_cases
		WHERE started_at IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Case, error) { return scanCase(r) })
}

// Get loads a case (without the power-of-attorney document).
func (s *Store) Get(ctx context.Context, id uuid.UUID) (Case, error) {
	return scanCase(s.db.QueryRow(ctx, `SELECT `+caseColumns+` FROM exemption_cases WHERE id = $1`, id))
}

// SetStatus records the case's state as the workflow decided it.
func (s *Store) SetStatus(ctx context.Context, id uuid.UUID, status Status, reason, caseworker string, grounds ...string) error {
	if grounds == nil {
		grounds = []string{}
	}
	_, err := s.db.Exec(ctx, `UPDATE exemption_cases SET status = $2, reason = $3,
		caseworker = CASE WHEN $4 = '' THEN caseworker ELSE $4 END,
		grounds = ARRAY(SELECT DISTINCT g FROM unnest(grounds || $5::text[]) g ORDER BY g), updated_at = now() WHERE id = $1`,
		id, status, reason, caseworker, grounds)
	return err
}

// SetDecisionLetter links the letter that tells the citizen the decision.
func (s *Store) SetDecisionLetter(ctx context.Context, id, letter uuid.UUID) error {
	_, err := s.db.Exec(ctx, `UPDATE exemption_cases SET decision_letter_id = $2, updated_at = now() WHERE id = $1`, id, letter)
	return err
}

// RaiseReminder puts reminder number n on the caseworker queue and marks the case overdue;
// raising the same reminder twice is harmless.
func (s *Store) RaiseReminder(ctx context.Context, id uuid.UUID, n int) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO caseworker_reminders (case_id, number) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, n); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE exemption_cases SET overdue = true, updated_at = now() WHERE id = $1`, id)
		return err
	})
}

// Reminders counts the reminders raised for a case.
func (s *Store) Reminders(ctx context.Context, id uuid.UUID) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM caseworker_reminders WHERE case_id = $1`, id).Scan(&n)
	return n, err
}

// Filter selects cases for the caseworker's list.
type Filter struct {
	OpenOnly    bool
	OverdueOnly bool
	// OverdueFirst orders overdue cases before the rest, each oldest first: the desk's queue.
	OverdueFirst bool
}

// List returns cases, oldest first (the order a caseworker works them), overdue ones first if asked.
func (s *Store) List(ctx context.Context, f Filter) ([]Case, error) {
	rows, err := s.db.Query(ctx, `SELECT `+caseColumns+` FROM exemption_cases
		WHERE (NOT $1 OR status NOT IN ('approved', 'rejected')) AND (NOT $2 OR (overdue AND status NOT IN ('approved', 'rejected')))
		ORDER BY CASE WHEN $3 AND overdue THEN 0 ELSE 1 END, created_at LIMIT 500`, f.OpenOnly, f.OverdueOnly, f.OverdueFirst)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Case, error) { return scanCase(r) })
}

// PowerOfAttorney loads the document a representative brought, for the caseworker to check.
func (s *Store) PowerOfAttorney(ctx context.Context, id uuid.UUID) (filename string, content []byte, err error) {
	err = s.db.QueryRow(ctx, `SELECT poa_filename, coalesce(poa_document, ''::bytea) FROM exemption_cases WHERE id = $1`, id).Scan(&filename, &content)
	if errors.Is(err, pgx.ErrNoRows) {
		err = ErrNotFound
	}
	return filename, content, err
}
