// Package verify checks a running HCE deployment end to end and writes what
// it found as a Markdown report: it is the engine behind `hce verify`.
//
// It talks to the deployment only as an operator's client would: the FHIR
// REST API, the operations endpoints (/healthz, /readyz, /admin/cluster) and,
// when given, the Citus coordinator's catalog. Three levels build on one
// another:
//
//   - Basic: the server, the database behind it and the FHIR API answer; the
//     citus extension is installed; workers are registered and active (and,
//     with a database URL, reachable from the coordinator).
//   - Complete: also creates a marked test set (by default 100 Patients with
//     9 Observations each, 1,000 resources) through transaction Bundles,
//     measures how it spread over the workers, pages through a distributed
//     search, follows an _include join, counts with _summary=count, and
//     deletes the test set again. Every resource of the set carries the tag
//     TagSystem|run id, so that a test set left behind by an interrupted run
//     is easy to find and remove.
//   - HA: also stops one worker with a command the operator gives, measures
//     how soon reads of patients on that worker fail, how they fail (503 with
//     an OperationOutcome and Retry-After is the contract), whether patients
//     on other workers keep answering, and how long reads take to recover
//     once the worker is started again; then reads back every resource of
//     the test set to show that nothing was lost. With a failover command
//     (a deployment with a standby per group, such as Patroni's), it also
//     kills a primary while probed patients are read and written, and
//     measures when requests begin to fail, when writes resume and when
//     every probe reads and writes again (bounded by FailoverWithin), how
//     the requests failed meanwhile, and whether every acknowledged write
//     reads back.
//
// Cleanup runs whatever happened before it, and a worker that was stopped is
// always started again, even when the run is cancelled. Every wait is bounded
// by Config.Timeout.
package verify
