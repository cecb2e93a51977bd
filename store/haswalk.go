package store

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/hce-fhir/hce/search"
)

// A reverse chain, Patient?_has:Observation:patient:code=X, has two good
// plans, and PostgreSQL cannot tell which: it misjudges both how many
// Patients an Observation code reaches and how many references a Patient
// has (18 Patients estimated where all 1,564 match, at a million resources).
// For a rare code, following the few matching Observations to their
// Patients is best (the SQL of reverseChain). For a common one, walking the
// Patients in id order and stopping after a page is, when each Patient's
// references are checked against a hash of the matching Observations,
// built once: 2 ms where the planner's choice took 80 ms. The store counts
// the inner matches first, up to hasWalkAbove, and walks above it.
const hasWalkAbove = 1000

// dbKind is what the store learns once of the database it is on.
type dbKind struct {
	known atomic.Bool
	citus atomic.Bool
}

// onCitus reports whether the database is a Citus coordinator. A definite
// answer is kept, since a database does not turn into a Citus cluster
// while HCE serves it; when the check fails (the database is down, the
// request gone) the answer is yes, which only forgoes the walk, and is
// asked again next time.
func (s *Store) onCitus(ctx context.Context) bool {
	if s.kind.known.Load() {
		return s.kind.citus.Load()
	}
	err := s.CheckCitus(ctx)
	if err != nil && !errors.Is(err, ErrNotCitus) {
		return true
	}
	s.kind.citus.Store(err == nil)
	s.kind.known.Store(true)
	return err == nil
}

// probeReverseChains marks in b the _has filters of q, one hop deep with an
// indexed inner filter, whose inner matches are more than hasWalkAbove. On
// Citus the walk is not used: its correlation on the Patient's id is not
// on the distribution column, so Citus could not push it to the shards.
func (s *Store) probeReverseChains(ctx context.Context, b *sqlBuilder, q *search.Query) error {
	for _, f := range q.Filters {
		if len(f.Chain) != 1 || !f.Chain[0].Reverse {
			continue
		}
		if s.onCitus(ctx) {
			return nil
		}
		rest := f
		rest.Chain = nil
		n, ok, err := s.innerMatches(ctx, f.Chain[0].Types, rest)
		if err != nil {
			return err
		}
		if ok && n > hasWalkAbove {
			if b.walk == nil {
				b.walk = map[*search.Hop]bool{}
			}
			b.walk[&f.Chain[0]] = true
		}
	}
	return nil
}

// innerMatches counts the index rows of types that filter rest selects, up
// to one more than hasWalkAbove; ok is false when rest is not a filter on
// index rows (a negation, :missing, _lastUpdated).
func (s *Store) innerMatches(ctx context.Context, types []string, rest search.Filter) (n int, ok bool, err error) {
	for _, types := range splitTypes(types) {
		b := &sqlBuilder{}
		x, ok, err := b.positive(types[0], rest)
		if err != nil || !ok {
			return 0, false, err
		}
		sql := `SELECT count(*) FROM (SELECT 1 FROM ` + x.table + ` ` + x.alias + ` WHERE ` + b.in(x.alias+`.type`, types) +
			` AND ` + x.cond + ` LIMIT ` + b.arg(hasWalkAbove+1) + `) c`
		var c int
		if err := s.q().QueryRow(ctx, sql, b.params()...).Scan(&c); err != nil {
			return 0, false, err
		}
		n += c
	}
	return n, true, nil
}

// walkReverse compiles the _has filter for a walk of alias r: r has a
// reference row from types whose resource is among the inner rows x. The
// IN stays a hashed subplan (IS TRUE keeps PostgreSQL from turning it into
// a join it would repeat for every Patient), and OFFSET 0 keeps the EXISTS
// a filter evaluated as the Patients come in id order.
func (b *sqlBuilder) walkReverse(r, reference string, types []string, code string, x indexRows) string {
	h := b.alias("h")
	return `EXISTS (SELECT 1 FROM ` + reference + ` ` + h + ` WHERE ` + h + `.target_id = ` + r + `.id AND ` + h + `.target_type = ` + r +
		`.type AND ` + b.in(h+`.type`, types) + ` AND ` + h + `.param = ` + code + ` AND (` + h + `.route, ` + h + `.type, ` + h +
		`.id) IN (SELECT ` + x.alias + `.route, ` + x.alias + `.type, ` + x.alias + `.id FROM ` + x.table + ` ` + x.alias +
		` WHERE ` + b.in(x.alias+`.type`, types) + ` AND ` + x.cond + `) IS TRUE OFFSET 0)`
}
