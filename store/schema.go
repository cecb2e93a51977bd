package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/hce-fhir/hce/migrations"
)

// ErrSchemaBehind means the database schema is older than the migrations
// this server was built with: they have not run yet (hce migrate up, or the
// deployment's migration job).
var ErrSchemaBehind = errors.New("the database schema is behind this server's migrations")

const (
	// schemaTracked tells whether goose's table exists: without it no
	// migration has run.
	schemaTracked = `SELECT to_regclass('goose_db_version') IS NOT NULL`

	// schemaVersion reads goose's table: the highest version whose latest
	// row is applied.
	schemaVersion = `SELECT coalesce(max(version_id), 0) FROM (
  SELECT DISTINCT ON (version_id) version_id, is_applied FROM goose_db_version ORDER BY version_id, id DESC) v
WHERE is_applied`
)

// SchemaVersion returns the version of the database schema: the newest
// migration applied, 0 when none has run.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var tracked bool
	if err := s.q().QueryRow(ctx, schemaTracked).Scan(&tracked); err != nil || !tracked {
		return 0, translate("schema version", err)
	}
	var v int64
	err := s.q().QueryRow(ctx, schemaVersion).Scan(&v)
	return v, translate("schema version", err)
}

// CheckSchema returns an error wrapping ErrSchemaBehind, with both versions,
// while the schema is older than the newest embedded migration. A newer
// schema is accepted: during a rolling upgrade the migrations of the next
// release run before its servers replace this one's.
func (s *Store) CheckSchema(ctx context.Context) error {
	have, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if want := migrations.Latest(); have < want {
		return fmt.Errorf("%w: schema at version %d, this server needs %d (run hce migrate up)", ErrSchemaBehind, have, want)
	}
	return nil
}
