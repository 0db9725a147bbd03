package print

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Purpose says why a letter went to print; one job per letter and purpose.
type Purpose string

const (
	PaperRoute    Purpose = "paper-route"    // under 15, exempt or physical-only (rules 2, 3)
	Escalation    Purpose = "escalation"     // not opened by the deadline (rule 6)
	WaitingNotice Purpose = "waiting-notice" // "digital post is waiting" for a never-logged-in citizen (rule 5)
)

// JobID is deterministic, so a retried print activity names the same job and the print
// house can drop a duplicate delivered after a crash.
func JobID(letter uuid.UUID, purpose Purpose) string {
	return "P-" + letter.String() + "-" + string(purpose)
}

// Record is a print job as stored.
type Record struct {
	LetterID uuid.UUID
	Purpose  Purpose
	Reason   string
	JobID    string
	PDFPath  string
	Pages    int
	Outcome  string
	// PostalCategory the job was posted with.
	PostalCategory string
}

// Jobs stores print jobs and their outcome (spooled, then posted / failed / returned).
type Jobs struct{ db *pgxpool.Pool }

func NewJobs(db *pgxpool.Pool) *Jobs { return &Jobs{db: db} }

// Find returns the job for a letter and purpose, if one was spooled.
func (j *Jobs) Find(ctx context.Context, letter uuid.UUID, purpose Purpose) (Record, bool, error) {
	var r Record
	err := j.db.QueryRow(ctx, `SELECT letter_id, purpose, reason, job_id, pdf_path, pages, outcome FROM print_jobs
		WHERE letter_id = $1 AND purpose = $2`, letter, purpose).
		Scan(&r.LetterID, &r.Purpose, &r.Reason, &r.JobID, &r.PDFPath, &r.Pages, &r.Outcome)
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, false, nil
	}
	return r, err == nil, err
}

// Spooled records a job handed to the print provider.
func (j *Jobs) Spooled(ctx context.Context, r Record) error {
	category := r.PostalCategory
	if category == "" {
		category = "economy"
	}
	_, err := j.db.Exec(ctx, `INSERT INTO print_jobs (letter_id, purpose, reason, job_id, pdf_path, pages, outcome, postal_category)
		VALUES ($1, $2, $3, $4, $5, $6, 'spooled', $7) ON CONFLICT (letter_id, purpose) DO NOTHING`,
		r.LetterID, r.Purpose, r.Reason, r.JobID, r.PDFPath, r.Pages, category)
	return err
}

// ForLetter lists a letter's print jobs.
func (j *Jobs) ForLetter(ctx context.Context, letter uuid.UUID) ([]Record, error) {
	rows, err := j.db.Query(ctx, `SELECT letter_id, purpose, reason, job_id, pdf_path, pages, outcome, postal_category FROM print_jobs
		WHERE letter_id = $1 ORDER BY created_at`, letter)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Record, error) {
		var r Record
		err := row.Scan(&r.LetterID, &r.Purpose, &r.Reason, &r.JobID, &r.PDFPath, &r.Pages, &r.Outcome, &r.PostalCategory)
		return r, err
	})
}
