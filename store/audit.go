package store

import (
	"context"
	"encoding/hex"
	"strings"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/jackc/pgx/v5"
)

// AuditEvents live in audit_events, one row each with the fields they are
// searched by as columns (migration 00007): one per interaction, they would
// cost more in the resource tables than the interactions they record. They
// are written once, by RecordAudit, and read as version 1 of themselves.

// auditType is the resource type stored in audit_events.
const auditType = "AuditEvent"

var auditColumns = []string{"id", "recorded", "patient", "agent", "entity", "action", "outcome", "subtype", "client", "address", "content"}

// AuditRecord is an AuditEvent ready to store, as the audit package makes
// it: a version 7 UUID as its id (so that ids, like recorded, grow with
// time and every insert lands at the end of the indexes), the fields it is
// searched by, and its JSON with meta (version 1, lastUpdated = Recorded).
type AuditRecord struct {
	ID                                               string
	Recorded                                         time.Time
	Patient, Agent, Entity, Subtype, Client, Address string
	Action, Outcome                                  string
	Content                                          []byte
}

// RecordAudit stores AuditEvents, all or none, with one COPY.
func (s *Store) RecordAudit(ctx context.Context, events []AuditRecord) error {
	rows := make([][]any, len(events))
	for i, e := range events {
		id, ok := parseUUID(e.ID)
		if !ok {
			return fhir.Invalid("an AuditEvent id must be a UUID: "+e.ID, "AuditEvent.id")
		}
		rows[i] = []any{id, e.Recorded, null(e.Patient), null(e.Agent), null(e.Entity), e.Action, e.Outcome,
			null(e.Subtype), null(e.Client), null(e.Address), e.Content}
	}
	// Without waiting for the commit to reach the disk: the queue these
	// events come from is memory, so a crash loses its tail anyway, while
	// waiting for each batch's flush would let the queue grow. A clean
	// shutdown writes everything out.
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_events"}, auditColumns, pgx.CopyFromRows(rows))
		return err
	})
	return translate("record audit events", err)
}

// null is SQL NULL for an empty field, so that the partial indexes skip it.
func null(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// parseUUID reads a lowercase or uppercase UUID; ok is false for any other
// id, which then names no AuditEvent.
func parseUUID(s string) (u [16]byte, ok bool) {
	if !fhir.IsUUID(strings.ToLower(s)) {
		return u, false
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		return u, false
	}
	copy(u[:], b)
	return u, true
}

const readAudit = `SELECT recorded, content FROM audit_events WHERE id = $1`

// readAuditEvent reads one AuditEvent as version 1.
func (s *Store) readAuditEvent(ctx context.Context, id string) (*fhir.Version, error) {
	u, ok := parseUUID(id)
	if !ok {
		return nil, notFound(fhir.ErrNotFound, auditType, id)
	}
	v := &fhir.Version{Type: auditType, ID: id, VersionID: 1}
	if err := s.q().QueryRow(ctx, readAudit, u).Scan(&v.LastUpdated, &v.Content); err != nil {
		return nil, notFound(translate("read "+refString(auditType, id), err), auditType, id)
	}
	return v, nil
}

const auditHistoryPage = `SELECT id::text, recorded, content FROM audit_events
WHERE recorded >= $1 AND (recorded, id) < ($2, $3) ORDER BY recorded DESC, id DESC LIMIT $4`

// auditHistory is the history of AuditEvents: each has one version, so an
// instance's history is the event, and the type's is the events newest first.
func (s *Store) auditHistory(ctx context.Context, q fhir.HistoryQuery, cur historyCursor, limit int) ([]*fhir.Version, error) {
	if q.ID != "" {
		v, err := s.readAuditEvent(ctx, q.ID)
		if err != nil || v.LastUpdated.Before(q.Since) || cur.V <= 1 {
			return nil, err
		}
		return []*fhir.Version{v}, nil
	}
	after, ok := parseUUID(cur.ID)
	if !ok {
		after = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	}
	return s.auditEvents(ctx, auditHistoryPage, q.Since, cur.T, after, limit)
}

// auditEvents runs a statement that selects id, recorded and content of
// audit_events, and returns the events as versions 1.
func (s *Store) auditEvents(ctx context.Context, sql string, args ...any) ([]*fhir.Version, error) {
	rows, err := s.q().Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*fhir.Version, error) {
		v := &fhir.Version{Type: auditType, VersionID: 1}
		return v, r.Scan(&v.ID, &v.LastUpdated, &v.Content)
	})
}

// everythingAudit is the AuditEvent part of $everything: the patient's
// events in (recorded, id) order after key ("recorded/id", "" for the
// first), at most room, and the cursor of what follows ("" when nothing).
func (s *Store) everythingAudit(ctx context.Context, patient string, since time.Time, room int, key string) ([]*fhir.Version, string, error) {
	at, id := time.Time{}, [16]byte{}
	if t, u, ok := strings.Cut(key, "/"); ok {
		var err error
		at, err = time.Parse(time.RFC3339Nano, t)
		if uid, okID := parseUUID(u); err == nil && okID {
			id = uid
		} else {
			return nil, "", fhir.Invalid("malformed paging cursor", "_cursor")
		}
	}
	out, err := s.auditEvents(ctx, `SELECT id::text, recorded, content FROM audit_events
WHERE patient = $1 AND recorded >= $2 AND (recorded, id) > ($3, $4) ORDER BY recorded, id LIMIT $5`,
		patient, since, at, id, room+1)
	if err != nil || len(out) <= room {
		return out, "", err
	}
	if room == 0 {
		return nil, "a:", nil
	}
	last := out[room-1]
	return out[:room], "a:" + last.LastUpdated.UTC().Format(time.RFC3339Nano) + "/" + last.ID, nil
}
