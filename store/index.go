package store

import (
	"time"

	"github.com/hce-fhir/hce/search/extract"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// queueDeleteIndex removes the index rows of route/typ/id.
func queueDeleteIndex(b *pgx.Batch, t *tableSet, route int32, typ, id string) {
	for _, table := range t.index {
		b.Queue(`DELETE FROM `+table+` WHERE route = $1 AND type = $2 AND id = $3`, route, typ, id)
	}
}

// column is a column rows are inserted into, and the SQL type its
// parameter is cast to ("" for none).
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

// addIndex adds x's rows for route/typ/id to t's index tables: rows that
// pending writes as one multi-row INSERT per table, with the rows of the
// transaction's other resources.
func addIndex(p *pending, t *tableSet, route int32, typ, id string, x *extract.Index) {
	add := func(table string, cols []column, vals ...any) {
		p.add(table, cols, false, "", append([]any{route, typ, id}, vals...)...)
	}
	for _, s := range x.Strings {
		add(t.idx["string"], stringRow, s.Param, s.Value, s.Exact)
	}
	for _, t2 := range x.Tokens {
		add(t.idx["token"], tokenRow, t2.Param, t2.System, t2.Code, t2.Text, t2.TypeSystem, t2.TypeCode)
	}
	for _, d := range x.Dates {
		add(t.idx["date"], dateRow, d.Param, timestamp(d.Lo), timestamp(d.Hi))
	}
	for _, n := range x.Numbers {
		add(t.idx["number"], numberRow, n.Param, n.Value)
	}
	for _, q := range x.Quantities {
		add(t.idx["quantity"], quantityRow, q.Param, q.Value, q.System, q.Code, q.Unit)
	}
	for _, r := range x.References {
		add(t.idx["reference"], referenceRow, r.Param, r.TargetType, r.TargetID, r.URL)
	}
	for _, u := range x.URIs {
		add(t.idx["uri"], uriRow, u.Param, u.Value)
	}
	for _, c := range x.Composites {
		var lo, hi pgtype.Timestamptz
		if c.C2Lo != nil {
			lo, hi = timestamp(*c.C2Lo), timestamp(*c.C2Hi)
		}
		add(t.idx["composite"], compositeRow, c.Param, c.C1System, c.C1Code, c.C2System, c.C2Code, c.C2Number, lo, hi, c.C2String, c.C3Number)
	}
}

// The full column lists of index rows: the resource's key, the parameter,
// then the type's columns.
var (
	stringRow    = indexRow(stringCols)
	tokenRow     = indexRow(tokenCols)
	dateRow      = indexRow(dateCols)
	numberRow    = indexRow(numberCols)
	quantityRow  = indexRow(quantityCols)
	referenceRow = indexRow(referenceCols)
	uriRow       = indexRow(uriCols)
	compositeRow = indexRow(compositeCols)
)

func indexRow(cols []column) []column {
	return append(append(keyCols[:3:3], column{"param", ""}), cols...)
}

// maxParams bounds the parameters of one INSERT: PostgreSQL takes at most
// 65,535, and the message pgx builds for them is one buffer, grown by
// doubling, that the garbage collector can only free whole. Statements of
// 5,000 parameters go out in the same round trip (one batch) and keep that
// buffer near 200 KB: the 4.4 MB Synthea transaction peaks at 76–78 MB
// instead of 83–84 MB.
const maxParams = 5000

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
