-- +goose Up
-- The span of each date index row in an SP-GiST index: ANDed ranges on one
-- single-valued date parameter (Encounter?date=ge2011-08-01&date=lt2011-08-31)
-- are then one lookup of the rows overlapping the window, instead of a walk
-- of every resource (store/datespan.go). The index's statistics give the
-- planner the number of rows in a window, which the two bounds apart do
-- not. least and greatest keep the range defined for a Period whose end is
-- before its start.
--
-- On Citus, DDL on the distributed and the reference tables in one
-- transaction needs local execution off (see migration 5).
SET LOCAL citus.enable_local_execution = off;

CREATE INDEX idx_date_span ON idx_date USING spgist (tstzrange(least(lo, hi), greatest(lo, hi), '[]'));
CREATE INDEX shared_idx_date_span ON shared_idx_date USING spgist (tstzrange(least(lo, hi), greatest(lo, hi), '[]'));
-- Expression statistics exist once analyzed.
ANALYZE idx_date;
ANALYZE shared_idx_date;

-- +goose Down
SET LOCAL citus.enable_local_execution = off;
DROP INDEX shared_idx_date_span;
DROP INDEX idx_date_span;
