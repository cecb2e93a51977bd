package main

import (
	"context"

	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/search"
	"github.com/hce-fhir/hce/store"
)

// repository adapts the store to the REST layer's Repository: the two
// packages do not know each other, and only this one sees both.
type repository struct{ *store.Store }

// Transaction runs fn on a repository bound to one database transaction.
func (r repository) Transaction(ctx context.Context, fn func(rest.Repository) error) error {
	return r.Store.Transaction(ctx, func(tx *store.Store) error { return fn(repository{tx}) })
}

// Search runs a search on the store and hands back its page.
func (r repository) Search(ctx context.Context, q *search.Query, patient string) (*rest.SearchResult, error) {
	res, err := r.Store.Search(ctx, q, store.Scope{Patient: patient})
	if err != nil {
		return nil, err
	}
	return &rest.SearchResult{Matches: res.Matches, Included: res.Included, Total: res.Total, Next: res.Next}, nil
}
