// Package store is HCE's PostgreSQL and Citus repository. It writes a
// resource's current row, its history row and its routing row in one
// transaction, reads by id through the routing table so that a read touches
// one shard, and translates driver errors into the fhir sentinel errors at a
// single boundary (errors.go).
//
// Every table carries shard_key, the id of the patient a resource belongs to
// (its own id for a Patient and for resources outside the Patient
// compartment), and every primary key includes it, so the same schema runs on
// plain PostgreSQL and distributed on Citus.
package store
