package fhir

import (
	"errors"
	"time"
)

// ErrTooManyJobs means the server runs as many Bulk Data export jobs as it
// allows; the client may try again later.
var ErrTooManyJobs = errors.New("too many export jobs")

// Export levels: the kick-off endpoints of the Bulk Data Access IG.
const (
	ExportSystem  = "system"  // [base]/$export
	ExportPatient = "patient" // [base]/Patient/$export
	ExportGroup   = "group"   // [base]/Group/[id]/$export
)

// ExportRequest is a Bulk Data $export kick-off, resolved by the REST layer
// against the token's scopes: Types are the types the export may contain,
// and Patients, when set, restrict it to those patients' compartments.
type ExportRequest struct {
	// Level is ExportSystem, ExportPatient or ExportGroup.
	Level string `json:"level"`
	// Group is the Group's id for ExportGroup.
	Group string `json:"group,omitempty"`
	// Types are the resource types to export, each allowed to the owner.
	Types []string `json:"types"`
	// Since keeps the resources last changed after it, when not zero.
	Since time.Time `json:"since,omitzero"`
	// Patients restricts the export to the compartments of these patients;
	// Compartment is true when the export holds Patient compartment
	// types only (Patient and Group level).
	Patients    []string `json:"patients,omitempty"`
	Compartment bool     `json:"compartment,omitempty"`
	// TypeFilters are _typeFilter searches, by type, as query strings
	// (code=http://loinc.org|1234-5&date=gt2020): a resource of a type with
	// filters is exported when it matches one of them.
	TypeFilters map[string][]string `json:"typeFilters,omitempty"`
	// Elements, when set, keeps only these elements (Type.element or
	// element for every type), besides id, meta and resourceType.
	Elements []string `json:"elements,omitempty"`
	// Request is the kick-off URL, as the manifest reports it.
	Request string `json:"request"`
	// Owner is who asked (a token's subject, "" without authentication).
	Owner string `json:"owner"`
}

// ExportJob is the state of an export job.
type ExportJob struct {
	ID     string
	Status string // accepted, running, complete or failed
	Req    ExportRequest
	// TransactionTime is the instant of the snapshot the export holds.
	TransactionTime time.Time
	// Exported counts the resources written so far.
	Exported int64
	// Error says why a failed job failed.
	Error string
	// Files are the output and error files of a complete job.
	Files []ExportFile
	// Expires is when a finished job and its files are removed.
	Expires time.Time
}

// ExportFile is one file of a job's output.
type ExportFile struct {
	N     int
	Type  string
	Error bool // the file holds OperationOutcomes of the error list
	Count int64
	Bytes int64
}
