package fhir

import "time"

// HistoryQuery selects versions for the history interaction: of one resource
// (Type and ID set), of a type (Type set) or of the whole system.
type HistoryQuery struct {
	Type, ID string
	// Since keeps versions written at or after it, when not zero.
	Since time.Time
	// Count is the page size.
	Count int
	// Cursor is the opaque position returned as next by the previous page.
	Cursor string
}
