// Package pagesessions is the pages' sign-ins (migration 00012_page_sessions): one row per
// sign-in, named by the id in the sealed cookie. The cookie says who; the row says whether the
// session still stands. Signing out ends the row, so a copy of the cookie ends with it in every
// API process (a list of ended sessions in one process's memory would end it in that one only).
package pagesessions

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Rows is the session table.
type Rows struct{ db *pgxpool.Pool }

// New is the session table on a pool.
func New(db *pgxpool.Pool) *Rows { return &Rows{db: db} }

// ErrTaken: a sign-in tried to open a session that was opened before. An OpenID Connect
// sign-in names its session when it starts, so its callback, replayed, is refused here even if
// the identity provider redeems the code twice.
var ErrTaken = errors.New("the sign-in was used before")

// Open records a new session. It also clears away a few expired rows: no sweeper to run, and
// SKIP LOCKED keeps concurrent sign-ins from waiting on each other's clearing.
func (t *Rows) Open(ctx context.Context, id uuid.UUID, role string, expires time.Time) error {
	tag, err := t.db.Exec(ctx, `
		WITH expired AS (
			DELETE FROM page_sessions WHERE id IN (
				SELECT id FROM page_sessions WHERE expires_at < now() ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED)
		)
		INSERT INTO page_sessions (id, role, expires_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		id, role, expires)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrTaken
	}
	return nil
}

// Standing tells whether a session is still signed in: opened, not ended, not expired.
func (t *Rows) Standing(ctx context.Context, id uuid.UUID) (bool, error) {
	var ok bool
	err := t.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM page_sessions
		WHERE id = $1 AND ended_at IS NULL AND expires_at > now())`, id).Scan(&ok)
	return ok, err
}

// End signs a session out; ending an ended one is harmless.
func (t *Rows) End(ctx context.Context, id uuid.UUID) error {
	_, err := t.db.Exec(ctx, `UPDATE page_sessions SET ended_at = coalesce(ended_at, now()) WHERE id = $1`, id)
	return err
}
