package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
)

const (
	lookupShard = `SELECT shard_key FROM resource_ids WHERE id = $1 AND type = $2`

	readCurrent = `SELECT version_id, last_updated, deleted, content FROM resources
WHERE shard_key = $1 AND type = $2 AND id = $3`

	readHistoryVersion = `SELECT version_id, last_updated, deleted, content FROM resource_history
WHERE shard_key = $1 AND type = $2 AND id = $3 AND version_id = $4`
)

// Read returns the current version of typ/id: fhir.ErrNotFound when it never
// existed, and the deletion version with fhir.ErrGone when it is deleted.
func (s *Store) Read(ctx context.Context, typ, id string) (*fhir.Version, error) {
	what := "read " + refString(typ, id)
	shard, err := s.shardOf(ctx, typ, id)
	if err != nil {
		return nil, notFound(translate(what, err), typ, id)
	}
	v := &fhir.Version{Type: typ, ID: id}
	if err := s.q().QueryRow(ctx, readCurrent, shard, typ, id).Scan(&v.VersionID, &v.LastUpdated, &v.Deleted, &v.Content); err != nil {
		return nil, notFound(translate(what, err), typ, id)
	}
	if v.Deleted {
		return v, fhir.Errorf(fhir.ErrGone, "deleted", refString(typ, id)+" was deleted (version "+fmt.Sprint(v.VersionID)+")")
	}
	return v, nil
}

// VRead returns version vid of typ/id; a deletion version comes with
// fhir.ErrGone.
func (s *Store) VRead(ctx context.Context, typ, id string, vid int64) (*fhir.Version, error) {
	what := fmt.Sprintf("vread %s/_history/%d", refString(typ, id), vid)
	shard, err := s.shardOf(ctx, typ, id)
	if err != nil {
		return nil, translate(what, err)
	}
	v, err := readVersion(ctx, s.q(), shard, typ, id, vid)
	if err != nil {
		return nil, translate(what, err)
	}
	if v.Deleted {
		return v, fmt.Errorf("store: %s: %w", what, fhir.ErrGone)
	}
	return v, nil
}

func readVersion(ctx context.Context, q db, shard, typ, id string, vid int64) (*fhir.Version, error) {
	v := &fhir.Version{Type: typ, ID: id}
	err := q.QueryRow(ctx, readHistoryVersion, shard, typ, id, vid).Scan(&v.VersionID, &v.LastUpdated, &v.Deleted, &v.Content)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// shardOf finds the shard key of typ/id. A Patient, and a resource of a type
// outside the Patient compartment, is keyed by its own id, so only resources
// inside the compartment need the routing table.
func (s *Store) shardOf(ctx context.Context, typ, id string) (string, error) {
	if typ == "Patient" || spec.PatientCompartment(typ) == nil {
		return id, nil
	}
	var shard string
	err := s.q().QueryRow(ctx, lookupShard, id, typ).Scan(&shard)
	return shard, err
}

// notFound gives a not-found error the message a client should read.
func notFound(err error, typ, id string) error {
	if errors.Is(err, fhir.ErrNotFound) {
		return fhir.Errorf(fhir.ErrNotFound, "not-found", refString(typ, id)+" is not known")
	}
	return err
}
