package store

import (
	"context"
	"fmt"

	"github.com/hce-fhir/hce/fhir"
	"github.com/jackc/pgx/v5"
)

// existingIDs finds, among (routes, types, ids), those already stored, and
// locks them: claims for compartment types, current rows for the others.
const existingIDs = `SELECT type, id FROM %s
WHERE (route, type, id) IN (SELECT * FROM unnest($1::int[], $2::text[], $3::text[])) FOR UPDATE`

// Load stores many resources in one transaction, the bulk path of NDJSON
// loading: each resource with an id is created under it or, when it exists,
// updated; one without an id is created under a new id. New resources, the
// usual case, are written together, one multi-row INSERT per table.
func (s *Store) Load(ctx context.Context, rs []*fhir.Resource) ([]*fhir.Version, error) {
	out := make([]*fhir.Version, len(rs))
	err := s.inTx(ctx, "load", func(tx *Store) error {
		if err := tx.flush(ctx); err != nil {
			return err
		}
		existing, err := existing(ctx, tx.tx, rs)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for i, r := range rs {
			ref := r.Type + "/" + r.ID
			if existing[ref] || seen[ref] {
				// An update, or the same resource twice in one load.
				v, _, err := updateTx(ctx, tx, r, 0)
				if err != nil {
					return err
				}
				out[i] = v
				continue
			}
			seen[ref] = true
			v, err := createTx(tx, r)
			if err != nil {
				return err
			}
			if err := tx.flushIfFull(ctx); err != nil {
				return err
			}
			out[i] = v
		}
		return nil
	})
	return out, err
}

// existing gives ids to the resources without one and reports which of the
// others are stored, as "Type/id".
func existing(ctx context.Context, tx pgx.Tx, rs []*fhir.Resource) (map[string]bool, error) {
	type keys struct {
		routes     []int32
		types, ids []string
	}
	byTable := map[string]*keys{}
	for _, r := range rs {
		if r.ID == "" {
			r.ID = NewID(r)
			continue
		}
		table := tablesFor(r.Type).resources
		if claims(r.Type) {
			table = "resource_ids"
		}
		k := byTable[table]
		if k == nil {
			k = &keys{}
			byTable[table] = k
		}
		k.routes, k.types, k.ids = append(k.routes, fhir.RouteOf(r.ID)), append(k.types, r.Type), append(k.ids, r.ID)
	}
	found := map[string]bool{}
	for table, k := range byTable {
		rows, err := tx.Query(ctx, fmt.Sprintf(existingIDs, table), k.routes, k.types, k.ids)
		if err != nil {
			return nil, err
		}
		if err := forEach(rows, func(row pgx.Rows) error {
			var typ, id string
			if err := row.Scan(&typ, &id); err != nil {
				return err
			}
			found[typ+"/"+id] = true
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return found, nil
}
