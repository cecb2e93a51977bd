package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
	"github.com/hce-fhir/hce/search"
	"github.com/jackc/pgx/v5"
)

// maxIncluded caps the resources one _include or _revinclude adds to a page.
const maxIncluded = 1000

// SearchResult is one page of a search.
type SearchResult struct {
	// Matches are the page's resources, in order.
	Matches []*fhir.Version
	// Included are the resources _include and _revinclude added.
	Included []*fhir.Version
	// Total is the number of matches when it was counted or estimated.
	Total *int
	// Next is the cursor of the next page; "" on the last page.
	Next string
}

// Scope narrows a search to one patient's compartment (Patient/{id}/{type}).
type Scope struct {
	Patient string
}

// Search runs q, restricted to scope when scope.Patient is set.
func (s *Store) Search(ctx context.Context, q *search.Query, scope Scope) (*SearchResult, error) {
	if err := s.flush(ctx); err != nil {
		return nil, translate("write", err)
	}
	if q.Type == auditType {
		return s.searchAudit(ctx, q, scope)
	}
	if name := reachesAudit(q); name != "" {
		return nil, fhir.Invalid("AuditEvents are searched on their own (GET AuditEvent?...), not through chains, _has or includes", name)
	}
	what := "search " + q.Type
	routes, err := s.searchRoutes(ctx, q, scope)
	if err != nil {
		return nil, translate(what, err)
	}
	b := &sqlBuilder{}
	if err := s.probeReverseChains(ctx, b, q); err != nil {
		return nil, translate(what, err)
	}
	where, err := b.searchWhere(q, scope, routes)
	if err != nil {
		return nil, err
	}
	res := &SearchResult{}
	if q.Total == search.TotalAccurate || q.Summary == search.SummaryCount || (q.Count == 0 && q.Total != search.TotalNone) {
		n, err := s.countOf(ctx, q, scope, routes, b, where)
		if err != nil {
			return nil, translate(what, err)
		}
		res.Total = &n
	} else if q.Total == search.TotalEstimate {
		n, err := s.estimate(ctx, b, q.Type, where)
		if err != nil {
			return nil, translate(what, err)
		}
		res.Total = &n
	}
	if q.Count == 0 || q.Summary == search.SummaryCount {
		return res, nil
	}
	keys, err := sortKeys(b, q)
	if err != nil {
		return nil, err
	}
	sql, err := b.page(q, where, keys)
	if err != nil {
		return nil, err
	}
	rows, err := s.q().Query(ctx, sql, b.params()...)
	if err != nil {
		return nil, translate(what, err)
	}
	type row struct {
		v      *fhir.Version
		route  int32
		values []string
	}
	var page []row
	err = forEach(rows, func(r pgx.Rows) error {
		v := &fhir.Version{Type: q.Type}
		vals := make([]*string, len(keys))
		var route int32
		dest := []any{&v.ID, &v.VersionID, &v.LastUpdated, &v.Content, &route}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := r.Scan(dest...); err != nil {
			return err
		}
		texts := make([]string, len(vals))
		for i, p := range vals {
			if p != nil {
				texts[i] = *p
			}
		}
		page = append(page, row{v: v, route: route, values: texts})
		return nil
	})
	if err != nil {
		return nil, translate(what, err)
	}
	if len(page) > q.Count {
		page = page[:q.Count]
		last := page[len(page)-1]
		res.Next = encodeCursor(last.values, last.v.ID)
	}
	refs := make([]resourceKey, 0, len(page))
	for _, r := range page {
		res.Matches = append(res.Matches, r.v)
		refs = append(refs, resourceKey{route: r.route, typ: q.Type, id: r.v.ID})
	}
	if res.Total == nil && q.Cursor == "" && res.Next == "" && q.Total != search.TotalNone {
		n := len(page) // the first page is the only page: the total is known
		res.Total = &n
	}
	if len(refs) > 0 && (len(q.Includes) > 0 || len(q.RevIncludes) > 0) {
		if res.Included, err = s.include(ctx, q, refs); err != nil {
			return nil, translate(what, err)
		}
	}
	return res, nil
}

// Match returns the ids of the live resources of typ matching criteria, at
// most limit (0: all): the basis of conditional create, update, delete and
// conditional references. Unknown parameters are an error here, since
// ignoring one would match too much.
func (s *Store) Match(ctx context.Context, typ string, criteria url.Values, limit int) ([]string, error) {
	if err := s.flush(ctx); err != nil {
		return nil, translate("write", err)
	}
	q, err := search.Parse(typ, criteria, search.Options{Strict: true, MaxCount: 1 << 30, DefaultCount: 1 << 30})
	if err != nil {
		return nil, err
	}
	if typ == auditType {
		return s.matchAudit(ctx, q, limit)
	}
	b := &sqlBuilder{}
	where, err := b.where("r", typ, q.Filters)
	if err != nil {
		return nil, err
	}
	sql := `SELECT r.id FROM ` + tablesFor(typ).resources + ` r WHERE r.type = ` + b.arg(typ) + ` AND NOT r.deleted AND ` + where
	if limit > 0 {
		sql += ` LIMIT ` + b.arg(limit)
	}
	// A prepared statement, unlike a search's: conditional criteria recur
	// with other values (identifier=…, the same shape for every entry of a
	// Bundle), where planning each one would cost more than running it.
	rows, err := s.q().Query(ctx, sql, b.args...)
	if err != nil {
		return nil, translate("match "+typ, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate("match "+typ, err)
}

// searchWhere compiles the conditions of a search on resources alias r;
// routes, when not nil, are the only routes its matches can be on.
func (b *sqlBuilder) searchWhere(q *search.Query, scope Scope, routes []int32) (string, error) {
	typ := b.arg(q.Type)
	where, err := b.where("r", q.Type, q.Filters)
	if err != nil {
		return "", err
	}
	where = `r.type = ` + typ + ` AND NOT r.deleted AND ` + where
	if scope.Patient != "" {
		where = and(where, b.compartment("r", q.Type, scope.Patient))
	}
	if routes != nil {
		// Redundant with the filters, but lets Citus route to the patient's shard.
		where = and(where, b.routeIn("r", routes))
	}
	return where, nil
}

// routeIn restricts alias r to routes.
func (b *sqlBuilder) routeIn(r string, routes []int32) string {
	if len(routes) == 1 {
		return r + ".route = " + b.arg(routes[0])
	}
	return r + ".route = ANY(" + b.arg(routes) + ")"
}

// searchRoutes returns the routes that hold every match of a search pinned
// to one patient (a compartment search, or a filter on the parameter that
// places resources), nil when the search is not pinned.
func (s *Store) searchRoutes(ctx context.Context, q *search.Query, scope Scope) ([]int32, error) {
	patient := pinnedPatient(q, scope)
	if patient == "" {
		return nil, nil
	}
	return s.patientRoutes(ctx, patient)
}

// pinnedPatient is the patient whose compartment holds every match of q:
// the scope's, or the one a compartment parameter pins; "" when none does.
func pinnedPatient(q *search.Query, scope Scope) string {
	if Shared(q.Type) {
		return ""
	}
	if scope.Patient != "" {
		return scope.Patient
	}
	return routedPatient(q.Type, q.Filters)
}

const memberHomes = `SELECT DISTINCT home FROM compartment_members WHERE route = $1 AND patient = $2`

// patientRoutes returns the routes of a patient's compartment: the
// patient's own, then those of resources that other patients' compartments
// hold too.
func (s *Store) patientRoutes(ctx context.Context, patient string) ([]int32, error) {
	own := fhir.RouteOf(patient)
	rows, err := s.q().Query(ctx, memberHomes, own, patient)
	if err != nil {
		return nil, err
	}
	homes, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	return append([]int32{own}, homes...), err
}

// searchSQL returns the statement and arguments of a search's first page,
// as the store runs it for a patient without members on other routes.
func searchSQL(q *search.Query, scope Scope) (string, []any, error) {
	var routes []int32
	if p := pinnedPatient(q, scope); p != "" {
		routes = []int32{fhir.RouteOf(p)}
	}
	b := &sqlBuilder{}
	where, err := b.searchWhere(q, scope, routes)
	if err != nil {
		return "", nil, err
	}
	keys, err := sortKeys(b, q)
	if err != nil {
		return "", nil, err
	}
	sql, err := b.page(q, where, keys)
	return sql, b.args, err
}

// routedPatient returns the patient whose compartment holds every match when
// a filter pins the search to one patient through a compartment parameter
// (or the type's patient parameter, which selects the same reference): the
// matches are on the patient's route or on routes its compartment's
// members list.
func routedPatient(typ string, filters []search.Filter) string {
	comp := spec.PatientCompartment(typ)
	if typ == "Patient" || len(comp) == 0 {
		return ""
	}
	for _, f := range filters {
		if len(f.Chain) > 0 || f.Param == nil || f.Modifier != search.ModNone || len(f.Values) != 1 {
			continue
		}
		if !slices.Contains(comp, f.Param.Code) && !(f.Param.Code == "patient" && patientInCompartment(typ, comp)) {
			continue
		}
		if r, ok := f.Values[0].(search.Reference); ok && r.ID != "" && (r.Type == "Patient" || r.Type == "") && r.URL == "" {
			if r.Type == "" && f.Param.Code != "patient" {
				continue // an id alone could name another type
			}
			return r.ID
		}
	}
	return ""
}

// patientInCompartment reports whether the type's patient parameter selects
// the element of one of its compartment parameters.
func patientInCompartment(typ string, comp []string) bool {
	for _, code := range comp {
		if sameElement(typ, code) {
			return true
		}
	}
	return false
}

// sameElement reports whether the type's patient parameter selects the
// element of compartment parameter code (Observation.subject restricted to
// Patients).
func sameElement(typ, code string) bool {
	patient, ok1 := spec.Param(typ, "patient")
	first, ok2 := spec.Param(typ, code)
	if !ok1 || !ok2 || first.Expression == "" {
		return false
	}
	for _, alt := range strings.Split(patient.Expression, "|") {
		alt = strings.TrimSpace(alt)
		if strings.HasPrefix(alt, typ+".") && strings.HasPrefix(first.Expression, strings.SplitN(alt, ".where(", 2)[0]) {
			return true
		}
	}
	return false
}

// where compiles filters on the resource alias r of type typ.
func (b *sqlBuilder) where(r, typ string, filters []search.Filter) (string, error) {
	groups, filters := dateGroups(typ, filters)
	conds := make([]string, 0, len(groups)+len(filters))
	for _, g := range groups {
		c, err := b.dateGroup(r, typ, g)
		if err != nil {
			return "", err
		}
		conds = append(conds, c)
	}
	for _, f := range filters {
		c, err := b.filter(r, typ, f)
		if err != nil {
			return "", err
		}
		conds = append(conds, c)
	}
	return and(conds...), nil
}

// compartment restricts alias r to the Patient compartment of patient: a
// compartment reference to the patient, or the patient itself.
func (b *sqlBuilder) compartment(r, typ, patient string) string {
	params := spec.PatientCompartment(typ)
	if len(params) == 0 {
		return "false"
	}
	p := b.arg(patient)
	i := b.alias("c")
	member := `EXISTS (SELECT 1 FROM ` + tablesFor(typ).idx["reference"] + ` ` + i + ` WHERE ` + sameResource(i, r) +
		` AND ` + i + `.param = ANY(` + b.arg(params) + `) AND ` + i + `.target_type = 'Patient' AND ` + i + `.target_id = ` + p + `)`
	if typ == "Patient" {
		return or(r+".id = "+p, member)
	}
	return member
}

// countOf counts the matches of q, whose conditions b compiled as where.
// A search across patients by one filter that selects by index rows counts
// from those rows instead (their distinct resources, then the other
// filters): for a common value that spares probing the resource of every
// match (at a million resources, 150 ms against 2.4 s for 270,000 matches).
func (s *Store) countOf(ctx context.Context, q *search.Query, scope Scope, routes []int32, b *sqlBuilder, where string) (int, error) {
	sql, args := `SELECT count(*) FROM `+tablesFor(q.Type).resources+` r WHERE `+where, b.params()
	// With more filters the planner is better left to choose the order.
	if scope.Patient == "" && routes == nil && len(q.Filters) == 1 {
		d := &sqlBuilder{}
		rows, ok, err := d.positive(q.Type, q.Filters[0])
		if err != nil {
			return 0, err
		}
		if ok {
			rest := *q
			rest.Filters = nil
			others, err := d.searchWhere(&rest, scope, nil)
			if err != nil {
				return 0, err
			}
			sql, args = `SELECT count(*) FROM (`+rows.resources(d, q.Type)+`) r WHERE `+others, d.params()
		}
	}
	var n int
	err := s.q().QueryRow(ctx, sql, args...).Scan(&n)
	return n, err
}

// estimate asks the planner how many rows the search would return.
func (s *Store) estimate(ctx context.Context, b *sqlBuilder, typ, where string) (int, error) {
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	err := s.q().QueryRow(ctx, `EXPLAIN (FORMAT JSON) SELECT 1 FROM `+tablesFor(typ).resources+` r WHERE `+where, b.params()...).Scan(&plan)
	if err != nil || len(plan) == 0 {
		return 0, err
	}
	return int(plan[0].Plan.Rows), nil
}

// sortKey is one ORDER BY column of a search page.
type sortKey struct {
	expr string // never NULL: missing values sort last through a sentinel
	cast string // the SQL type of the column, for comparing with the cursor
	desc bool
}

// sortKeys compiles _sort; the resource id always ends the order, so that
// every position is unique and keyset paging never skips or repeats.
func sortKeys(b *sqlBuilder, q *search.Query) ([]sortKey, error) {
	var keys []sortKey
	for _, s := range q.Sort {
		k, err := b.sortKey("r", q.Type, s)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// sortKey is the smallest value of the parameter for ascending order and
// the largest for descending, as R4 specifies for repeating elements.
func (b *sqlBuilder) sortKey(r, typ string, s search.Sort) (sortKey, error) {
	p := s.Param
	agg := "min"
	if s.Desc {
		agg = "max"
	}
	var table, col, cast, low, high string
	switch {
	case p.Code == "_lastUpdated":
		return sortKey{expr: r + ".last_updated", cast: "timestamptz", desc: s.Desc}, nil
	case p.Code == "_id":
		return sortKey{expr: r + `.id`, cast: "text", desc: s.Desc}, nil
	case p.Type == "date":
		table, col, cast, low, high = tablesFor(typ).idx["date"], "lo", "timestamptz", "'-infinity'", "'infinity'"
		if s.Desc {
			col = "hi"
		}
	case p.Type == "string":
		table, col, cast = tablesFor(typ).idx["string"], "value", "text"
	case p.Type == "token":
		table, col, cast = tablesFor(typ).idx["token"], "code", "text"
	case p.Type == "number":
		table, col, cast, low, high = tablesFor(typ).idx["number"], "value", "numeric", "'-1e300'", "'1e300'"
	case p.Type == "quantity":
		table, col, cast, low, high = tablesFor(typ).idx["quantity"], "value", "numeric", "'-1e300'", "'1e300'"
	case p.Type == "reference":
		table, col, cast = tablesFor(typ).idx["reference"], "target_id", "text"
	case p.Type == "uri":
		table, col, cast = tablesFor(typ).idx["uri"], "value", "text"
	default:
		return sortKey{}, fhir.Invalid("cannot sort by "+p.Code+", a "+p.Type+" parameter", "_sort")
	}
	if cast == "text" {
		low, high = "''", `E'\U0010FFFF'`
	}
	sentinel := high // missing values last
	if s.Desc {
		sentinel = low
	}
	i := b.alias("s")
	expr := `coalesce((SELECT ` + agg + `(` + i + `.` + col + `) FROM ` + table + ` ` + i + ` WHERE ` + sameResource(i, r) +
		` AND ` + i + `.param = ` + b.arg(p.Code) + `), ` + sentinel + `::` + cast + `)`
	return sortKey{expr: expr, cast: cast, desc: s.Desc}, nil
}

// page builds the query of one page: the matches ordered by the sort keys
// and id, after the cursor, one row more than the page to detect a next page.
// The keys are selected as text for the next cursor, but ordered and
// compared as themselves, so that an index can deliver the order.
func (b *sqlBuilder) page(q *search.Query, where string, keys []sortKey) (string, error) {
	sql := `SELECT r.id, r.version_id, r.last_updated, r.content::text, r.route`
	var order []string
	for n, k := range keys {
		sql += fmt.Sprintf(", (%s)::text AS k%d", k.expr, n)
		dir := ""
		if k.desc {
			dir = " DESC"
		}
		order = append(order, k.expr+dir)
	}
	order = append(order, "r.id")
	sql += ` FROM ` + tablesFor(q.Type).resources + ` r WHERE ` + where
	if q.Cursor != "" {
		values, id, err := decodeCursor(q.Cursor, len(keys))
		if err != nil {
			return "", err
		}
		// (k0, k1, …, id) after the cursor, each key in its own direction.
		var alts []string
		for n := 0; n <= len(keys); n++ {
			var conds []string
			for m := 0; m < n; m++ {
				conds = append(conds, fmt.Sprintf("%s = %s::%s", keys[m].expr, b.arg(values[m]), keys[m].cast))
			}
			if n < len(keys) {
				op := ">"
				if keys[n].desc {
					op = "<"
				}
				conds = append(conds, fmt.Sprintf("%s %s %s::%s", keys[n].expr, op, b.arg(values[n]), keys[n].cast))
			} else {
				conds = append(conds, "r.id > "+b.arg(id))
			}
			alts = append(alts, and(conds...))
		}
		sql += ` AND ` + or(alts...)
	}
	sql += ` ORDER BY ` + strings.Join(order, ", ") + ` LIMIT ` + b.arg(q.Count+1)
	return sql, nil
}

// cursor is the keyset position after the last row of a page.
type cursor struct {
	Keys []string `json:"k,omitempty"`
	ID   string   `json:"id"`
}

func encodeCursor(keys []string, id string) string {
	b, _ := json.Marshal(cursor{Keys: keys, ID: id})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, n int) ([]string, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil || len(c.Keys) != n || c.ID == "" {
		return nil, "", fhir.Invalid("the paging cursor is not valid for this search; start again from the first page", "_cursor")
	}
	return c.Keys, c.ID, nil
}

// resourceKey locates a stored resource.
type resourceKey struct {
	route   int32
	typ, id string
}

// include follows _include and _revinclude from the page (and, with
// :iterate, from what they included, up to three rounds).
func (s *Store) include(ctx context.Context, q *search.Query, page []resourceKey) ([]*fhir.Version, error) {
	seen := map[string]bool{}
	for _, k := range page {
		seen[k.typ+"/"+k.id] = true
	}
	var out []*fhir.Version
	from := page
	for round := 0; round < 3 && len(from) > 0; round++ {
		var next []resourceKey
		for _, inc := range q.Includes {
			if round > 0 && !inc.Iterate {
				continue
			}
			got, err := s.forwardInclude(ctx, inc, from)
			if err != nil {
				return nil, err
			}
			next = appendNew(next, &out, seen, got)
		}
		for _, inc := range q.RevIncludes {
			if round > 0 && !inc.Iterate {
				continue
			}
			got, err := s.reverseInclude(ctx, inc, from)
			if err != nil {
				return nil, err
			}
			next = appendNew(next, &out, seen, got)
		}
		from = next
	}
	return out, nil
}

// included is a resource an include found, with its route.
type included struct {
	v     *fhir.Version
	route int32
}

func appendNew(next []resourceKey, out *[]*fhir.Version, seen map[string]bool, got []included) []resourceKey {
	for _, g := range got {
		ref := g.v.Type + "/" + g.v.ID
		if seen[ref] {
			continue
		}
		seen[ref] = true
		*out = append(*out, g.v)
		next = append(next, resourceKey{route: g.route, typ: g.v.Type, id: g.v.ID})
	}
	return next
}

// includeParams lists the reference parameter codes an include follows.
func includeParams(inc search.Include) []string {
	if inc.Param != nil {
		return []string{inc.Param.Code}
	}
	var codes []string
	for _, p := range spec.Params(inc.Source) {
		if p.Type == "reference" {
			codes = append(codes, p.Code)
		}
	}
	return codes
}

// keyArrays splits keys (of typ, or all when typ is "") into columns.
func keyArrays(keys []resourceKey, typ string) (routes []int32, types, ids []string) {
	for _, k := range keys {
		if typ == "" || k.typ == typ {
			routes, types, ids = append(routes, k.route), append(types, k.typ), append(ids, k.id)
		}
	}
	return routes, types, ids
}

// The statements of includes name the table set of the resources they read;
// each lists the routes it reads, which lets Citus skip the other shards.
const (
	forwardRefs = `SELECT DISTINCT target_type, target_id FROM %s
WHERE route = ANY($1) AND (route, id) IN (SELECT * FROM unnest($1::int[], $2::text[])) AND type = $3
  AND param = ANY($4) AND target_id IS NOT NULL AND ($5 = '' OR target_type = $5)
LIMIT 1000`

	readMany = `SELECT type, id, version_id, last_updated, content::text, route FROM %s
WHERE route = ANY($1) AND (route, type, id) IN (SELECT * FROM unnest($1::int[], $2::text[], $3::text[])) AND NOT deleted`

	homesMany = `SELECT type, id, home FROM resource_ids
WHERE route = ANY($1) AND (route, type, id) IN (SELECT * FROM unnest($1::int[], $2::text[], $3::text[])) AND home <> route`

	reverseRefs = `SELECT r.type, r.id, r.version_id, r.last_updated, r.content::text, r.route
FROM %s i JOIN %s r ON r.route = i.route AND r.type = i.type AND r.id = i.id
WHERE i.type = $1 AND i.param = ANY($2) AND NOT r.deleted
  AND (i.target_type, i.target_id) IN (SELECT * FROM unnest($3::text[], $4::text[]))
LIMIT 1000`
)

// forwardInclude reads the resources that from's references point to.
func (s *Store) forwardInclude(ctx context.Context, inc search.Include, from []resourceKey) ([]included, error) {
	routes, _, ids := keyArrays(from, inc.Source)
	if len(ids) == 0 {
		return nil, nil
	}
	sql := fmt.Sprintf(forwardRefs, tablesFor(inc.Source).idx["reference"])
	rows, err := s.q().Query(ctx, sql, routes, ids, inc.Source, includeParams(inc), inc.Target)
	if err != nil {
		return nil, err
	}
	var types, targets []string
	err = forEach(rows, func(r pgx.Rows) error {
		var t, id string
		if err := r.Scan(&t, &id); err != nil {
			return err
		}
		types, targets = append(types, t), append(targets, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.readRefs(ctx, types, targets)
}

// readRefs reads live resources by type and id, each at the route its id
// names and, for forwarded ids, at the route their claim names.
func (s *Store) readRefs(ctx context.Context, types, ids []string) ([]included, error) {
	var out []included
	byClass := map[*tableSet][]resourceKey{}
	for i, id := range ids {
		t := tablesFor(types[i])
		byClass[t] = append(byClass[t], resourceKey{route: fhir.RouteOf(id), typ: types[i], id: id})
	}
	for _, t := range tableSets {
		keys := byClass[t]
		if len(keys) == 0 {
			continue
		}
		got, err := s.readKeys(ctx, t, keys)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		if t != &patientTables || len(got) == len(keys) {
			continue
		}
		// Some ids are forwarded: their claims name the route to read.
		routes, ktypes, kids := keyArrays(keys, "")
		rows, err := s.q().Query(ctx, homesMany, routes, ktypes, kids)
		if err != nil {
			return nil, err
		}
		var forwarded []resourceKey
		err = forEach(rows, func(r pgx.Rows) error {
			var k resourceKey
			if err := r.Scan(&k.typ, &k.id, &k.route); err != nil {
				return err
			}
			forwarded = append(forwarded, k)
			return nil
		})
		if err != nil || len(forwarded) == 0 {
			return out, err
		}
		got, err = s.readKeys(ctx, t, forwarded)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

func (s *Store) readKeys(ctx context.Context, t *tableSet, keys []resourceKey) ([]included, error) {
	routes, types, ids := keyArrays(keys, "")
	rows, err := s.q().Query(ctx, fmt.Sprintf(readMany, t.resources), routes, types, ids)
	if err != nil {
		return nil, err
	}
	return collectIncluded(rows)
}

// reverseInclude reads the resources of inc.Source that reference from.
func (s *Store) reverseInclude(ctx context.Context, inc search.Include, from []resourceKey) ([]included, error) {
	var types, ids []string
	for _, k := range from {
		if inc.Target == "" || inc.Target == k.typ {
			types, ids = append(types, k.typ), append(ids, k.id)
		}
	}
	if len(ids) == 0 || inc.Source == "" {
		return nil, nil
	}
	t := tablesFor(inc.Source)
	rows, err := s.q().Query(ctx, fmt.Sprintf(reverseRefs, t.idx["reference"], t.resources), inc.Source, includeParams(inc), types, ids)
	if err != nil {
		return nil, err
	}
	return collectIncluded(rows)
}

func collectIncluded(rows pgx.Rows) ([]included, error) {
	var out []included
	err := forEach(rows, func(r pgx.Rows) error {
		v := &fhir.Version{}
		var content string
		var route int32
		if err := r.Scan(&v.Type, &v.ID, &v.VersionID, &v.LastUpdated, &content, &route); err != nil {
			return err
		}
		v.Content = []byte(content)
		out = append(out, included{v: v, route: route})
		return nil
	})
	return out, err
}
