package store

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hce-fhir/hce/search/extract"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// indexTables lists every index table (the values of indexTable), for
// deleting a resource's rows.
var indexTables = func() []string {
	ts := make([]string, 0, len(indexTable))
	for _, t := range indexTable {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}()

// queueDeleteIndex removes the index rows of shard/typ/id.
func queueDeleteIndex(b *pgx.Batch, shard, typ, id string) {
	for _, t := range indexTables {
		b.Queue(`DELETE FROM `+t+` WHERE shard_key = $1 AND type = $2 AND id = $3`, shard, typ, id)
	}
}

// column is an index column after (shard_key, type, id, param) and the SQL
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

// queueIndex queues the inserts of x's rows for shard/typ/id: one multi-row
// INSERT per table, all in the batch (one round trip) of the resource row.
// Multi-row VALUES with a constant shard key is a router query on Citus.
func queueIndex(b *pgx.Batch, shard, typ, id string, x *extract.Index) {
	key := [3]any{shard, typ, id}
	rows := make([][]any, 0, 16)
	add := func(r ...any) { rows = append(rows, r) }
	flush := func(table string, cols []column) {
		queueRows(b, table, cols, key, rows)
		rows = rows[:0]
	}
	for _, s := range x.Strings {
		add(s.Param, s.Value, s.Exact)
	}
	flush("idx_string", stringCols)
	for _, t := range x.Tokens {
		add(t.Param, t.System, t.Code, t.Text, t.TypeSystem, t.TypeCode)
	}
	flush("idx_token", tokenCols)
	for _, d := range x.Dates {
		add(d.Param, timestamp(d.Lo), timestamp(d.Hi))
	}
	flush("idx_date", dateCols)
	for _, n := range x.Numbers {
		add(n.Param, n.Value)
	}
	flush("idx_number", numberCols)
	for _, q := range x.Quantities {
		add(q.Param, q.Value, q.System, q.Code, q.Unit)
	}
	flush("idx_quantity", quantityCols)
	for _, r := range x.References {
		add(r.Param, r.TargetType, r.TargetID, r.URL)
	}
	flush("idx_reference", referenceCols)
	for _, u := range x.URIs {
		add(u.Param, u.Value)
	}
	flush("idx_uri", uriCols)
	for _, c := range x.Composites {
		var lo, hi pgtype.Timestamptz
		if c.C2Lo != nil {
			lo, hi = timestamp(*c.C2Lo), timestamp(*c.C2Hi)
		}
		add(c.Param, c.C1System, c.C1Code, c.C2System, c.C2Code, c.C2Number, lo, hi, c.C2String, c.C3Number)
	}
	flush("idx_composite", compositeCols)
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
		sql.WriteString("INSERT INTO " + table + " (shard_key, type, id, param")
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
