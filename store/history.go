package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/jackc/pgx/v5"
)

// historyCursor is the keyset position after the last version of a page:
// versions are ordered newest first by (last_updated, type, id, version_id).
type historyCursor struct {
	T  time.Time `json:"t"`
	Ty string    `json:"ty"`
	ID string    `json:"id"`
	V  int64     `json:"v"`
}

const (
	historyInstance = `SELECT type, id, version_id, last_updated, deleted, content FROM %s
WHERE route = $1 AND type = $2 AND id = $3 AND last_updated >= $4 AND version_id < $5
ORDER BY version_id DESC LIMIT $6`

	historyType = `SELECT type, id, version_id, last_updated, deleted, content FROM %s
WHERE type = $1 AND last_updated >= $2 AND (last_updated, id, version_id) < ($3, $4, $5)
ORDER BY last_updated DESC, id DESC, version_id DESC LIMIT $6`

	// historySystem merges both classes' histories, each in its index order.
	historySystem = `(SELECT type, id, version_id, last_updated, deleted, content FROM resource_history
  WHERE last_updated >= $1 AND (last_updated, type, id, version_id) < ($2, $3, $4, $5)
  ORDER BY last_updated DESC, type DESC, id DESC, version_id DESC LIMIT $6)
UNION ALL
(SELECT type, id, version_id, last_updated, deleted, content FROM shared_history
  WHERE last_updated >= $1 AND (last_updated, type, id, version_id) < ($2, $3, $4, $5)
  ORDER BY last_updated DESC, type DESC, id DESC, version_id DESC LIMIT $6)
ORDER BY last_updated DESC, type DESC, id DESC, version_id DESC LIMIT $6`
)

// History returns one page of versions, newest first, and the cursor of the
// next page ("" on the last page). Paging by keyset keeps pages stable while
// other clients write: new versions sort before the cursor and never shift it.
func (s *Store) History(ctx context.Context, q fhir.HistoryQuery) ([]*fhir.Version, string, error) {
	if err := s.flush(ctx); err != nil {
		return nil, "", translate("write", err)
	}
	what := "history"
	// The first page starts after every real version: the row comparison is
	// decided by the far-future time alone.
	cur := historyCursor{T: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), V: 1 << 62}
	if q.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || json.Unmarshal(raw, &cur) != nil {
			return nil, "", fhir.Invalid("malformed paging cursor", "_cursor")
		}
	}
	limit := q.Count + 1
	var out []*fhir.Version
	var err error
	switch {
	case q.Type == auditType:
		what = "history AuditEvent"
		out, err = s.auditHistory(ctx, q, cur, limit)
	case q.ID != "":
		what = "history " + refString(q.Type, q.ID)
		out, err = s.instanceHistory(ctx, q, cur.V, limit)
	case q.Type != "":
		what = "history " + q.Type
		out, err = s.versions(ctx, fmt.Sprintf(historyType, tablesFor(q.Type).history), q.Type, q.Since, cur.T, cur.ID, cur.V, limit)
	default:
		out, err = s.versions(ctx, historySystem, q.Since, cur.T, cur.Ty, cur.ID, cur.V, limit)
	}
	if err != nil {
		return nil, "", translate(what, err)
	}
	next := ""
	if len(out) > q.Count {
		out = out[:q.Count]
		last := out[len(out)-1]
		b, _ := json.Marshal(historyCursor{T: last.LastUpdated, Ty: last.Type, ID: last.ID, V: last.VersionID})
		next = base64.RawURLEncoding.EncodeToString(b)
	}
	return out, next, nil
}

// instanceHistory reads a page of one resource's versions: one statement
// at the route its id names when it has versions there; when that page is
// empty, the claim tells whether the history lives on another route or the
// resource never existed (fhir.ErrNotFound through pgx.ErrNoRows).
func (s *Store) instanceHistory(ctx context.Context, q fhir.HistoryQuery, before int64, limit int) ([]*fhir.Version, error) {
	t := tablesFor(q.Type)
	page := func(route int32) ([]*fhir.Version, error) {
		return s.versions(ctx, fmt.Sprintf(historyInstance, t.history), route, q.Type, q.ID, q.Since, before, limit)
	}
	route := fhir.RouteOf(q.ID)
	out, err := page(route)
	if err != nil || len(out) > 0 {
		return out, err
	}
	// Nothing on this page: find where the first version is, if anywhere.
	err = atHome(ctx, s.q(), q.Type, q.ID, func(rt int32) error {
		route = rt
		return s.q().QueryRow(ctx, t.readVersion, rt, q.Type, q.ID, 1).Scan(new(int64), new(time.Time), new(bool), new([]byte))
	})
	if err != nil || route == fhir.RouteOf(q.ID) {
		return out, err
	}
	return page(route)
}

// versions runs a history statement and collects its versions.
func (s *Store) versions(ctx context.Context, sql string, args ...any) ([]*fhir.Version, error) {
	rows, err := s.q().Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*fhir.Version, error) {
		v := &fhir.Version{}
		return v, r.Scan(&v.Type, &v.ID, &v.VersionID, &v.LastUpdated, &v.Deleted, &v.Content)
	})
}
