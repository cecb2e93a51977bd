package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
	"github.com/hce-fhir/hce/search/extract"
	"github.com/jackc/pgx/v5"
)

// Every statement of a write filters on or inserts one route, the
// resource's home, so a patient's write is one shard group's transaction.
const (
	// currentVersion locks the current row; compartmentRefs reads the
	// patients its compartment references name, to know the memberships a
	// new version replaces.
	currentVersion = `SELECT version_id, deleted FROM %s WHERE route = $1 AND type = $2 AND id = $3 FOR UPDATE`

	compartmentRefs = `SELECT DISTINCT target_id FROM %s
WHERE route = $1 AND type = $2 AND id = $3 AND target_type = 'Patient' AND param = ANY($4)`

	updateCurrent = `UPDATE %s SET version_id = $4, last_updated = $5, deleted = $6, content = $7
WHERE route = $1 AND type = $2 AND id = $3`

	// upsertMember is the tail of the membership rows' INSERT: a membership
	// that exists follows its resource's home.
	upsertMember = ` ON CONFLICT (route, patient, type, id) DO UPDATE SET home = excluded.home`

	deleteMember = `DELETE FROM compartment_members WHERE route = $1 AND patient = $2 AND type = $3 AND id = $4`
)

// Create stores r as version 1 under r.ID, or under a new id on its
// patient's route when r.ID is empty; an id that is taken is
// fhir.ErrConflict.
func (s *Store) Create(ctx context.Context, r *fhir.Resource) (*fhir.Version, error) {
	if r.ID == "" {
		r.ID = NewID(r)
	}
	var v *fhir.Version
	err := s.inTx(ctx, "create "+r.Type, func(tx *Store) error {
		var err error
		if v, err = createTx(tx, r); err != nil {
			return err
		}
		return tx.flushIfFull(ctx)
	})
	return v, err
}

// NewID returns a new id for r on its patient's route.
func (s *Store) NewID(r *fhir.Resource) string { return NewID(r) }

// Update stores r as the next version of r.Type/r.ID, creating the resource
// when it does not exist (update as create). ifMatch, when not zero, is the
// version the client expects to replace. created reports whether no live
// version existed before.
func (s *Store) Update(ctx context.Context, r *fhir.Resource, ifMatch int64) (v *fhir.Version, created bool, err error) {
	err = s.inTx(ctx, "update "+refString(r.Type, r.ID), func(tx *Store) error {
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
	err := s.inTx(ctx, "delete "+refString(typ, id), func(tx *Store) error {
		var err error
		v, err = deleteTx(ctx, tx, typ, id, ifMatch)
		return err
	})
	return v, err
}

// createTx adds version 1 to the transaction's pending rows. Its first row
// claims the id (the claim row, or for a Patient or shared resource the
// current row itself); a claim that inserts nothing when the rows are
// written means the id is taken, and the transaction fails.
func createTx(s *Store, r *fhir.Resource) (*fhir.Version, error) {
	if r.Type == auditType {
		return nil, fhir.Invalid("AuditEvents are recorded by the server, not written as resources", "AuditEvent")
	}
	p := place(r)
	t := tablesFor(r.Type)
	v, err := newVersion(r, 1, false)
	if err != nil {
		return nil, err
	}
	if claims(r.Type) {
		s.pend.add("resource_ids", claimCols, true, "", fhir.RouteOf(r.ID), r.Type, r.ID, p.home)
	}
	content := string(v.Content)
	s.pend.add(t.resources, versionCols, !claims(r.Type), "", p.home, v.Type, v.ID, v.VersionID, v.LastUpdated, false, content)
	s.pend.add(t.history, versionCols, false, "", p.home, v.Type, v.ID, v.VersionID, v.LastUpdated, false, content)
	addIndex(s.pend, t, p.home, r.Type, r.ID, extract.Extract(r))
	for _, m := range p.others {
		s.pend.add("compartment_members", memberCols, false, upsertMember, m.route, m.patient, r.Type, r.ID, p.home)
	}
	return v, nil
}

// current is the locked current row of a resource being replaced.
type current struct {
	home     int32
	version  int64
	deleted  bool
	patients []string // referenced through compartment parameters
}

// lockCurrent finds and locks the current row of typ/id, and reads its
// compartment references in the same round trip.
func lockCurrent(ctx context.Context, s *Store, typ, id string) (current, error) {
	if err := s.flush(ctx); err != nil {
		return current{}, err
	}
	tx := s.tx
	t := tablesFor(typ)
	var c current
	err := atHome(ctx, tx, typ, id, func(route int32) error {
		c.home = route
		b := &pgx.Batch{}
		b.Queue(fmt.Sprintf(currentVersion, t.resources), route, typ, id)
		b.Queue(fmt.Sprintf(compartmentRefs, t.idx["reference"]), route, typ, id, spec.PatientCompartment(typ))
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if err := br.QueryRow().Scan(&c.version, &c.deleted); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		c.patients, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return c, err
}

func updateTx(ctx context.Context, s *Store, r *fhir.Resource, ifMatch int64) (*fhir.Version, bool, error) {
	c, err := lockCurrent(ctx, s, r.Type, r.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		if ifMatch != 0 {
			return nil, false, fhir.Errorf(fhir.ErrPreconditionFailed, "conflict", fmt.Sprintf("If-Match given but %s/%s does not exist", r.Type, r.ID))
		}
		v, err := createTx(s, r)
		return v, true, err
	}
	if err != nil {
		return nil, false, err
	}
	if ifMatch != 0 && ifMatch != c.version {
		return nil, false, stale(r.Type, r.ID, ifMatch, c.version)
	}
	v, err := newVersion(r, c.version+1, false)
	if err != nil {
		return nil, false, err
	}
	p := place(r)
	t := tablesFor(r.Type)
	b := &pgx.Batch{}
	if p.home != c.home {
		queueMove(b, t, r.Type, r.ID, c.home, p.home)
	}
	writeVersion(s, b, t, p.home, c.home, v, extract.Extract(r))
	queueMembers(s, b, r.Type, r.ID, p.home, c.others(), p.others)
	return v, c.deleted, s.tx.SendBatch(ctx, b).Close()
}

func deleteTx(ctx context.Context, s *Store, typ, id string, ifMatch int64) (*fhir.Version, error) {
	c, err := lockCurrent(ctx, s, typ, id)
	if err != nil {
		return nil, err
	}
	if ifMatch != 0 && ifMatch != c.version {
		return nil, stale(typ, id, ifMatch, c.version)
	}
	if c.deleted {
		return readVersion(ctx, s.tx, c.home, typ, id, c.version)
	}
	v := &fhir.Version{Type: typ, ID: id, VersionID: c.version + 1, LastUpdated: now(), Deleted: true}
	t := tablesFor(typ)
	b := &pgx.Batch{}
	writeVersion(s, b, t, c.home, c.home, v, nil)
	queueMembers(s, b, typ, id, c.home, c.others(), nil)
	return v, s.tx.SendBatch(ctx, b).Close()
}

// others are the memberships the current version has on other routes.
func (c current) others() []member { return elsewhere(c.patients, c.home) }

// writeVersion replaces the current row at route by v (in b, sent at once)
// and adds v to the history and x to the index (pending), after deleting
// the index rows at oldRoute.
func writeVersion(s *Store, b *pgx.Batch, t *tableSet, route, oldRoute int32, v *fhir.Version, x *extract.Index) {
	var content any // a SQL NULL for deletions
	if !v.Deleted {
		content = string(v.Content)
	}
	b.Queue(fmt.Sprintf(updateCurrent, t.resources), route, v.Type, v.ID, v.VersionID, v.LastUpdated, v.Deleted, content)
	queueDeleteIndex(b, t, oldRoute, v.Type, v.ID)
	s.pend.add(t.history, versionCols, false, "", route, v.Type, v.ID, v.VersionID, v.LastUpdated, v.Deleted, content)
	if x != nil {
		addIndex(s.pend, t, route, v.Type, v.ID, x)
	}
}

// queueMembers replaces the memberships old of typ/id in other patients'
// compartments by now: rows on those patients' routes, which Citus writes
// in a distributed transaction (the one case a write spans shard groups).
func queueMembers(s *Store, b *pgx.Batch, typ, id string, home int32, old, now []member) {
	for _, m := range old {
		if !slices.Contains(now, m) {
			b.Queue(deleteMember, m.route, m.patient, typ, id)
		}
	}
	for _, m := range now {
		s.pend.add("compartment_members", memberCols, false, upsertMember, m.route, m.patient, typ, id, home)
	}
}

// queueMove re-homes a resource whose patient changed: its current row and
// history follow it to the new route (the caller rewrites its index rows),
// and its claim forwards there, so that a compartment stays on one route.
func queueMove(b *pgx.Batch, t *tableSet, typ, id string, from, to int32) {
	if claims(typ) {
		b.Queue(`UPDATE resource_ids SET home = $4 WHERE route = $1 AND type = $2 AND id = $3`, fhir.RouteOf(id), typ, id, to)
	}
	for _, table := range []string{t.resources, t.history} {
		b.Queue(`INSERT INTO `+table+` (route, type, id, version_id, last_updated, deleted, content)
SELECT $4, type, id, version_id, last_updated, deleted, content FROM `+table+` WHERE route = $1 AND type = $2 AND id = $3`, from, typ, id, to)
		b.Queue(`DELETE FROM `+table+` WHERE route = $1 AND type = $2 AND id = $3`, from, typ, id)
	}
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
