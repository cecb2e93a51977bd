package store

import (
	"strconv"
	"strings"
)

// sqlBuilder assembles dynamic SQL. It owns the $n numbering: every value
// goes in as a bound parameter through arg, and identifiers come only from
// constants in this package (table and column names), never from requests.
type sqlBuilder struct {
	args    []any
	aliases int
}

// arg binds v and returns its placeholder.
func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
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
