package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
	"github.com/jackc/pgx/v5"
)

// Everything implements Patient/{id}/$everything: the patient and every
// resource of its compartment, ordered by type and id, then the shared
// resources (Practitioner, Organization, Medication …) that the compartment
// references, each once over all pages. since and types filter; count
// pages by keyset, so pages stay stable while others write. The cursor is
// "c:Type/id" in the compartment part, "a:recorded/id" among the patient's
// AuditEvents (when _type names them) and "s:Type/id" in the shared part.
func (s *Store) Everything(ctx context.Context, patient string, since time.Time, types []string, count int, after string) ([]*fhir.Version, string, error) {
	what := "everything Patient/" + patient
	self, err := s.Read(ctx, "Patient", patient)
	if err != nil {
		return nil, "", err
	}
	routes, err := s.patientRoutes(ctx, patient)
	if err != nil {
		return nil, "", translate(what, err)
	}
	part, key, _ := strings.Cut(after, ":")
	afterType, afterID, _ := strings.Cut(key, "/")
	var out []*fhir.Version
	if part == "" || part == "c" {
		b := &sqlBuilder{}
		sql := `SELECT r.type, r.id, r.version_id, r.last_updated, r.content::text, r.route FROM resources r WHERE ` +
			and(b.routeIn("r", routes), b.inCompartment("r", patient), b.everythingFilter("r", since, types),
				`(r.type, r.id) > (`+b.arg(afterType)+`, `+b.arg(afterID)+`)`) +
			` ORDER BY r.type, r.id LIMIT ` + b.arg(count+1)
		got, err := s.collect(ctx, sql, b.params())
		if err != nil {
			return nil, "", translate(what, err)
		}
		got = withPatient(got, self, after, since, types, count+1)
		if len(got) > count {
			last := got[count-1]
			return got[:count], "c:" + last.Type + "/" + last.ID, nil
		}
		out, afterType, afterID, key = got, "", "", ""
	}
	if part != "s" && slices.Contains(types, auditType) {
		page, next, err := s.everythingAudit(ctx, patient, since, count-len(out), key)
		if err != nil || next != "" {
			return append(out, page...), next, translate(what, err)
		}
		out, afterType, afterID = append(out, page...), "", ""
	}
	// The shared resources the compartment references, in (type, id) order.
	room := count - len(out)
	b := &sqlBuilder{}
	shared := sharedTypes
	if len(types) > 0 {
		shared = nil
		for _, t := range types {
			if Shared(t) {
				shared = append(shared, t)
			}
		}
	}
	sql := `SELECT DISTINCT x.target_type, x.target_id FROM idx_reference x JOIN resources r ON ` + sameResource("x", "r") +
		` WHERE ` + and(b.routeIn("r", routes), `NOT r.deleted`, b.inCompartment("r", patient),
		`x.target_type = ANY(`+b.arg(shared)+`)`, `(x.target_type, x.target_id) > (`+b.arg(afterType)+`, `+b.arg(afterID)+`)`) +
		` ORDER BY 1, 2 LIMIT ` + b.arg(room+1)
	rows, err := s.q().Query(ctx, sql, b.params()...)
	if err != nil {
		return nil, "", translate(what, err)
	}
	var rtypes, rids []string
	err = forEach(rows, func(r pgx.Rows) error {
		var t, id string
		if err := r.Scan(&t, &id); err != nil {
			return err
		}
		rtypes, rids = append(rtypes, t), append(rids, id)
		return nil
	})
	if err != nil {
		return nil, "", translate(what, err)
	}
	next := ""
	if len(rids) > room {
		if room == 0 {
			next = "s:"
		} else {
			next = "s:" + rtypes[room-1] + "/" + rids[room-1]
		}
		rtypes, rids = rtypes[:room], rids[:room]
	}
	got, err := s.readRefs(ctx, rtypes, rids)
	if err != nil {
		return nil, "", translate(what, err)
	}
	byRef := map[string]*fhir.Version{}
	for _, g := range got {
		byRef[g.v.Ref()] = g.v
	}
	for i := range rids {
		if v := byRef[rtypes[i]+"/"+rids[i]]; v != nil && (since.IsZero() || !v.LastUpdated.Before(since)) {
			out = append(out, v)
		}
	}
	return out, next, nil
}

// sharedTypes are the resource types outside every Patient compartment.
var sharedTypes = func() []string {
	var ts []string
	for _, t := range fhir.ResourceTypes {
		if Shared(t) {
			ts = append(ts, t)
		}
	}
	return ts
}()

// compartmentPairs lists "Type.param" for every parameter of the Patient
// compartment.
var compartmentPairs = func() []string {
	var ps []string
	for _, t := range fhir.ResourceTypes {
		for _, p := range spec.PatientCompartment(t) {
			ps = append(ps, t+"."+p)
		}
	}
	return ps
}()

// inCompartment restricts alias r, of any compartment type, to the
// resources that reference patient through a compartment parameter: a route
// can hold several patients. The patient itself is not among them; see
// withPatient. (An OR with the patient's own row would keep Citus from
// routing the statement.)
func (b *sqlBuilder) inCompartment(r, patient string) string {
	i := b.alias("c")
	return `EXISTS (SELECT 1 FROM idx_reference ` + i + ` WHERE ` + sameResource(i, r) + ` AND ` + i + `.target_type = 'Patient' AND ` + i +
		`.target_id = ` + b.arg(patient) + ` AND ` + i + `.type || '.' || ` + i + `.param = ANY(` + b.arg(compartmentPairs) + `))`
}

// withPatient merges the patient itself into a page of its compartment in
// (type, id) order, when the cursor and filters let it in, keeping at most
// limit resources.
func withPatient(page []*fhir.Version, self *fhir.Version, after string, since time.Time, types []string, limit int) []*fhir.Version {
	_, key, _ := strings.Cut(after, ":")
	afterType, afterID, _ := strings.Cut(key, "/")
	if afterType > "Patient" || afterType == "Patient" && afterID >= self.ID || !since.IsZero() && self.LastUpdated.Before(since) ||
		len(types) > 0 && !slices.Contains(types, "Patient") {
		return page
	}
	less := func(v *fhir.Version) bool { return v.Type > "Patient" || v.Type == "Patient" && v.ID > self.ID }
	i := 0
	for i < len(page) && !less(page[i]) {
		i++
	}
	if i == len(page) && len(page) >= limit {
		return page // beyond this page
	}
	page = append(page[:i], append([]*fhir.Version{self}, page[i:]...)...)
	if len(page) > limit {
		page = page[:limit]
	}
	return page
}

// everythingFilter applies $everything's _since and _type to alias r.
func (b *sqlBuilder) everythingFilter(r string, since time.Time, types []string) string {
	conds := []string{"NOT " + r + ".deleted"}
	if !since.IsZero() {
		conds = append(conds, r+".last_updated >= "+b.arg(since))
	}
	if len(types) > 0 {
		conds = append(conds, r+".type = ANY("+b.arg(types)+")")
	}
	return and(conds...)
}

// collect runs a statement that selects included rows.
func (s *Store) collect(ctx context.Context, sql string, args []any) ([]*fhir.Version, error) {
	rows, err := s.q().Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	got, err := collectIncluded(rows)
	out := make([]*fhir.Version, len(got))
	for i, g := range got {
		out[i] = g.v
	}
	return out, err
}
