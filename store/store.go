package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is the repository over a pgx pool.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a Store using pool; the schema must be migrated (Migrate).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return translate("ping", s.pool.Ping(ctx))
}

// inTx runs fn in a transaction that commits when fn returns nil.
func (s *Store) inTx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, fn)
	if err != nil {
		return translate(what, err)
	}
	return nil
}

func refString(typ, id string) string { return fmt.Sprintf("%s/%s", typ, id) }
