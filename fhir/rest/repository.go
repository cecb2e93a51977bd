package rest

import (
	"context"

	"github.com/hce-fhir/hce/fhir"
)

// Repository is the storage the REST layer needs. Errors wrap the fhir
// sentinel errors; Read and VRead return the deletion version together with
// fhir.ErrGone for a deleted resource.
type Repository interface {
	Create(ctx context.Context, r *fhir.Resource) (*fhir.Version, error)
	Read(ctx context.Context, typ, id string) (*fhir.Version, error)
	VRead(ctx context.Context, typ, id string, vid int64) (*fhir.Version, error)
	Update(ctx context.Context, r *fhir.Resource, ifMatch int64) (v *fhir.Version, created bool, err error)
	Delete(ctx context.Context, typ, id string, ifMatch int64) (*fhir.Version, error)
	History(ctx context.Context, q fhir.HistoryQuery) ([]*fhir.Version, string, error)
}

// Operations is what the operations endpoints need from the deployment.
type Operations interface {
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Cluster describes the database cluster for GET /admin/cluster.
	Cluster(ctx context.Context) (any, error)
}
