// Package audit records what clients do as R4 AuditEvent resources
// (https://hl7.org/fhir/R4/auditevent.html).
//
// A Writer takes Events on the request path without waiting for the
// database: they are queued and written by one goroutine in batches, and the
// queue is drained when the Writer is closed, so a clean shutdown loses
// nothing.
package audit
