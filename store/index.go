package store

import (
	"strconv"
	"strings"
	"time"

	"github.com/hce-fhir/hce/search/extract"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// queueDeleteIndex removes the index rows of route/typ/id.
func queueDeleteIndex(b *pgx.Batch, t *tableSet, route int32, typ, id string) {
	for _, table := range t.indexTables() {
		b.Queue(`DELETE FROM `+table+` WHERE route = $1 AND type = $2 AND id = $3`, route, typ, id)
	}
}

// column is an index column after (route, type, id, param) and the SQL
// type its parameter is cast to.
type column struct{ name, cast string }

var (
	stringCols    = []column{{"value", "text"}, {"exact", "text"}}
	tokenCols     = []column{{"system", "text"}, {"code", "text"}, {"text", "text"}, {"type_system", "text"}, {"type_code", "text"}}
	dateCols      = []column{{"lo", "timestamptz"}, {"hi", "timestamptz"}}
	numberCols    = []column{{"value", "numeric"}}
	quantityCols  = []column{{"value", "numeric"}, {"system", "text"}, {"code", "text"}, {"unit", "text"}}
	referenceCols = []column{{"target_type", "text"}, {"target_id", "text"}, {"url", "text"}}
	uriCols       = []column{{"value", "text"}}
	compositeCols = []column{{"c1_system", "text"}, {"c1_code", "text"}, {"c2_system", "text"}, {"c2_code", "text"},
		{"c2_number", "numeric"}, {"c2_lo", "timestamptz"}, {"c2_hi", "timestamptz"}, {"c2_string", "text"}, {"c3_number", "numeric"}}
)

// queueIndex queues the inserts of x's rows for route/typ/id into t's index
// tables: one multi-row INSERT per table, all in the batch (one round trip)
// of the resource row. Multi-row VALUES with a constant route is a router
// query on Citus.
func queueIndex(b *pgx.Batch, t *tableSet, route int32, typ, id string, x *extract.Index) {
	key := [3]any{route, typ, id}
	rows := make([][]any, 0, 16)
	add := func(r ...any) { rows = append(rows, r) }
	flush := func(table string, cols []column) {
		queueRows(b, table, cols, key, rows)
		rows = rows[:0]
	}
	for _, s := range x.Strings {
		add(s.Param, s.Value, s.Exact)
	}
	flush(t.idx["string"], stringCols)
	for _, t := range x.Tokens {
		add(t.Param, t.System, t.Code, t.Text, t.TypeSystem, t.TypeCode)
	}
	flush(t.idx["token"], tokenCols)
	for _, d := range x.Dates {
		add(d.Param, timestamp(d.Lo), timestamp(d.Hi))
	}
	flush(t.idx["date"], dateCols)
	for _, n := range x.Numbers {
		add(n.Param, n.Value)
	}
	flush(t.idx["number"], numberCols)
	for _, q := range x.Quantities {
		add(q.Param, q.Value, q.System, q.Code, q.Unit)
	}
	flush(t.idx["quantity"], quantityCols)
	for _, r := range x.References {
		add(r.Param, r.TargetType, r.TargetID, r.URL)
	}
	flush(t.idx["reference"], referenceCols)
	for _, u := range x.URIs {
		add(u.Param, u.Value)
	}
	flush(t.idx["uri"], uriCols)
	for _, c := range x.Composites {
		var lo, hi pgtype.Timestamptz
		if c.C2Lo != nil {
			lo, hi = timestamp(*c.C2Lo), timestamp(*c.C2Hi)
		}
		add(c.Param, c.C1System, c.C1Code, c.C2System, c.C2Code, c.C2Number, lo, hi, c.C2String, c.C3Number)
	}
	flush(t.idx["composite"], compositeCols)
}

// maxParams keeps one statement under PostgreSQL's 65,535 parameters.
const maxParams = 30000

// queueRows queues INSERT … VALUES statements for rows of table; each row
// is (param, cols…) and shares the key parameters $1-$3.
func queueRows(b *pgx.Batch, table string, cols []column, key [3]any, rows [][]any) {
	per := 1 + len(cols)
	for len(rows) > 0 {
		n := min(len(rows), maxParams/per)
		var sql strings.Builder
		sql.WriteString("INSERT INTO " + table + " (route, type, id, param")
		for _, c := range cols {
			sql.WriteString(", " + c.name)
		}
		sql.WriteString(") VALUES ")
		args := append(make([]any, 0, 3+n*per), key[:]...)
		for i, r := range rows[:n] {
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("($1, $2, $3")
			for j, v := range r {
				args = append(args, v)
				sql.WriteString(", $" + strconv.Itoa(len(args)))
				if j > 0 {
					sql.WriteString("::" + cols[j-1].cast)
				}
			}
			sql.WriteString(")")
		}
		b.Queue(sql.String(), args...)
		rows = rows[n:]
	}
}

// timestamp maps the extractor's open ends to PostgreSQL's infinities.
func timestamp(t time.Time) pgtype.Timestamptz {
	switch {
	case !t.After(extract.MinTime):
		return pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.NegativeInfinity}
	case !t.Before(extract.MaxTime):
		return pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.Infinity}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}
