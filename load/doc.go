// Package load posts FHIR data to a running HCE server through its REST API:
// it is the client behind `hce load`.
//
// Three kinds of input are understood, each read through gzip transparently
// (recognised by its magic bytes, not by the .gz suffix):
//
//   - a batch Bundle, posted to the base URL as one request
//     (https://hl7.org/fhir/R4/http.html#transaction);
//   - a transaction Bundle, posted the same way;
//   - NDJSON, one resource per line as FHIR Bulk Data writes it
//     (https://hl7.org/fhir/uv/bulkdata/), posted to the base URL in chunks
//     with Content-Type application/fhir+ndjson.
//
// Plan decides the order. Batches are loaded first, one at a time, because
// data sets such as Synthea's create the shared Organization, Location and
// Practitioner resources in batch Bundles that the patients' transaction
// Bundles then reference conditionally. Transactions and NDJSON chunks follow
// on a fixed number of concurrent streams.
//
// Bundles are streamed from disk as the request body rather than held in
// memory, so that loading many large Bundles at once stays within a small,
// predictable footprint; NDJSON is buffered one chunk at a time.
package load
