// Package bulk is the client behind `hce export`: it kicks off a FHIR Bulk
// Data export (https://hl7.org/fhir/uv/bulkdata/STU2/export.html) at a
// server's system, Patient or Group level, polls the status URL while it
// reports progress, downloads every output and error file into a
// directory as Type.N.ndjson, and checks each file's line count against the
// manifest. The directory is then what `hce load DIR` reads.
package bulk
