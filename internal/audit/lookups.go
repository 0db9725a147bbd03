// Package audit records who looked up whom in the population registry. A sender may ask which
// channel a letter to a citizen would take; each such question is written down, so that the
// citizen (or the supervisory authority) can be told who asked about them and when.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/cpr"
)

// Lookups is the look-up audit log.
type Lookups struct {
	db  *pgxpool.Pool
	key []byte
}

// NewLookups keeps the log in db, hashing CPR numbers with key.
func NewLookups(db *pgxpool.Pool, key []byte) *Lookups { return &Lookups{db: db, key: key} }

// Lookup is one recorded look-up.
type Lookup struct {
	SenderID string
	At       time.Time
	Found    bool
}

// hash is the keyed hash the log keeps instead of the CPR number: without the key, the log
// cannot be turned back into CPR numbers by hashing all of them (there are only a few million).
func (l *Lookups) hash(n cpr.Number) []byte {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte(n.Digits()))
	return m.Sum(nil)
}

// Record writes one look-up of n by sender; found says whether the registry knew n. It is
// written before the answer is given: a look-up that cannot be recorded is not answered.
func (l *Lookups) Record(ctx context.Context, sender string, n cpr.Number, found bool) error {
	_, err := l.db.Exec(ctx, `INSERT INTO registry_lookups (sender_id, cpr_hash, found) VALUES ($1, $2, $3)`,
		sender, l.hash(n), found)
	return err
}

// Of lists the look-ups of n, newest first.
func (l *Lookups) Of(ctx context.Context, n cpr.Number) ([]Lookup, error) {
	rows, err := l.db.Query(ctx, `SELECT sender_id, looked_up_at, found FROM registry_lookups
		WHERE cpr_hash = $1 ORDER BY looked_up_at DESC, id DESC`, l.hash(n))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Lookup
	for rows.Next() {
		var lu Lookup
		if err := rows.Scan(&lu.SenderID, &lu.At, &lu.Found); err != nil {
			return nil, err
		}
		out = append(out, lu)
	}
	return out, rows.Err()
}
