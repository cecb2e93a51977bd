package rest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/search"
	"github.com/labstack/echo/v4"
)

// Conditional interactions (https://hl7.org/fhir/R4/http.html#cond-update and
// following) are written once here, on top of search (Repository.Match) and
// the plain interactions.

// match returns the ids of typ that the search criteria select, at most
// limit of them (0: no limit).
func (h *Handler) match(ctx context.Context, repo Repository, typ, criteria string, limit int) ([]string, error) {
	q, err := url.ParseQuery(criteria)
	if err != nil {
		return nil, fhir.Invalid("malformed search criteria " + strconv.Quote(criteria))
	}
	return h.matchValues(ctx, repo, typ, q, limit)
}

func (h *Handler) matchValues(ctx context.Context, repo Repository, typ string, q url.Values, limit int) ([]string, error) {
	for k := range q {
		if k == "_format" || k == "_pretty" {
			q.Del(k)
		}
	}
	if len(q) == 0 {
		return nil, fhir.Invalid("a conditional interaction needs search criteria")
	}
	// The repository parses the criteria itself; parsing them here first
	// holds them to the search limits, with the same errors as a search.
	if _, err := search.Parse(typ, q, h.searchOptions(true)); err != nil {
		return nil, err
	}
	return repo.Match(ctx, typ, q, limit)
}

// conditionalCreate implements create with If-None-Exist: 200 with the
// match when exactly one resource matches, 412 when several do, a create
// otherwise. The criteria are locked for the transaction, so that two
// concurrent conditional creates with the same criteria make one resource.
func (h *Handler) conditionalCreate(c echo.Context, r *fhir.Resource, cond string) error {
	ctx := c.Request().Context()
	var v *fhir.Version
	code := http.StatusCreated
	err := h.repoOf(c).Transaction(ctx, func(repo Repository) error {
		if err := repo.Lock(ctx, r.Type+"?"+cond); err != nil {
			return err
		}
		ids, err := h.match(ctx, repo, r.Type, cond, 2)
		if err != nil {
			return err
		}
		switch len(ids) {
		case 0:
			r.ID, _ = ctx.Value(assignedID{}).(string)
			v, err = repo.Create(ctx, r)
			return err
		case 1:
			code = http.StatusOK
			v, err = repo.Read(ctx, r.Type, ids[0])
			return err
		}
		return fhir.Errorf(fhir.ErrPreconditionFailed, "multiple-matches", "If-None-Exist "+cond+" matches more than one "+r.Type)
	})
	if err != nil {
		return err
	}
	return respondVersion(c, code, v, true)
}

// conditionalUpdate implements PUT /{type}?criteria: no match creates (with
// the body's id, or a new one), one match updates it, several are 412.
func (h *Handler) conditionalUpdate(c echo.Context) error {
	typ, err := resourceType(c)
	if err != nil {
		return err
	}
	match, err := ifMatch(c)
	if err != nil {
		return err
	}
	r, err := h.parseResource(c, typ)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var v *fhir.Version
	created := false
	err = h.repoOf(c).Transaction(ctx, func(repo Repository) error {
		if err := repo.Lock(ctx, typ+"?"+c.QueryString()); err != nil {
			return err
		}
		ids, err := h.matchValues(ctx, repo, typ, c.QueryParams(), 2)
		if err != nil {
			return err
		}
		switch len(ids) {
		case 0:
			if r.ID == "" {
				r.ID, _ = ctx.Value(assignedID{}).(string)
			}
			if r.ID == "" {
				created = true
				v, err = repo.Create(ctx, r)
				return err
			}
		case 1:
			if r.ID != "" && r.ID != ids[0] {
				return fhir.Invalid("the resource id "+r.ID+" differs from the id of the resource the criteria match, "+ids[0], typ+".id")
			}
			r.ID = ids[0]
		default:
			return fhir.Errorf(fhir.ErrPreconditionFailed, "multiple-matches", "the criteria match more than one "+typ)
		}
		v, created, err = repo.Update(ctx, r, match)
		return err
	})
	if err != nil {
		return err
	}
	if created {
		return respondVersion(c, http.StatusCreated, v, true)
	}
	return respondVersion(c, http.StatusOK, v, false)
}

// conditionalDelete implements DELETE /{type}?criteria: it deletes the one
// match, or every match when Options.DeleteMultiple allows it (412 when
// several match otherwise); no match is a 204 as well.
func (h *Handler) conditionalDelete(c echo.Context) error {
	typ, err := resourceType(c)
	if err != nil {
		return err
	}
	limit := 2
	if h.opt.DeleteMultiple {
		limit = 0
	}
	repo := h.repoOf(c)
	ctx := c.Request().Context()
	ids, err := h.matchValues(ctx, repo, typ, c.QueryParams(), limit)
	if err != nil {
		return err
	}
	if len(ids) > 1 && !h.opt.DeleteMultiple {
		return fhir.Errorf(fhir.ErrPreconditionFailed, "multiple-matches", "the criteria match more than one "+typ+"; this server deletes one resource per conditional delete")
	}
	for _, id := range ids {
		if _, err := repo.Delete(ctx, typ, id, 0); err != nil && !errors.Is(err, fhir.ErrNotFound) {
			return err
		}
	}
	return c.NoContent(http.StatusNoContent)
}
