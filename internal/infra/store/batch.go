package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Lookup is one single-row query of a batch: its SQL, its arguments, and what reads the row.
type Lookup struct {
	SQL  string
	Args []any
	Scan func(pgx.Row) error
}

// LookupAll runs independent lookups in one round trip to PostgreSQL (a letter and its
// recipient, a sender and a recipient): every letter pays for each round trip on its way.
func LookupAll(ctx context.Context, db *pgxpool.Pool, lookups ...Lookup) error {
	batch := &pgx.Batch{}
	for _, l := range lookups {
		batch.Queue(l.SQL, l.Args...).QueryRow(l.Scan)
	}
	return db.SendBatch(ctx, batch).Close()
}

// Found reads a lookup's row into a pointer target, telling through found whether there was
// one, so that a missing row answers a question instead of failing the whole batch.
func Found(found *bool, scan func(pgx.Row) error) func(pgx.Row) error {
	return func(row pgx.Row) error {
		err := scan(row)
		*found = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	}
}

// Statement is one statement of ExecAll.
type Statement struct {
	SQL  string
	Args []any
}

// ExecAll runs statements in one round trip, in order. The batch goes as one pipeline with a
// single sync, so PostgreSQL runs it as one implicit transaction: all of it or none.
func ExecAll(ctx context.Context, db *pgxpool.Pool, stmts ...Statement) ([]int64, error) {
	batch := &pgx.Batch{}
	affected := make([]int64, len(stmts))
	for i, s := range stmts {
		batch.Queue(s.SQL, s.Args...).Exec(func(tag pgconn.CommandTag) error {
			affected[i] = tag.RowsAffected()
			return nil
		})
	}
	return affected, db.SendBatch(ctx, batch).Close()
}
