package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is the repository over a pgx pool, or, inside Transaction, over one
// database transaction.
type Store struct {
	pool *pgxpool.Pool
	tx   pgx.Tx   // set inside Transaction
	pend *pending // inside Transaction: rows not yet written
	an   *analyzer
	kind *dbKind
	// wake tells this process's export runner that a job was accepted.
	wake chan struct{}
}

// New returns a Store using pool; the schema must be migrated (Migrate).
func New(pool *pgxpool.Pool) *Store {
	s := &Store{pool: pool, wake: make(chan struct{}, 1), kind: &dbKind{}}
	s.an = &analyzer{run: func(ctx context.Context) error {
		_, err := pool.Exec(ctx, `ANALYZE `+analyzed)
		return err
	}}
	return s
}

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

// flush writes the transaction's pending rows: before every read, so that a
// transaction reads its own writes, and before it commits.
func (s *Store) flush(ctx context.Context) error {
	if s.pend == nil {
		return nil
	}
	n := s.pend.resources()
	if err := s.pend.flush(ctx, s.tx); err != nil {
		return err
	}
	s.an.wrote(n)
	return nil
}

// flushIfFull writes the pending rows when there are many: a large Bundle
// then holds a bounded number of rows in memory.
func (s *Store) flushIfFull(ctx context.Context) error {
	if s.pend == nil || !s.pend.full() {
		return nil
	}
	return s.flush(ctx)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return translate("ping", s.pool.Ping(ctx))
}

// Transaction runs fn with a Store whose every read and write happens in one
// database transaction, committed when fn returns nil and rolled back
// otherwise: the unit of a FHIR transaction Bundle.
//
// Inside a transaction it runs fn in a savepoint that an error rolls back
// alone, the unit of a batch Bundle's entry. Its rows join the surrounding
// transaction's pending rows, written together at its commit: reads in a
// savepoint see what the transaction wrote before and what the savepoint
// wrote, not the pending rows of earlier savepoints, as a batch's entries
// may not depend on each other.
func (s *Store) Transaction(ctx context.Context, fn func(tx *Store) error) error {
	if s.tx != nil {
		return translate("transaction", pgx.BeginFunc(ctx, s.tx, func(sp pgx.Tx) error {
			inner := &Store{pool: s.pool, tx: sp, pend: &pending{}, an: s.an, kind: s.kind}
			if err := fn(inner); err != nil {
				return err
			}
			s.pend.merge(inner.pend)
			return nil
		}))
	}
	return translate("transaction", s.begin(ctx, fn))
}

// begin runs fn with a Store in a new transaction that writes fn's pending
// rows and commits when fn returns nil.
func (s *Store) begin(ctx context.Context, fn func(tx *Store) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		st := &Store{pool: s.pool, tx: tx, pend: &pending{}, an: s.an, kind: s.kind}
		if err := fn(st); err != nil {
			return err
		}
		return st.flush(ctx)
	})
}

// inTx runs fn with a Store in a transaction that commits when fn returns
// nil; inside Transaction it joins the surrounding one.
func (s *Store) inTx(ctx context.Context, what string, fn func(tx *Store) error) error {
	if s.tx != nil {
		return translate(what, fn(s))
	}
	return translate(what, s.begin(ctx, fn))
}

func refString(typ, id string) string { return typ + "/" + id }

// Lock takes a transaction-scoped advisory lock on key; outside Transaction
// it is released at once, so callers lock inside one.
func (s *Store) Lock(ctx context.Context, key string) error {
	_, err := s.q().Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key)
	return translate("lock", err)
}
