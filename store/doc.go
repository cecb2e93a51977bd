// Package store is HCE's PostgreSQL and Citus repository. It writes a
// resource's current row, its history row and its index rows in one
// transaction, as one multi-row INSERT per table when the transaction next
// reads or commits (pending.go), and translates driver errors into the fhir
// sentinel errors at a single boundary (errors.go).
//
// Resources in the Patient compartment live in tables distributed by route,
// the number their patient's id names (fhir.RouteOf); the ids the store
// assigns name the same route, so a read by id and a patient's write touch
// one shard group. Every other type lives in tables Citus replicates to
// every node (tables.go). Every primary key includes the route, so the same
// schema runs on plain PostgreSQL and distributed on Citus. docs/storage.md
// describes the layout.
//
// On Citus the store also runs the cluster: registering, draining and
// rebalancing workers (cluster.go), the reconcile loop that keeps them to a
// desired set (reconcile.go), and the metrics of workers, rebalance and
// primary changes (clustermetrics.go). /readyz waits for the schema to be at
// the newest embedded migration (schema.go).
package store
