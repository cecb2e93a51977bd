package rest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/hce-fhir/hce/auth"
	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/search"
)

// Authorization is enforced in one place: every handler, every Bundle
// entry, conditional interaction and NDJSON load reaches storage through
// the guarded Repository of its request, whose methods consult authorize.
//
// Permissions follow SMART v2: read (r) for read, vread and history of an
// instance, and for every resource returned (matches, _include,
// _revinclude, $everything, history); search (s) for searches, type and
// system history and the criteria of conditional interactions; create (c),
// update (u) and delete (d) for writes. A patient/ scope binds the
// permission to the compartment of the token's patient: reads outside it
// are 404 as for a resource that does not exist, searches are restricted to
// it, writes outside it are 403. AuditEvents are written by the server only:
// creating, changing or deleting one through the API is 403 for everyone,
// and reading them takes a user/ or system/ scope.

// guarded is a Repository whose every call is checked against the scopes of
// the request's principal.
type guarded struct {
	repo Repository
	p    *auth.Principal // nil: authentication is off
}

// guard returns the Repository a request works through.
func guard(ctx context.Context, repo Repository) Repository {
	if g, ok := repo.(*guarded); ok {
		return g
	}
	return &guarded{repo: repo, p: principalOf(ctx)}
}

// authorize is the one decision: may the principal use perm on resources of
// typ? It answers the patient the permission is bound to ("" when it holds
// for every resource of typ), or a 403 error.
func (g *guarded) authorize(perm auth.Perm, typ string) (patient string, err error) {
	if perm&(auth.Create|auth.Update|auth.Delete) != 0 && typ == "AuditEvent" {
		return "", auth.Forbidden("AuditEvents are recorded by the server and cannot be created, changed or deleted")
	}
	if g.p == nil {
		return "", nil
	}
	switch g.p.Access(perm, typ) {
	case auth.FullAccess:
		return "", nil
	case auth.PatientAccess:
		if typ == "AuditEvent" {
			// The trail is the operators': a patient-bound token does not
			// see who else looked at the patient's record.
			return "", auth.Forbidden("AuditEvents need a user/ or system/ scope")
		}
		if !auth.InPatientCompartment(typ) {
			return "", nil // shared resources (Practitioner, Medication …)
		}
		return g.p.Patient, nil
	}
	return "", auth.Forbidden(fmt.Sprintf("the token's scopes do not allow %s on %s", permName(perm), typ))
}

func permName(p auth.Perm) string {
	switch p {
	case auth.Create:
		return "create"
	case auth.Read:
		return "read"
	case auth.Update:
		return "update"
	case auth.Delete:
		return "delete"
	case auth.Search:
		return "search"
	}
	return p.String()
}

// visible reports whether the principal may see v: read permission on its
// type and, when that is patient-bound, v in the patient's compartment.
func (g *guarded) visible(v *fhir.Version) bool {
	patient, err := g.authorize(auth.Read, v.Type)
	if err != nil {
		return false
	}
	return patient == "" || (!v.Deleted && auth.InCompartmentJSON(v.Type, v.Content, patient))
}

// filter keeps the versions the principal may see.
func (g *guarded) filter(vs []*fhir.Version) []*fhir.Version {
	if g.p == nil {
		return vs
	}
	out := vs[:0:0]
	for _, v := range vs {
		if g.visible(v) {
			out = append(out, v)
		}
	}
	return out
}

// unknown is the answer for a resource outside the patient's compartment:
// the same as for one that does not exist.
func unknown(typ, id string) error {
	return fhir.Errorf(fhir.ErrNotFound, "not-found", typ+"/"+id+" is not known")
}

func (g *guarded) Read(ctx context.Context, typ, id string) (*fhir.Version, error) {
	patient, err := g.authorize(auth.Read, typ)
	if err != nil {
		return nil, err
	}
	v, err := g.repo.Read(ctx, typ, id)
	if patient != "" && (errors.Is(err, fhir.ErrGone) || err == nil) && !g.visible(v) {
		return nil, unknown(typ, id)
	}
	return v, err
}

func (g *guarded) VRead(ctx context.Context, typ, id string, vid int64) (*fhir.Version, error) {
	patient, err := g.authorize(auth.Read, typ)
	if err != nil {
		return nil, err
	}
	v, err := g.repo.VRead(ctx, typ, id, vid)
	if patient != "" && (errors.Is(err, fhir.ErrGone) || err == nil) && !g.visible(v) {
		return nil, unknown(typ, id)
	}
	return v, err
}

// writable checks a write of r: the permission, and with patient-bound
// access both the stored resource (if any) and the new content in the
// compartment.
func (g *guarded) writable(ctx context.Context, r *fhir.Resource, perm auth.Perm) error {
	patient, err := g.authorize(perm, r.Type)
	if err != nil {
		return err
	}
	if patient != "" && !auth.InCompartment(r.Type, r.Content, patient) {
		return auth.Forbidden(r.Type + " is outside the compartment of the token's patient")
	}
	return nil
}

// existing reads the current version of typ/id without checks: nil when
// there is none.
func (g *guarded) existing(ctx context.Context, typ, id string) (*fhir.Version, error) {
	v, err := g.repo.Read(ctx, typ, id)
	switch {
	case errors.Is(err, fhir.ErrNotFound):
		return nil, nil
	case errors.Is(err, fhir.ErrGone):
		return v, nil
	}
	return v, err
}

// mayChange checks that the stored version cur (nil: none) is within reach
// of a perm write.
func (g *guarded) mayChange(cur *fhir.Version, perm auth.Perm) error {
	if cur == nil || cur.Deleted {
		return nil
	}
	patient, err := g.authorize(perm, cur.Type)
	if err != nil {
		return err
	}
	if patient != "" && !auth.InCompartmentJSON(cur.Type, cur.Content, patient) {
		return auth.Forbidden(cur.Type + "/" + cur.ID + " is outside the compartment of the token's patient")
	}
	return nil
}

func (g *guarded) Create(ctx context.Context, r *fhir.Resource) (*fhir.Version, error) {
	if err := g.writable(ctx, r, auth.Create); err != nil {
		return nil, err
	}
	return g.repo.Create(ctx, r)
}

func (g *guarded) Update(ctx context.Context, r *fhir.Resource, ifMatch int64) (*fhir.Version, bool, error) {
	if err := g.writable(ctx, r, auth.Update); err != nil {
		return nil, false, err
	}
	if g.p != nil {
		// Update as create needs the create permission, and a patient-bound
		// update must not take over another patient's resource.
		patient, _ := g.authorize(auth.Update, r.Type)
		if patient != "" || g.p.Access(auth.Create, r.Type) != auth.FullAccess {
			cur, err := g.existing(ctx, r.Type, r.ID)
			if err != nil {
				return nil, false, err
			}
			if cur == nil || cur.Deleted {
				if err := g.writable(ctx, r, auth.Create); err != nil {
					return nil, false, err
				}
			} else if err := g.mayChange(cur, auth.Update); err != nil {
				return nil, false, err
			}
		}
	}
	return g.repo.Update(ctx, r, ifMatch)
}

func (g *guarded) Delete(ctx context.Context, typ, id string, ifMatch int64) (*fhir.Version, error) {
	patient, err := g.authorize(auth.Delete, typ)
	if err != nil {
		return nil, err
	}
	if patient != "" {
		cur, err := g.existing(ctx, typ, id)
		if err != nil {
			return nil, err
		}
		if err := g.mayChange(cur, auth.Delete); err != nil {
			return nil, err
		}
	}
	return g.repo.Delete(ctx, typ, id, ifMatch)
}

func (g *guarded) History(ctx context.Context, q fhir.HistoryQuery) ([]*fhir.Version, string, error) {
	switch {
	case q.ID != "":
		patient, err := g.authorize(auth.Read, q.Type)
		if err != nil {
			return nil, "", err
		}
		if patient != "" {
			cur, err := g.existing(ctx, q.Type, q.ID)
			if err != nil {
				return nil, "", err
			}
			if cur != nil && !cur.Deleted && !g.visible(cur) {
				return nil, "", unknown(q.Type, q.ID)
			}
		}
	case q.Type != "":
		if _, err := g.authorize(auth.Search, q.Type); err != nil {
			return nil, "", err
		}
	}
	vs, next, err := g.repo.History(ctx, q)
	if err != nil {
		return nil, "", err
	}
	return g.filter(vs), next, nil
}

func (g *guarded) Search(ctx context.Context, q *search.Query, patient string) (*SearchResult, error) {
	bound, err := g.authorize(auth.Search, q.Type)
	if err != nil {
		return nil, err
	}
	if err := g.criteria(q, bound != ""); err != nil {
		return nil, err
	}
	if bound != "" {
		if patient != "" && patient != bound {
			// Another patient's compartment: as empty as an unknown one.
			zero := 0
			return &SearchResult{Total: &zero}, nil
		}
		patient = bound
	}
	res, err := g.repo.Search(ctx, q, patient)
	if err != nil {
		return nil, err
	}
	// The matches are within reach by construction; what _include and
	// _revinclude added may not be.
	res.Included = g.filter(res.Included)
	return res, nil
}

// criteria checks the types a search reaches through chains and _has: the
// principal must be able to read them, so that no filter reveals what the
// token could not read. A hop into another type of the Patient compartment
// on patient-bound access is allowed only when the search itself is
// restricted to the compartment (restricted), as it then starts from the
// patient's own resources.
func (g *guarded) criteria(q *search.Query, restricted bool) error {
	if g.p == nil {
		return nil
	}
	for _, f := range q.Filters {
		for _, hop := range f.Chain {
			for _, t := range hop.Types {
				bound, err := g.authorize(auth.Read, t)
				if err != nil {
					return auth.Forbidden(fmt.Sprintf("%s: the token's scopes do not allow reading %s, which the search filters on", f.Name, t))
				}
				if bound != "" && !restricted {
					return auth.Forbidden(fmt.Sprintf("%s: a search of shared resources cannot filter on %s with patient-bound access", f.Name, t))
				}
			}
		}
	}
	return nil
}

func (g *guarded) Everything(ctx context.Context, patient string, since time.Time, types []string, count int, after string) ([]*fhir.Version, string, error) {
	bound, err := g.authorize(auth.Read, "Patient")
	if err != nil {
		return nil, "", err
	}
	if bound != "" && bound != patient {
		return nil, "", unknown("Patient", patient)
	}
	if len(types) == 0 {
		// The audit trail of a record is not part of the record: it comes
		// only when asked for with _type=AuditEvent. Left out by the query,
		// not from its pages, so that pages stay full.
		types = recordTypes
	}
	vs, next, err := g.repo.Everything(ctx, patient, since, types, count, after)
	if err != nil {
		return nil, "", err
	}
	return g.filter(vs), next, nil
}

// recordTypes are the types $everything returns by default: all but
// AuditEvent.
var recordTypes = slices.DeleteFunc(slices.Clone(fhir.ResourceTypes), func(t string) bool { return t == "AuditEvent" })

func (g *guarded) Load(ctx context.Context, rs []*fhir.Resource) ([]*fhir.Version, error) {
	for _, r := range rs {
		if err := g.writable(ctx, r, auth.Create); err != nil {
			return nil, err
		}
		if r.ID == "" {
			continue
		}
		if err := g.writable(ctx, r, auth.Update); err != nil {
			return nil, err
		}
		if patient, _ := g.authorize(auth.Update, r.Type); patient != "" {
			cur, err := g.existing(ctx, r.Type, r.ID)
			if err != nil {
				return nil, err
			}
			if err := g.mayChange(cur, auth.Update); err != nil {
				return nil, err
			}
		}
	}
	return g.repo.Load(ctx, rs)
}

// Match serves conditional interactions: their criteria are a search, so
// they need the search permission and, when it is patient-bound, only see
// the patient's compartment.
func (g *guarded) Match(ctx context.Context, typ string, criteria url.Values, limit int) ([]string, error) {
	bound, err := g.authorize(auth.Search, typ)
	if err != nil {
		return nil, err
	}
	if g.p == nil {
		return g.repo.Match(ctx, typ, criteria, limit)
	}
	q, perr := search.Parse(typ, criteria, search.Options{MaxCount: search.MaxCount})
	if perr == nil {
		if err := g.criteria(q, bound != ""); err != nil {
			return nil, err
		}
	}
	if bound == "" || perr != nil {
		return g.repo.Match(ctx, typ, criteria, limit)
	}
	q.Count = limit
	if limit <= 0 {
		q.Count = search.MaxCount
	}
	q.Includes, q.RevIncludes = nil, nil
	res, err := g.repo.Search(ctx, q, bound)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(res.Matches))
	for _, v := range res.Matches {
		ids = append(ids, v.ID)
	}
	return ids, nil
}

func (g *guarded) Lock(ctx context.Context, key string) error { return g.repo.Lock(ctx, key) }

// NewID grants nothing: the create that uses the id is checked.
func (g *guarded) NewID(r *fhir.Resource) string { return g.repo.NewID(r) }

func (g *guarded) Transaction(ctx context.Context, fn func(Repository) error) error {
	return g.repo.Transaction(ctx, func(r Repository) error { return fn(&guarded{repo: r, p: g.p}) })
}
