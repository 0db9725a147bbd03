// Package printhouse takes the print house's answers about spooled jobs: receipts that a
// job was posted, failed with a reason, came back as undeliverable, or (registered with
// proof of receipt) was delivered. Receipts arrive as files in a folder beside the spool or
// through the API's authenticated endpoint; each is recorded as it came, and moves its job and
// letter forward only.
package printhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/adapters/print"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/telemetry"
)

// Outcomes a receipt can report.
const (
	Posted    = "posted"    // handed to the postal service
	Failed    = "failed"    // could not be printed or posted; Reason says why
	Returned  = "returned"  // came back as undeliverable
	Delivered = "delivered" // registered with proof: delivered against a signature
)

// Receipt is one answer from the print house, as its files and the HTTP endpoint carry it.
type Receipt struct {
	JobID   string    `json:"job_id"`
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// Effect is what a receipt did.
type Effect string

const (
	Applied    Effect = "applied"      // the job (and its letter) moved forward
	Duplicate  Effect = "duplicate"    // the job already had this outcome
	OutOfOrder Effect = "out_of_order" // the job is already further along (say, posted after returned)
	UnknownJob Effect = "unknown_job"  // no such job was spooled
)

// rank orders a job's outcomes: a receipt moves a job only to a higher rank.
var rank = map[string]int{"spooled": 0, Failed: 1, Posted: 1, Returned: 2, Delivered: 2}

// Validate checks a receipt's fields, naming the one that breaks a rule.
func (r Receipt) Validate() error {
	var errs fielderr.List
	if strings.TrimSpace(r.JobID) == "" {
		errs.Add("job_id", "is required")
	} else {
		errs.CheckText("job_id", r.JobID)
	}
	switch r.Outcome {
	case Posted, Returned, Delivered:
	case Failed:
		if strings.TrimSpace(r.Reason) == "" {
			errs.Add("reason", "is required when the outcome is failed")
		}
	default:
		errs.Add("outcome", "must be posted, failed, returned or delivered")
	}
	errs.CheckText("reason", r.Reason)
	if r.At.IsZero() {
		errs.Add("at", "is required: when it happened, RFC 3339")
	}
	return errs.Err()
}

// Receipts applies and lists receipts.
type Receipts struct {
	db      *pgxpool.Pool
	Metrics *telemetry.Metrics // nil: no metrics
}

func New(db *pgxpool.Pool) *Receipts { return &Receipts{db: db} }

// Apply records a receipt and, when it moves the job forward, the job's and the letter's new
// state, in one transaction. Duplicates, receipts out of order and receipts for unknown jobs
// are recorded with that effect and change nothing else. source names where it came from.
func (rs *Receipts) Apply(ctx context.Context, r Receipt, source string) (Effect, error) {
	if err := r.Validate(); err != nil {
		return "", err
	}
	var effect Effect
	err := pgx.BeginFunc(ctx, rs.db, func(tx pgx.Tx) error {
		var letter uuid.UUID
		var purpose, outcome, category string
		err := tx.QueryRow(ctx, `SELECT letter_id, purpose, outcome, postal_category FROM print_jobs WHERE job_id = $1 FOR UPDATE`,
			r.JobID).Scan(&letter, &purpose, &outcome, &category)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			effect = UnknownJob
		case err != nil:
			return err
		case outcome == r.Outcome:
			effect = Duplicate
		case rank[r.Outcome] <= rank[outcome], outcome == Failed:
			effect = OutOfOrder
		case r.Outcome == Delivered && category != string(letters.RegisteredProof):
			// Proof of delivery exists only for registered_proof; anything else is the print
			// house's mistake, recorded and not believed.
			effect = OutOfOrder
		default:
			effect = Applied
			if _, err := tx.Exec(ctx, `UPDATE print_jobs SET outcome = $2, updated_at = now() WHERE job_id = $1`, r.JobID, r.Outcome); err != nil {
				return err
			}
			if err := moveLetter(ctx, tx, letter, print.Purpose(purpose), r); err != nil {
				return err
			}
		}
		defer rs.Metrics.Receipt(r.Outcome, string(effect))
		_, err = tx.Exec(ctx, `INSERT INTO print_receipts (job_id, outcome, reason, happened_at, effect, source) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.JobID, r.Outcome, r.Reason, r.At, effect, source)
		return err
	})
	return effect, err
}

// moveLetter gives the letter the state its print job reached. The notice that digital post
// is waiting is a job of its own and leaves the letter as it is. A receipt may come before
// the workflow has recorded the letter as printed: the channel is set here too.
func moveLetter(ctx context.Context, tx pgx.Tx, letter uuid.UUID, purpose print.Purpose, r Receipt) error {
	if purpose == print.WaitingNotice {
		return nil
	}
	// Delivered with proof implies posted: the letter is posted, and its job and receipts
	// show the proof.
	status := map[string]letters.Status{Posted: letters.Posted, Delivered: letters.Posted, Returned: letters.Returned,
		Failed: letters.PrintFailed}[r.Outcome]
	channel := letters.Paper
	if purpose == print.Escalation {
		channel = letters.DigitalThenPaper
	}
	reason := ""
	switch r.Outcome {
	case Failed:
		reason = "the print house could not print or post the letter: " + r.Reason
	case Returned:
		reason = strings.TrimSpace("returned to the sender as undeliverable " + parenthesised(r.Reason))
	}
	_, err := tx.Exec(ctx, `UPDATE letters SET status = $2, channel = $3, failure_reason = $4, updated_at = now() WHERE id = $1`,
		letter, status, channel, reason)
	return err
}

func parenthesised(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

// Record is a receipt as it was recorded.
type Record struct {
	Receipt
	Effect     Effect
	Source     string
	ReceivedAt time.Time
}

// ForLetter lists the receipts for a letter's print jobs, oldest first.
func (rs *Receipts) ForLetter(ctx context.Context, letter uuid.UUID) ([]Record, error) {
	rows, err := rs.db.Query(ctx, `SELECT r.job_id, r.outcome, r.reason, r.happened_at, r.effect, r.source, r.received_at
		FROM print_receipts r JOIN print_jobs j ON j.job_id = r.job_id WHERE j.letter_id = $1 ORDER BY r.received_at, r.id`, letter)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Record, error) {
		var r Record
		err := row.Scan(&r.JobID, &r.Outcome, &r.Reason, &r.At, &r.Effect, &r.Source, &r.ReceivedAt)
		return r, err
	})
}

// Describe says what a recorded receipt meant, for a letter's timeline.
func (r Record) Describe() string {
	what := map[string]string{Posted: "posted by the print house", Failed: "the print house failed: " + r.Reason,
		Returned: "returned to the sender as undeliverable " + parenthesised(r.Reason), Delivered: "delivered with proof of receipt"}[r.Outcome]
	if r.Effect != Applied {
		what = fmt.Sprintf("%s (receipt %s, ignored)", what, strings.ReplaceAll(string(r.Effect), "_", " "))
	}
	return strings.TrimSpace(what)
}
