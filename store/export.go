package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/search/extract"
	"github.com/jackc/pgx/v5"
)

// An export holds the resources current at its transaction time T: for
// every resource, its latest version stamped at or before T, unless that
// version is a deletion. Once every transaction that could still stamp a
// version at or before T has ended (settle), the versions up to T no
// longer change: the result is then the same whenever, and on whichever
// node, it is read (snapshotSQL), and a job that starts again writes the
// same files.

const (
	// inFlight counts the transactions of the database that began before
	// $1 and are still open, other than exports' own.
	inFlight = `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND state <> 'idle' AND xact_start <= $1 AND application_name <> 'hce export'`

	dbClock = `SELECT clock_timestamp()`

	// exportSession lifts the statement timeout for the export's one long
	// read and names the session, so that other exports do not wait for it.
	exportSession = `SET LOCAL statement_timeout = 0; SET LOCAL application_name = 'hce export'`

	insertChunk = `INSERT INTO export_chunks (job_id, file_no, chunk_no, data) VALUES ($1, $2, $3, $4)`
	insertFile  = `INSERT INTO export_files (job_id, file_no, type, is_error, count, bytes) VALUES ($1, $2, $3, $4, $5, $6)`

	memberHomesOf = `SELECT DISTINCT home FROM compartment_members WHERE route = ANY($1) AND patient = ANY($2)`
)

// chunkBytes is the size of the chunks a file is stored in.
const chunkBytes = 1 << 20

// export writes job j's files and returns how many resources they hold.
func (s *Store) export(ctx context.Context, j *fhir.ExportJob, opt ExportOptions, progress func(int64)) (int64, error) {
	for _, q := range []string{clearChunks, clearFiles} {
		if _, err := s.pool.Exec(ctx, q, j.ID); err != nil {
			return 0, translate("export: clear files", err)
		}
	}
	start := time.Now()
	if err := s.settle(ctx, j.TransactionTime.Add(opt.Settle), opt.SettleTimeout); err != nil {
		return 0, err
	}
	opt.Log.Info("export: snapshot settled", "job", j.ID, "waited_seconds", time.Since(start).Seconds())
	out := newExportWriter(ctx, s, j.ID, opt.FileBytes)
	n, err := s.exportRows(ctx, j, out, progress)
	if cerr := out.close(); err == nil {
		err = cerr
	}
	return n, err
}

// settle waits until the database clock has passed until and no
// transaction that began by then is open, at most timeout; past it the
// export goes on (a transaction idle for that long is not writing).
func (s *Store) settle(ctx context.Context, until time.Time, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var now time.Time
		if err := s.pool.QueryRow(ctx, dbClock).Scan(&now); err != nil {
			return translate("export: settle", err)
		}
		if d := until.Sub(now); d > 0 {
			if err := sleep(ctx, d); err != nil {
				return err
			}
			continue
		}
		var n int
		if err := s.pool.QueryRow(ctx, inFlight, until).Scan(&n); err != nil {
			return translate("export: settle", err)
		}
		if n == 0 || time.Now().After(deadline) {
			return nil
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// exportRows streams the snapshot of every table set the job's types are
// in, filters it and hands each resource to out.
func (s *Store) exportRows(ctx context.Context, j *fhir.ExportJob, out *exportWriter, progress func(int64)) (int64, error) {
	req := j.Req
	f, err := s.newExportFilter(ctx, req, out)
	if err != nil {
		return 0, err
	}
	var routes []int32
	if len(req.Patients) > 0 {
		if routes, err = s.exportRoutes(ctx, req.Patients); err != nil {
			return 0, err
		}
	}
	var n int64
	for _, t := range tableSets {
		types := slices.DeleteFunc(slices.Clone(req.Types), func(typ string) bool { return tablesFor(typ) != t || typ == auditType })
		if len(types) == 0 {
			continue
		}
		var rts []int32
		if t == &patientTables {
			rts = routes
		}
		sql, args := snapshotSQL(t, j.TransactionTime, types, req.Since, rts)
		if err := s.exportPart(ctx, sql, args, f, out, &n, progress); err != nil {
			return n, translate("export "+t.history, err)
		}
	}
	if slices.Contains(req.Types, auditType) {
		sql, args := auditSnapshotSQL(j.TransactionTime, req.Since, req.Compartment, req.Patients)
		if err := s.exportPart(ctx, sql, args, f, out, &n, progress); err != nil {
			return n, translate("export audit_events", err)
		}
	}
	progress(n)
	return n, nil
}

// exportPart streams the rows of one snapshot statement (type, id,
// content) through the filter to out, counting them in n.
func (s *Store) exportPart(ctx context.Context, sql string, args []any, f *exportFilter, out *exportWriter, n *int64, progress func(int64)) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, exportSession); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		return forEach(rows, func(r pgx.Rows) error {
			raw := r.RawValues()
			typ, id := string(raw[0]), string(raw[1])
			content, keep, err := f.apply(typ, id, raw[2])
			if err != nil || !keep {
				return err
			}
			if err := out.add(typ, content); err != nil {
				return err
			}
			*n++
			if *n%10000 == 0 {
				progress(*n)
			}
			return nil
		})
	})
}

// auditSnapshotSQL selects the AuditEvents recorded at or before at (and
// after since, when not zero), of patients (when given). Events are never
// changed, so this is their state at at. A Patient or Group export
// (compartment) keeps those about a patient.
func auditSnapshotSQL(at, since time.Time, compartment bool, patients []string) (string, []any) {
	b := &sqlBuilder{}
	conds := []string{`a.recorded <= ` + b.arg(at)}
	if !since.IsZero() {
		conds = append(conds, `a.recorded > `+b.arg(since))
	}
	if len(patients) > 0 {
		conds = append(conds, `a.patient = ANY(`+b.arg(patients)+`)`)
	} else if compartment {
		conds = append(conds, `a.patient IS NOT NULL`)
	}
	return `SELECT 'AuditEvent', a.id::text, a.content::text FROM audit_events a WHERE ` + and(conds...), b.params()
}

// snapshotSQL selects type, id and content of the resources of types in
// table set t current at at, changed after since (when not zero), on
// routes (when not nil). It is one statement, so that on plain PostgreSQL
// one snapshot serves both of its parts, and on Citus each shard's part is
// one statement on its worker (with the distribution column first in both
// parts, Citus pushes the UNION ALL down whole: one task per shard, the
// shards of every worker in parallel).
//
// A resource whose current row is stamped at or before at was current at
// at: the first part reads it from the current rows, as fast as a copy of
// the table. Only those changed since read their history, for the latest
// version stamped at or before at; a deletion there means the resource
// was deleted at at.
func snapshotSQL(t *tableSet, at time.Time, types []string, since time.Time, routes []int32) (string, []any) {
	b := &sqlBuilder{}
	atArg, typesArg := b.arg(at), b.arg(types)
	current := []string{`r.last_updated <= ` + atArg, `NOT r.deleted`, `r.type = ANY(` + typesArg + `)`}
	changed := []string{`r.last_updated > ` + atArg, `h.last_updated <= ` + atArg, `r.type = ANY(` + typesArg + `)`}
	outer := []string{`NOT v.deleted`}
	if routes != nil {
		current = append(current, b.routeIn("r", routes))
		changed = append(changed, b.routeIn("r", routes))
	}
	if !since.IsZero() {
		s := b.arg(since)
		current = append(current, `r.last_updated > `+s)
		outer = append(outer, `v.last_updated > `+s)
	}
	sql := `SELECT u.type, u.id, u.content::text FROM (` +
		`SELECT r.route, r.type, r.id, r.content FROM ` + t.resources + ` r WHERE ` + and(current...) +
		` UNION ALL SELECT v.route, v.type, v.id, v.content FROM (SELECT DISTINCT ON (h.route, h.type, h.id) h.route, h.type, h.id, h.deleted, h.last_updated, h.content FROM ` +
		t.resources + ` r JOIN ` + t.history + ` h ON ` + sameResource("h", "r") + ` WHERE ` + and(changed...) +
		` ORDER BY h.route, h.type, h.id, h.version_id DESC) v WHERE ` + and(outer...) + `) u`
	return sql, b.params()
}

// ExplainExport returns the plan of a system-level export's read of the
// Patient compartment tables for types at at: on Citus it shows the shard
// tasks and the workers they run on.
func (s *Store) ExplainExport(ctx context.Context, at time.Time, types []string) (string, error) {
	sql, args := snapshotSQL(&patientTables, at, types, time.Time{}, nil)
	var lines []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Every shard's task, not only the first (a placeholder setting on
		// plain PostgreSQL).
		if _, err := tx.Exec(ctx, `SET LOCAL citus.explain_all_tasks = on`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `EXPLAIN (VERBOSE) `+sql, args...)
		if err != nil {
			return err
		}
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return strings.Join(lines, "\n"), translate("explain export", err)
}

// exportRoutes returns the routes the compartments of patients are on.
func (s *Store) exportRoutes(ctx context.Context, patients []string) ([]int32, error) {
	var own []int32
	for _, p := range patients {
		if r := fhir.RouteOf(p); !slices.Contains(own, r) {
			own = append(own, r)
		}
	}
	rows, err := s.pool.Query(ctx, memberHomesOf, own, patients)
	if err != nil {
		return nil, translate("export: member routes", err)
	}
	homes, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, translate("export: member routes", err)
	}
	for _, h := range homes {
		if !slices.Contains(own, h) {
			own = append(own, h)
		}
	}
	return own, nil
}

// exportFilter applies what SQL does not: the patients' compartments,
// _typeFilter and _elements.
type exportFilter struct {
	patients map[string]bool
	matches  map[string]map[string]bool // type → ids matching a _typeFilter
	elements map[string]map[string]bool // type → elements kept ("*" for any type)
}

func (s *Store) newExportFilter(ctx context.Context, req fhir.ExportRequest, out *exportWriter) (*exportFilter, error) {
	f := &exportFilter{}
	if len(req.Patients) > 0 {
		f.patients = map[string]bool{}
		for _, p := range req.Patients {
			f.patients[p] = true
		}
	}
	if len(req.TypeFilters) > 0 {
		// The filters are searches on the search index, which holds the
		// current versions: a resource is kept when its current version
		// matches one of its type's filters.
		f.matches = map[string]map[string]bool{}
		for typ, queries := range req.TypeFilters {
			ids := map[string]bool{}
			for _, q := range queries {
				criteria, err := url.ParseQuery(q)
				if err != nil {
					return nil, fmt.Errorf("store: export: _typeFilter %s?%s: %w", typ, q, fhir.ErrInvalid)
				}
				got, err := s.Match(ctx, typ, criteria, 0)
				if err != nil {
					// The kick-off checked the filter; report, do not fail.
					if werr := out.issue("_typeFilter " + typ + "?" + q + ": " + err.Error()); werr != nil {
						return nil, werr
					}
					continue
				}
				for _, id := range got {
					ids[id] = true
				}
			}
			f.matches[typ] = ids
		}
	}
	if len(req.Elements) > 0 {
		f.elements = map[string]map[string]bool{}
		for _, e := range req.Elements {
			typ, el, ok := bytes.Cut([]byte(e), []byte("."))
			key := "*"
			if ok {
				key = string(typ)
			} else {
				el = typ
			}
			if f.elements[key] == nil {
				f.elements[key] = map[string]bool{}
			}
			f.elements[key][string(el)] = true
		}
	}
	return f, nil
}

// apply returns the content to export of typ/id, and whether to export it.
func (f *exportFilter) apply(typ, id string, content []byte) ([]byte, bool, error) {
	if f.matches != nil {
		if ids, ok := f.matches[typ]; ok && !ids[id] {
			return nil, false, nil
		}
	}
	if (f.patients == nil || Shared(typ)) && f.elements == nil {
		return content, true, nil
	}
	var doc map[string]any
	d := json.NewDecoder(bytes.NewReader(content))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return nil, false, fmt.Errorf("store: export %s/%s: %w", typ, id, err)
	}
	if f.patients != nil && !Shared(typ) && !f.inCompartment(typ, id, doc) {
		return nil, false, nil
	}
	if f.elements == nil {
		return content, true, nil
	}
	keep := f.elements[typ]
	all := f.elements["*"]
	if keep == nil && all == nil {
		return content, true, nil
	}
	for k := range doc {
		if k == "resourceType" || k == "id" || k == "meta" || keep[k] || all[k] {
			continue
		}
		delete(doc, k)
	}
	meta, _ := doc["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	tags, _ := meta["tag"].([]any)
	meta["tag"] = append(tags, map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"})
	doc["meta"] = meta
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, false, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), true, nil
}

// inCompartment reports whether the version doc of typ/id is in the
// compartment of one of the export's patients, as it was at T.
func (f *exportFilter) inCompartment(typ, id string, doc map[string]any) bool {
	if typ == "Patient" && f.patients[id] {
		return true
	}
	for _, p := range extract.CompartmentPatients(typ, doc) {
		if f.patients[p] {
			return true
		}
	}
	return false
}
