package store

import (
	"context"
	"strconv"
	"strings"

	"github.com/hce-fhir/hce/fhir"
	"github.com/jackc/pgx/v5"
)

// pending holds the rows a transaction inserts until it next reads or
// commits, and then writes them as one multi-row INSERT per table. On Citus
// every statement is a round trip from the coordinator to a worker, so a
// Bundle of one patient's resources costs a statement per table instead of
// a dozen per resource; on PostgreSQL it saves parsing and planning.
type pending struct {
	groups []*rowGroup
	byKey  map[string]*rowGroup
	n      int // rows
}

// maxPendingRows bounds the rows a transaction holds before it writes them
// (a few MB of encoded rows for Synthea resources), so that the memory
// of a large Bundle does not grow with it until the commit.
const maxPendingRows = 5_000

// full reports whether the pending rows should be written now.
func (p *pending) full() bool { return p.n >= maxPendingRows }

// rowGroup is the rows of one table with one column list and one tail.
type rowGroup struct {
	table string
	cols  []column
	// claim: the rows claim ids (ON CONFLICT DO NOTHING RETURNING type, id),
	// and one that is not inserted means its id is taken.
	claim bool
	tail  string
	rows  [][]any
}

// add queues one row of table; cols name every column of the row.
func (p *pending) add(table string, cols []column, claim bool, tail string, row ...any) {
	key := table + "|" + tail + "|" + strconv.FormatBool(claim) + "|" + strconv.Itoa(len(cols))
	g := p.byKey[key]
	if g == nil {
		if p.byKey == nil {
			p.byKey = map[string]*rowGroup{}
		}
		g = &rowGroup{table: table, cols: cols, claim: claim, tail: tail}
		p.byKey[key] = g
		p.groups = append(p.groups, g)
	}
	g.rows = append(g.rows, row)
	p.n++
}

// merge moves q's rows into p.
func (p *pending) merge(q *pending) {
	for _, g := range q.groups {
		for _, row := range g.rows {
			p.add(g.table, g.cols, g.claim, g.tail, row...)
		}
	}
	q.groups, q.byKey, q.n = nil, nil, 0
}

// flush writes the pending rows in one round trip, in the order their
// tables were first added (claims first), and reports an id that was taken
// as fhir.ErrConflict.
func (p *pending) flush(ctx context.Context, tx pgx.Tx) error {
	if len(p.groups) == 0 {
		return nil
	}
	groups := p.groups
	p.groups, p.byKey, p.n = nil, nil, 0
	b := &pgx.Batch{}
	var claimed [][][]any // per statement: the rows it claims, nil for none
	for _, g := range groups {
		per := len(g.cols)
		for rows := g.rows; len(rows) > 0; {
			n := min(len(rows), maxParams/per)
			b.Queue(insertRows(g, n), flatten(rows[:n])...)
			var claims [][]any
			if g.claim {
				claims = rows[:n]
			}
			claimed = append(claimed, claims)
			rows = rows[n:]
		}
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for _, want := range claimed {
		if want == nil {
			if _, err := br.Exec(); err != nil {
				return err
			}
			continue
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		got := map[string]bool{}
		err = forEach(rows, func(r pgx.Rows) error {
			var typ, id string
			if err := r.Scan(&typ, &id); err != nil {
				return err
			}
			got[typ+"/"+id] = true
			return nil
		})
		if err != nil {
			return err
		}
		for _, row := range want {
			// Every claimed row starts (route, type, id); a ref claimed twice
			// is taken by its first claim.
			ref := row[1].(string) + "/" + row[2].(string)
			if !got[ref] {
				return fhir.Errorf(fhir.ErrConflict, "duplicate", ref+" already exists")
			}
			got[ref] = false
		}
	}
	return br.Close()
}

// insertRows is the INSERT of n rows of g.
func insertRows(g *rowGroup, n int) string {
	var sql strings.Builder
	sql.WriteString("INSERT INTO " + g.table + " (")
	for i, c := range g.cols {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString(c.name)
	}
	sql.WriteString(") VALUES ")
	arg := 0
	for i := 0; i < n; i++ {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(")
		for j, c := range g.cols {
			if j > 0 {
				sql.WriteString(", ")
			}
			arg++
			sql.WriteString("$" + strconv.Itoa(arg))
			if c.cast != "" {
				sql.WriteString("::" + c.cast)
			}
		}
		sql.WriteString(")")
	}
	if g.claim {
		sql.WriteString(" ON CONFLICT DO NOTHING RETURNING type, id")
	}
	sql.WriteString(g.tail)
	return sql.String()
}

func flatten(rows [][]any) []any {
	out := make([]any, 0, len(rows)*len(rows[0]))
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// The column lists of the rows a write adds.
var (
	keyCols     = []column{{"route", ""}, {"type", ""}, {"id", ""}}
	claimCols   = append(keyCols[:3:3], column{"home", ""})
	versionCols = append(keyCols[:3:3], column{"version_id", ""}, column{"last_updated", ""}, column{"deleted", ""}, column{"content", "jsonb"})
	memberCols  = []column{{"route", ""}, {"patient", ""}, {"type", ""}, {"id", ""}, {"home", ""}}
)

// resources returns how many current rows of resources (of either class) the
// pending rows hold.
func (p *pending) resources() int {
	n := 0
	for _, g := range p.groups {
		if g.table == patientTables.resources || g.table == sharedTables.resources {
			n += len(g.rows)
		}
	}
	return n
}
