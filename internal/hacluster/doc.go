// Package hacluster runs a highly available Citus cluster on loopback for
// tests: one etcd and, for each Citus group (the coordinator, group 0, and
// the workers), a primary and a streaming standby managed by Patroni in its
// Citus mode, with synchronous replication on. Patroni registers the primary
// of every group in the coordinator's pg_dist_node and updates it when a
// standby is promoted, so the cluster fails over on its own when a primary
// dies.
//
// Everything lives in one temporary directory with free ports; Close kills
// every process it started (Patroni, PostgreSQL and etcd, by process group)
// and removes the directory. Available tells whether the binaries it needs
// (patroni, etcd, PostgreSQL with the citus extension) are installed, so a
// test can skip with the reason when they are not. With HCE_HACLUSTER_KEEP
// set, Close still kills every process but leaves the directory (data and
// logs) for a look after a failure.
package hacluster
