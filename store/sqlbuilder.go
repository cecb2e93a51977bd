package store

import (
	"strconv"
	"strings"

	"github.com/hce-fhir/hce/search"
	"github.com/jackc/pgx/v5"
)

// sqlBuilder assembles dynamic SQL. It owns the $n numbering: every value
// goes in as a bound parameter through arg, and identifiers come only from
// constants in this package (table and column names), never from requests.
type sqlBuilder struct {
	args    []any
	aliases int
	// walk marks the reverse chains to compile as a walk of the searched
	// resources (haswalk.go).
	walk map[*search.Hop]bool
}

// arg binds v and returns its placeholder.
func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// params returns the arguments of the statement, to be run with an unnamed
// statement: the planner then sees the values (a custom plan) every time.
// A cached statement would switch to a generic plan after five runs, which
// for a search that is selective for some values and not others (a common
// code, a rare patient) can be thousands of times slower.
func (b *sqlBuilder) params() []any {
	return append([]any{pgx.QueryExecModeExec}, b.args...)
}

// in matches col against values: an equality for one value, which the
// planner carries over to the columns joined to col (a reverse chain's
// type to the index rows of its filter, so their index serves).
func (b *sqlBuilder) in(col string, values []string) string {
	if len(values) == 1 {
		return col + " = " + b.arg(values[0])
	}
	return col + " = ANY(" + b.arg(values) + ")"
}

// alias returns a fresh table alias with the given prefix.
func (b *sqlBuilder) alias(prefix string) string {
	b.aliases++
	return prefix + strconv.Itoa(b.aliases)
}

// and joins conditions; an empty list is true.
func and(conds ...string) string {
	var keep []string
	for _, c := range conds {
		if c != "" {
			keep = append(keep, c)
		}
	}
	if len(keep) == 0 {
		return "true"
	}
	return "(" + strings.Join(keep, " AND ") + ")"
}

// or joins conditions; an empty list is false.
func or(conds ...string) string {
	if len(conds) == 0 {
		return "false"
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}

// sameResource correlates an index row alias i with the resource alias r:
// both carry (route, type, id), so on Citus the join stays on one shard.
func sameResource(i, r string) string {
	return i + ".route = " + r + ".route AND " + i + ".type = " + r + ".type AND " + i + ".id = " + r + ".id"
}
