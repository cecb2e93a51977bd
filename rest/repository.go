package rest

import (
	"context"
	"net/url"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/search"
)

// Repository is the storage the REST layer needs. Errors wrap the fhir
// sentinel errors; Read and VRead return the deletion version together with
// fhir.ErrGone for a deleted resource.
type Repository interface {
	Create(ctx context.Context, r *fhir.Resource) (*fhir.Version, error)
	// NewID returns a new id for r, a resource whose references are
	// resolved, chosen so that its rows live with its patient's.
	NewID(r *fhir.Resource) string
	Read(ctx context.Context, typ, id string) (*fhir.Version, error)
	VRead(ctx context.Context, typ, id string, vid int64) (*fhir.Version, error)
	Update(ctx context.Context, r *fhir.Resource, ifMatch int64) (v *fhir.Version, created bool, err error)
	Delete(ctx context.Context, typ, id string, ifMatch int64) (*fhir.Version, error)
	History(ctx context.Context, q fhir.HistoryQuery) ([]*fhir.Version, string, error)
	// Search runs a parsed search; patient, when set, restricts it to that
	// patient's compartment.
	Search(ctx context.Context, q *search.Query, patient string) (*SearchResult, error)
	// Everything returns one page of Patient/{id}/$everything: resources
	// after the cursor "Type/id", and the cursor of the next page.
	Everything(ctx context.Context, patient string, since time.Time, types []string, count int, after string) ([]*fhir.Version, string, error)
	// Load stores many resources in one transaction: each under its id
	// (created or updated) or, without one, under a new id.
	Load(ctx context.Context, rs []*fhir.Resource) ([]*fhir.Version, error)
	// Match returns the ids of the live resources of typ that the search
	// criteria select, at most limit of them (0: all); conditional
	// interactions and references are built on it.
	Match(ctx context.Context, typ string, criteria url.Values, limit int) ([]string, error)
	// Lock takes a lock on key until the end of the surrounding transaction
	// (or at once released outside one): conditional creates and updates
	// lock their criteria so that concurrent ones cannot both create.
	Lock(ctx context.Context, key string) error
	// Transaction runs fn with a Repository whose reads and writes form one
	// database transaction, committed when fn returns nil. Called on the
	// Repository of a transaction, it runs fn in a savepoint that an error
	// rolls back alone.
	Transaction(ctx context.Context, fn func(Repository) error) error
}

// Operations is what the operations endpoints need from the deployment.
type Operations interface {
	// Ready reports whether the database answers, and the state to show.
	Ready(ctx context.Context) (any, error)
	// Cluster describes the database cluster for GET /admin/cluster.
	Cluster(ctx context.Context) (any, error)
}
