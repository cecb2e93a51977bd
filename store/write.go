package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/search/extract"
	"github.com/jackc/pgx/v5"
)

const (
	insertID = `INSERT INTO resource_ids (id, type, shard_key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`

	lockID = `SELECT shard_key FROM resource_ids WHERE id = $1 AND type = $2 FOR UPDATE`

	currentVersion = `SELECT version_id, deleted FROM resources WHERE shard_key = $1 AND type = $2 AND id = $3`

	insertCurrent = `INSERT INTO resources (shard_key, type, id, version_id, last_updated, deleted, content)
VALUES ($1, $2, $3, $4, $5, $6, $7)`

	updateCurrent = `UPDATE resources SET version_id = $4, last_updated = $5, deleted = $6, content = $7
WHERE shard_key = $1 AND type = $2 AND id = $3`

	insertHistory = `INSERT INTO resource_history (shard_key, type, id, version_id, last_updated, deleted, content)
VALUES ($1, $2, $3, $4, $5, $6, $7)`
)

// Create stores r as version 1 under r.ID, or under a new id when r.ID is
// empty; an id that is taken is fhir.ErrConflict.
func (s *Store) Create(ctx context.Context, r *fhir.Resource) (*fhir.Version, error) {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	var v *fhir.Version
	err := s.inTx(ctx, "create "+r.Type, func(tx pgx.Tx) error {
		var err error
		v, err = createTx(ctx, tx, r)
		return err
	})
	return v, err
}

// Update stores r as the next version of r.Type/r.ID, creating the resource
// when it does not exist (update as create). ifMatch, when not zero, is the
// version the client expects to replace. created reports whether no live
// version existed before.
func (s *Store) Update(ctx context.Context, r *fhir.Resource, ifMatch int64) (v *fhir.Version, created bool, err error) {
	err = s.inTx(ctx, "update "+refString(r.Type, r.ID), func(tx pgx.Tx) error {
		v, created, err = updateTx(ctx, tx, r, ifMatch)
		return err
	})
	return v, created, err
}

// Delete writes a deletion version of typ/id. Deleting a deleted resource
// changes nothing and returns its deletion version; deleting one that never
// existed returns fhir.ErrNotFound.
func (s *Store) Delete(ctx context.Context, typ, id string, ifMatch int64) (*fhir.Version, error) {
	var v *fhir.Version
	err := s.inTx(ctx, "delete "+refString(typ, id), func(tx pgx.Tx) error {
		var err error
		v, err = deleteTx(ctx, tx, typ, id, ifMatch)
		return err
	})
	return v, err
}

// createTx writes version 1 in one round trip: the routing row first, whose
// conflict (the id is taken) fails the create; the caller then rolls back
// what the rest of the batch wrote.
func createTx(ctx context.Context, tx pgx.Tx, r *fhir.Resource) (*fhir.Version, error) {
	shard := ShardKey(r)
	v, err := newVersion(r, 1, false)
	if err != nil {
		return nil, err
	}
	b := &pgx.Batch{}
	b.Queue(insertID, r.ID, r.Type, shard)
	queueVersion(b, shard, v, insertCurrent, "", extract.Extract(r))
	br := tx.SendBatch(ctx, b)
	tag, err := br.Exec()
	if err == nil && tag.RowsAffected() == 0 {
		err = fhir.Errorf(fhir.ErrConflict, "duplicate", fmt.Sprintf("%s/%s already exists", r.Type, r.ID))
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

func updateTx(ctx context.Context, tx pgx.Tx, r *fhir.Resource, ifMatch int64) (*fhir.Version, bool, error) {
	var oldShard string
	err := tx.QueryRow(ctx, lockID, r.ID, r.Type).Scan(&oldShard)
	if errors.Is(err, pgx.ErrNoRows) {
		if ifMatch != 0 {
			return nil, false, fhir.Errorf(fhir.ErrPreconditionFailed, "conflict", fmt.Sprintf("If-Match given but %s/%s does not exist", r.Type, r.ID))
		}
		v, err := createTx(ctx, tx, r)
		return v, true, err
	}
	if err != nil {
		return nil, false, err
	}
	var cur int64
	var deleted bool
	if err := tx.QueryRow(ctx, currentVersion, oldShard, r.Type, r.ID).Scan(&cur, &deleted); err != nil {
		return nil, false, err
	}
	if ifMatch != 0 && ifMatch != cur {
		return nil, false, stale(r.Type, r.ID, ifMatch, cur)
	}
	v, err := newVersion(r, cur+1, false)
	if err != nil {
		return nil, false, err
	}
	shard := ShardKey(r)
	if shard != oldShard {
		if err := moveShard(ctx, tx, r.Type, r.ID, oldShard, shard); err != nil {
			return nil, false, err
		}
	}
	return v, deleted, writeVersion(ctx, tx, shard, v, updateCurrent, oldShard, extract.Extract(r))
}

func deleteTx(ctx context.Context, tx pgx.Tx, typ, id string, ifMatch int64) (*fhir.Version, error) {
	var shard string
	if err := tx.QueryRow(ctx, lockID, id, typ).Scan(&shard); err != nil {
		return nil, err
	}
	var cur int64
	var deleted bool
	if err := tx.QueryRow(ctx, currentVersion, shard, typ, id).Scan(&cur, &deleted); err != nil {
		return nil, err
	}
	if ifMatch != 0 && ifMatch != cur {
		return nil, stale(typ, id, ifMatch, cur)
	}
	if deleted {
		return readVersion(ctx, tx, shard, typ, id, cur)
	}
	v := &fhir.Version{Type: typ, ID: id, VersionID: cur + 1, LastUpdated: now(), Deleted: true}
	return v, writeVersion(ctx, tx, shard, v, updateCurrent, shard, nil)
}

// writeVersion writes v as the current row (with current, an INSERT or an
// UPDATE statement), appends it to the history and replaces the resource's
// index rows (those under oldShard, when not empty, by x), in one round trip.
func writeVersion(ctx context.Context, tx pgx.Tx, shard string, v *fhir.Version, current, oldShard string, x *extract.Index) error {
	b := &pgx.Batch{}
	queueVersion(b, shard, v, current, oldShard, x)
	return tx.SendBatch(ctx, b).Close()
}

// queueVersion queues what writeVersion writes.
func queueVersion(b *pgx.Batch, shard string, v *fhir.Version, current, oldShard string, x *extract.Index) {
	var content any // a SQL NULL for deletions
	if !v.Deleted {
		content = string(v.Content)
	}
	b.Queue(current, shard, v.Type, v.ID, v.VersionID, v.LastUpdated, v.Deleted, content)
	b.Queue(insertHistory, shard, v.Type, v.ID, v.VersionID, v.LastUpdated, v.Deleted, content)
	if oldShard != "" {
		queueDeleteIndex(b, oldShard, v.Type, v.ID)
	}
	if x != nil {
		queueIndex(b, shard, v.Type, v.ID, x)
	}
}

// moveShard re-homes a resource whose patient changed: its routing row,
// current row and history follow it to the new shard key, so that the
// patient's compartment stays on one shard.
func moveShard(ctx context.Context, tx pgx.Tx, typ, id, from, to string) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE resource_ids SET shard_key = $3 WHERE id = $1 AND type = $2`, id, typ, to)
	b.Queue(`INSERT INTO resources (shard_key, type, id, version_id, last_updated, deleted, content)
SELECT $4, type, id, version_id, last_updated, deleted, content FROM resources WHERE shard_key = $1 AND type = $2 AND id = $3`, from, typ, id, to)
	b.Queue(`DELETE FROM resources WHERE shard_key = $1 AND type = $2 AND id = $3`, from, typ, id)
	b.Queue(`INSERT INTO resource_history (shard_key, type, id, version_id, last_updated, deleted, content)
SELECT $4, type, id, version_id, last_updated, deleted, content FROM resource_history WHERE shard_key = $1 AND type = $2 AND id = $3`, from, typ, id, to)
	b.Queue(`DELETE FROM resource_history WHERE shard_key = $1 AND type = $2 AND id = $3`, from, typ, id)
	return tx.SendBatch(ctx, b).Close()
}

func stale(typ, id string, want, cur int64) error {
	return fhir.Errorf(fhir.ErrPreconditionFailed, "conflict",
		fmt.Sprintf("If-Match expects version %d of %s/%s but the current version is %d", want, typ, id, cur))
}

// newVersion stamps r with its id and meta.versionId/lastUpdated, keeping the
// rest of meta (profile, tag, security, source), and encodes it.
func newVersion(r *fhir.Resource, version int64, deleted bool) (*fhir.Version, error) {
	v := &fhir.Version{Type: r.Type, ID: r.ID, VersionID: version, LastUpdated: now(), Deleted: deleted}
	meta, _ := r.Content["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["versionId"] = fmt.Sprint(version)
	meta["lastUpdated"] = fhir.FormatInstant(v.LastUpdated)
	r.Content["meta"] = meta
	r.Content["id"] = r.ID
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r.Content); err != nil {
		return nil, fhir.Invalid("cannot encode resource: " + err.Error())
	}
	v.Content = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return v, nil
}

// now is the version timestamp, truncated to what PostgreSQL stores.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

const routeForUpdate = `SELECT id, type FROM resource_ids
WHERE (id, type) IN (SELECT * FROM unnest($1::text[], $2::text[])) FOR UPDATE`

// Load stores many resources in one transaction, the bulk path of NDJSON
// loading: each resource with an id is created under it or, when it exists,
// updated; one without an id is created under a new id. New resources, the
// usual case, are written in a single round trip together.
func (s *Store) Load(ctx context.Context, rs []*fhir.Resource) ([]*fhir.Version, error) {
	out := make([]*fhir.Version, len(rs))
	err := s.inTx(ctx, "load", func(tx pgx.Tx) error {
		ids, types := make([]string, 0, len(rs)), make([]string, 0, len(rs))
		for _, r := range rs {
			if r.ID == "" {
				r.ID = uuid.NewString()
			} else {
				ids, types = append(ids, r.ID), append(types, r.Type)
			}
		}
		existing := map[string]bool{}
		if len(ids) > 0 {
			rows, err := tx.Query(ctx, routeForUpdate, ids, types)
			if err != nil {
				return err
			}
			if err := forEach(rows, func(row pgx.Rows) error {
				var id, typ string
				if err := row.Scan(&id, &typ); err != nil {
					return err
				}
				existing[typ+"/"+id] = true
				return nil
			}); err != nil {
				return err
			}
		}
		b := &pgx.Batch{}
		seen := map[string]bool{}
		for i, r := range rs {
			ref := r.Type + "/" + r.ID
			if existing[ref] || seen[ref] {
				// An update, or the same resource twice in one load: the plain
				// path, after what is queued.
				if b.Len() > 0 {
					if err := tx.SendBatch(ctx, b).Close(); err != nil {
						return err
					}
					b = &pgx.Batch{}
				}
				v, _, err := updateTx(ctx, tx, r, 0)
				if err != nil {
					return err
				}
				out[i] = v
				continue
			}
			seen[ref] = true
			v, err := newVersion(r, 1, false)
			if err != nil {
				return err
			}
			shard := ShardKey(r)
			// Without ON CONFLICT: a concurrent creator of the same id fails the load.
			b.Queue(`INSERT INTO resource_ids (id, type, shard_key) VALUES ($1, $2, $3)`, r.ID, r.Type, shard)
			queueVersion(b, shard, v, insertCurrent, "", extract.Extract(r))
			out[i] = v
		}
		if b.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return out, err
}
