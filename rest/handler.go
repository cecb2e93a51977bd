package rest

import (
	"net/http"
	"strings"
	"time"

	"github.com/hce-fhir/hce/auth"
	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/search"
	"github.com/hce-fhir/hce/validate"
	"github.com/labstack/echo/v4"
)

// Options tunes the API.
type Options struct {
	// MaxBodyBytes caps request bodies; larger ones get 413.
	MaxBodyBytes int64
	// DefaultCount and MaxCount bound page sizes (_count).
	DefaultCount, MaxCount int
	// Version is the software version reported in the CapabilityStatement.
	Version string
	// DeleteMultiple lets a conditional delete remove every match instead of
	// answering 412 when several resources match.
	DeleteMultiple bool
	// Auth verifies bearer tokens; nil serves without authentication.
	Auth Authenticator
	// SMART describes the authorization server for
	// /.well-known/smart-configuration and the CapabilityStatement; nil
	// when there is none (authentication off, or the server's own issuer).
	SMART *auth.Metadata
	// Audit records every interaction; nil records none.
	Audit Auditor
	// CORSOrigins are the browser origins allowed to call the API ("*" for
	// any); empty disables CORS.
	CORSOrigins []string
	// Limits bound the cost of one search, in GET and POST _search, the
	// criteria of conditional interactions and conditional references;
	// zero fields take search.DefaultLimits.
	Limits search.Limits
	// SearchTimeout is the time budget of one search ($everything
	// included), the wait for a search slot included; zero means 10 s.
	// It should be shorter than the database statement timeout, so that
	// the budget, not the database, ends an expensive search.
	SearchTimeout time.Duration
	// SearchConcurrency bounds the searches that run at once, so that
	// searches cannot take every database connection; zero means no bound.
	SearchConcurrency int
	// Exports runs Bulk Data $export jobs; nil answers $export with 400.
	Exports Exporter
	// MaxExportJobs bounds the export jobs accepted or running at once,
	// over every replica; more are answered 429. Zero means no bound.
	MaxExportJobs int
	// BodyTimeout is how long a client may take to send a body; zero means
	// DefaultBodyTimeout.
	BodyTimeout time.Duration
	// RequestTimeout is the deadline of a whole request; zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers (431 beyond);
	// zero means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// Validation bounds the JSON of request bodies (nesting depth, array
	// length); zero fields take the validate package's defaults.
	Validation validate.Options
}

// Handler serves the FHIR API over a Repository.
type Handler struct {
	repo   Repository
	ops    Operations
	opt    Options
	budget *budget
	inner  *echo.Echo // serves the entries of batch and transaction Bundles
	// validator checks every resource written, and $validate.
	validator *validate.Validator
}

// NewHandler returns a Handler; zero options get defaults (64 MiB bodies,
// pages of 50 up to 1,000, search.DefaultLimits, 10 s per search).
func NewHandler(repo Repository, ops Operations, opt Options) *Handler {
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = 64 << 20
	}
	if opt.DefaultCount <= 0 {
		opt.DefaultCount = 50
	}
	if opt.MaxCount <= 0 {
		opt.MaxCount = 1000
	}
	if opt.Version == "" {
		opt.Version = "dev"
	}
	opt.Limits = opt.Limits.Or(search.DefaultLimits)
	if opt.BodyTimeout <= 0 {
		opt.BodyTimeout = DefaultBodyTimeout
	}
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = DefaultRequestTimeout
	}
	if opt.MaxHeaderBytes <= 0 {
		opt.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if opt.SearchTimeout <= 0 {
		opt.SearchTimeout = 10 * time.Second
	}
	return &Handler{repo: repo, ops: ops, opt: opt, budget: newBudget(opt.SearchTimeout, opt.SearchConcurrency),
		validator: validate.New(opt.Validation)}
}

// resourceType returns the :type path parameter after checking that it names
// an R4 resource type.
func resourceType(c echo.Context) (string, error) {
	t := c.Param("type")
	if !fhir.IsResourceType(t) {
		return "", fhir.Errorf(fhir.ErrNotFound, "not-supported", "unknown resource type "+t)
	}
	return t, nil
}

// resourceID returns the :id path parameter after checking its syntax.
func resourceID(c echo.Context) (string, error) {
	id := c.Param("id")
	if strings.Contains(id, "/") {
		// The router hands the rest of a longer path to the last parameter.
		return "", echo.ErrNotFound
	}
	if !fhir.ValidID(id) {
		return "", fhir.Invalid("invalid id " + id + `: ids match [A-Za-z0-9\-\.]{1,64}`)
	}
	return id, nil
}

// bodyLimit caps every request body at n bytes; reading past the limit fails
// with *http.MaxBytesError, which readBody turns into 413.
func bodyLimit(n int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > n {
				return statusError(http.StatusRequestEntityTooLarge, "too-costly", "request body exceeds the limit")
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, n)
			return next(c)
		}
	}
}
