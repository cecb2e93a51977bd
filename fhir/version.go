package fhir

import (
	"strconv"
	"time"
)

// Version is one stored version of a resource as the store returns it.
type Version struct {
	Type        string
	ID          string
	VersionID   int64
	LastUpdated time.Time
	// Deleted marks the version written by a delete; Content is then nil.
	Deleted bool
	// Content is the resource JSON exactly as stored, meta included.
	Content []byte
}

// ETag is the weak entity tag of the version, W/"n".
func (v *Version) ETag() string { return `W/"` + strconv.FormatInt(v.VersionID, 10) + `"` }

// Ref is the version's relative reference, Type/id.
func (v *Version) Ref() string { return v.Type + "/" + v.ID }

// FormatInstant renders t as a FHIR instant in UTC with the microsecond
// precision PostgreSQL keeps, so meta.lastUpdated equals the stored column.
func FormatInstant(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.999999Z07:00")
}
