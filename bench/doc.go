// Package bench is the volume benchmark behind `hce bench`: it builds a
// large, deterministic data set from the Synthea sample, loads it into a
// running HCE server through the FHIR API, and measures a fixed mix of the
// searches users run, at several client concurrencies.
//
// The data set (Generate) rewrites the Synthea patient transaction Bundles as
// many times as it takes to reach a target number of resources. Every copy of
// a Bundle is a new patient: fresh urn:uuid fullUrls with every internal
// reference rewritten to match, fresh Patient identifiers, other names, and
// every date, dateTime and instant moved by the same whole number of days.
// Conditional references to the shared Practitioners, Organizations and
// Locations are kept, and the two batch Bundles that create those are copied
// once. Copy k depends only on the seed and k, so a data set is the same on
// every machine and can be written by several goroutines at once; Bundles go
// to disk one at a time and are never held in memory together.
//
// The load goes through the load package, as `hce load -c 4` would send it.
// With a database URL the benchmark then runs ANALYZE and reads the
// database's size; without one it notes that it skipped both.
//
// The query mix (Patterns) is built from values found in the loaded data
// (Discover): patient ids, names, birth dates, the LOINC codes present, a
// quantity unit and its values, encounter dates. Each pattern runs at each
// concurrency for a bounded number of requests and a bounded time, with its
// values varied from request to request; any answer that is not 2xx counts as
// an error. The Report gives p50, p95 and p99 latency and requests per second
// per pattern, the load rate, the resource count, the database size and the
// server's peak resident memory (the hce_process_peak_rss_bytes gauge of its
// /metrics), as Markdown and as JSON.
//
// The benchmark sends traffic only to loopback addresses unless told
// otherwise (Config.AllowRemote): every connection it opens, HTTP or
// PostgreSQL, is checked when it is dialled.
package bench
