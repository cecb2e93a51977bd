package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is the repository over a pgx pool, or, inside Transaction, over one
// database transaction.
type Store struct {
	pool *pgxpool.Pool
	tx   pgx.Tx // set inside Transaction
}

// New returns a Store using pool; the schema must be migrated (Migrate).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// db is what both a pool and a transaction offer.
type db interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// q returns the transaction inside Transaction, the pool otherwise.
func (s *Store) q() db {
	if s.tx != nil {
		return s.tx
	}
	return s.pool
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return translate("ping", s.pool.Ping(ctx))
}

// Transaction runs fn with a Store whose every read and write happens in one
// database transaction, committed when fn returns nil and rolled back
// otherwise: the unit of a FHIR transaction Bundle.
func (s *Store) Transaction(ctx context.Context, fn func(tx *Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(&Store{pool: s.pool, tx: tx})
	})
}

// inTx runs fn in a transaction that commits when fn returns nil; inside
// Transaction it joins the surrounding one.
func (s *Store) inTx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	var err error
	if s.tx != nil {
		err = fn(s.tx)
	} else {
		err = pgx.BeginFunc(ctx, s.pool, fn)
	}
	if err != nil {
		return translate(what, err)
	}
	return nil
}

func refString(typ, id string) string { return fmt.Sprintf("%s/%s", typ, id) }

// Lock takes a transaction-scoped advisory lock on key; outside Transaction
// it is released at once, so callers lock inside one.
func (s *Store) Lock(ctx context.Context, key string) error {
	_, err := s.q().Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key)
	return translate("lock", err)
}
