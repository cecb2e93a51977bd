package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/hce-fhir/hce/fhir"
	"github.com/jackc/pgx/v5"
)

// The statements by id take the table set's names; every one filters on
// route, so Citus sends it to one shard.
const (
	readCurrent = `SELECT version_id, last_updated, deleted, content FROM %s WHERE route = $1 AND type = $2 AND id = $3`

	readHistoryVersion = `SELECT version_id, last_updated, deleted, content FROM %s
WHERE route = $1 AND type = $2 AND id = $3 AND version_id = $4`

	lookupHome = `SELECT home FROM resource_ids WHERE route = $1 AND type = $2 AND id = $3`
)

// Read returns the current version of typ/id: fhir.ErrNotFound when it never
// existed, and the deletion version with fhir.ErrGone when it is deleted.
// A server-assigned id names its route: one statement on one shard.
func (s *Store) Read(ctx context.Context, typ, id string) (*fhir.Version, error) {
	if err := s.flush(ctx); err != nil {
		return nil, translate("write", err)
	}
	if typ == auditType {
		return s.readAuditEvent(ctx, id)
	}
	t := tablesFor(typ)
	v := &fhir.Version{Type: typ, ID: id}
	err := atHome(ctx, s.q(), typ, id, func(route int32) error {
		return s.q().QueryRow(ctx, t.readCurrent, route, typ, id).
			Scan(&v.VersionID, &v.LastUpdated, &v.Deleted, &v.Content)
	})
	if err != nil {
		return nil, notFound(translate("read "+refString(typ, id), err), typ, id)
	}
	if v.Deleted {
		return v, fhir.Errorf(fhir.ErrGone, "deleted", refString(typ, id)+" was deleted (version "+fmt.Sprint(v.VersionID)+")")
	}
	return v, nil
}

// VRead returns version vid of typ/id; a deletion version comes with
// fhir.ErrGone.
func (s *Store) VRead(ctx context.Context, typ, id string, vid int64) (*fhir.Version, error) {
	if err := s.flush(ctx); err != nil {
		return nil, translate("write", err)
	}
	if typ == auditType {
		v, err := s.readAuditEvent(ctx, id)
		if err == nil && vid != 1 {
			return nil, fhir.Errorf(fhir.ErrNotFound, "not-found", fmt.Sprintf("%s has only version 1", refString(typ, id)))
		}
		return v, err
	}
	var v *fhir.Version
	err := atHome(ctx, s.q(), typ, id, func(route int32) error {
		var err error
		v, err = readVersion(ctx, s.q(), route, typ, id, vid)
		return err
	})
	if err != nil {
		return nil, translate(vreadWhat(typ, id, vid), err)
	}
	if v.Deleted {
		return v, fmt.Errorf("store: %s: %w", vreadWhat(typ, id, vid), fhir.ErrGone)
	}
	return v, nil
}

func readVersion(ctx context.Context, q db, route int32, typ, id string, vid int64) (*fhir.Version, error) {
	v := &fhir.Version{Type: typ, ID: id}
	err := q.QueryRow(ctx, tablesFor(typ).readVersion, route, typ, id, vid).
		Scan(&v.VersionID, &v.LastUpdated, &v.Deleted, &v.Content)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// vreadWhat names a vread in its errors; built only when there is one.
func vreadWhat(typ, id string, vid int64) string {
	return fmt.Sprintf("vread %s/_history/%d", refString(typ, id), vid)
}

// atHome runs fn at the route typ/id names and, when fn finds nothing
// (pgx.ErrNoRows) there, at the route its claim forwards to: a
// client-assigned id of a resource whose patient's route differs. A
// server-assigned id costs one statement; a forwarded one three.
func atHome(ctx context.Context, q db, typ, id string, fn func(route int32) error) error {
	route := fhir.RouteOf(id)
	err := fn(route)
	if !errors.Is(err, pgx.ErrNoRows) || !claims(typ) {
		return err
	}
	var home int32
	if err := q.QueryRow(ctx, lookupHome, route, typ, id).Scan(&home); err != nil {
		return err
	}
	if home == route {
		return pgx.ErrNoRows
	}
	return fn(home)
}

// notFound gives a not-found error the message a client should read.
func notFound(err error, typ, id string) error {
	if errors.Is(err, fhir.ErrNotFound) {
		return fhir.Errorf(fhir.ErrNotFound, "not-found", refString(typ, id)+" is not known")
	}
	return err
}
