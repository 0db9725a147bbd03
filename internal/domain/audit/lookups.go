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

	"digitalpost/internal/domain/cpr"
)

// Lookups is the look-up audit log.
type Lookups struct {
	db  *pgxpool.Pool
	key []byte
}

// NewLookups keeps the log in db, hashing CPR numbers with key.
func NewLookups(db *pgxpool.Pool, key []byte) *Lookups { return &Lookups{db: db, key: key} }

// Kind is what told the sender about the citizen.
type Kind string

const (
	LookupKind  Kind = "lookup"  // POST /v1/recipients/lookup
	PreviewKind Kind = "preview" // a batch preview (dry run) naming the citizen
	RefusalKind Kind = "refusal" // a letter, batch or NemSMS refused for who its recipient is
)

// Lookup is one recorded answer about a citizen.
type Lookup struct {
	SenderID string
	At       time.Time
	Kind     Kind
	Found    bool // the registry knew the number (false also when not told: a preview)
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
	_, err := l.db.Exec(ctx, `INSERT INTO registry_lookups (sender_id, cpr_hash, kind, found) VALUES ($1, $2, 'lookup', $3)`,
		sender, l.hash(n), found)
	return err
}

// RecordAll writes that sender was told something of kind about each of numbers (a preview's
// recipients, a refused run's), in one statement.
func (l *Lookups) RecordAll(ctx context.Context, sender string, kind Kind, numbers []cpr.Number) error {
	if len(numbers) == 0 {
		return nil
	}
	hashes := make([][]byte, len(numbers))
	for i, n := range numbers {
		hashes[i] = l.hash(n)
	}
	_, err := l.db.Exec(ctx, `INSERT INTO registry_lookups (sender_id, cpr_hash, kind)
		SELECT $1, h, $2 FROM unnest($3::bytea[]) AS h`, sender, string(kind), hashes)
	return err
}

// Of lists the look-ups of n, newest first.
func (l *Lookups) Of(ctx context.Context, n cpr.Number) ([]Lookup, error) {
	rows, err := l.db.Query(ctx, `SELECT sender_id, looked_up_at, kind, coalesce(found, false) FROM registry_lookups
		WHERE cpr_hash = $1 ORDER BY looked_up_at DESC, id DESC`, l.hash(n))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Lookup
	for rows.Next() {
		var lu Lookup
		if err := rows.Scan(&lu.SenderID, &lu.At, &lu.Kind, &lu.Found); err != nil {
			return nil, err
		}
		out = append(out, lu)
	}
	return out, rows.Err()
}
