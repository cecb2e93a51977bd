package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/search"
)

// auditParams are the AuditEvent search parameters audit_events answers,
// each with the column it compares and, for tokens, the code system of
// the codes the server writes.
var auditParams = map[string]struct{ column, system string }{
	"_id":          {"id", ""},
	"_lastUpdated": {"recorded", ""},
	"date":         {"recorded", ""},
	"patient":      {"patient", ""},
	"agent":        {"agent", ""},
	"entity":       {"entity", ""},
	"action":       {"action", "http://hl7.org/fhir/audit-event-action"},
	"outcome":      {"outcome", "http://hl7.org/fhir/audit-event-outcome"},
	"subtype":      {"subtype", "http://hl7.org/fhir/restful-interaction"},
	"altid":        {"client", ""},
	"address":      {"address", ""},
}

// auditSupported lists auditParams for error messages.
func auditSupported() string {
	var names []string
	for n := range auditParams {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// searchAudit answers a search of AuditEvents from audit_events, ordered
// by recorded (then id), oldest first unless sorted by -date.
func (s *Store) searchAudit(ctx context.Context, q *search.Query, scope Scope) (*SearchResult, error) {
	if len(q.Includes) > 0 || len(q.RevIncludes) > 0 {
		return nil, fhir.Invalid("_include and _revinclude are not supported on AuditEvent searches", "_include")
	}
	b := &sqlBuilder{}
	conds := []string{}
	if scope.Patient != "" {
		conds = append(conds, "a.patient = "+b.arg(scope.Patient))
	}
	for _, f := range q.Filters {
		c, err := b.auditFilter(f)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
	desc := false
	for i, k := range q.Sort {
		if i > 0 || (k.Param.Code != "date" && k.Param.Code != "_lastUpdated") {
			return nil, fhir.Invalid("AuditEvent searches sort by date (or _lastUpdated) only", "_sort")
		}
		desc = k.Desc
	}
	where := and(conds...)
	res := &SearchResult{}
	what := "search AuditEvent"
	if q.Total == search.TotalAccurate || q.Total == search.TotalEstimate || q.Summary == search.SummaryCount || q.Count == 0 {
		var n int
		if err := s.q().QueryRow(ctx, `SELECT count(*) FROM audit_events a WHERE `+where, b.params()...).Scan(&n); err != nil {
			return nil, translate(what, err)
		}
		res.Total = &n
	}
	if q.Count == 0 || q.Summary == search.SummaryCount {
		return res, nil
	}
	order, cmp := "a.recorded, a.id", ">"
	if desc {
		order, cmp = "a.recorded DESC, a.id DESC", "<"
	}
	if q.Cursor != "" {
		keys, id, err := decodeCursor(q.Cursor, 1)
		if err != nil {
			return nil, err
		}
		at, terr := time.Parse(time.RFC3339Nano, keys[0])
		if _, ok := parseUUID(id); terr != nil || !ok {
			return nil, fhir.Invalid("the paging cursor is not valid for this search; start again from the first page", "_cursor")
		}
		where = and(where, "(a.recorded, a.id) "+cmp+" ("+b.arg(at)+"::timestamptz, "+b.arg(id)+"::uuid)")
	}
	sql := `SELECT a.id::text, a.recorded, a.content FROM audit_events a WHERE ` + where +
		` ORDER BY ` + order + ` LIMIT ` + b.arg(q.Count+1)
	var err error
	if res.Matches, err = s.auditEvents(ctx, sql, b.params()...); err != nil {
		return nil, translate(what, err)
	}
	if len(res.Matches) > q.Count {
		res.Matches = res.Matches[:q.Count]
		last := res.Matches[q.Count-1]
		res.Next = encodeCursor([]string{last.LastUpdated.UTC().Format(time.RFC3339Nano)}, last.ID)
	} else if res.Total == nil && q.Cursor == "" && q.Total != search.TotalNone {
		n := len(res.Matches)
		res.Total = &n
	}
	return res, nil
}

// reachesAudit reports the part of a search of another type that would
// have to read AuditEvents through the resource tables (a chain or _has
// through them, an _include or _revinclude of them), "" when none does.
func reachesAudit(q *search.Query) string {
	for _, f := range q.Filters {
		for _, h := range f.Chain {
			if len(h.Types) == 1 && h.Types[0] == auditType {
				return f.Name
			}
		}
	}
	for _, inc := range append(slices.Clone(q.Includes), q.RevIncludes...) {
		if inc.Source == auditType || inc.Target == auditType {
			return "_include"
		}
	}
	return ""
}

// auditFilter compiles one filter on audit_events alias a.
func (b *sqlBuilder) auditFilter(f search.Filter) (string, error) {
	name := f.Name
	if f.Param != nil && len(f.Chain) == 0 {
		name = f.Param.Code
	}
	p, ok := auditParams[name]
	if !ok || len(f.Chain) > 0 {
		return "", fhir.Invalid("AuditEvent searches support the parameters "+auditSupported()+"; not "+f.Name, f.Name)
	}
	col := "a." + p.column
	switch f.Modifier {
	case search.ModNone:
	case search.ModMissing:
		if p.column == "id" || p.column == "recorded" || p.column == "action" || p.column == "outcome" {
			return map[bool]string{true: "false", false: "true"}[f.Missing], nil
		}
		return map[bool]string{true: col + " IS NULL", false: col + " IS NOT NULL"}[f.Missing], nil
	case search.ModExact:
		if p.column != "address" {
			return "", fhir.Invalid(":exact applies to string parameters", f.Name)
		}
	default:
		return "", fhir.Invalid("the modifier :"+string(f.Modifier)+" is not supported on AuditEvent searches", f.Name)
	}
	var alts []string
	for _, v := range f.Values {
		switch v := v.(type) {
		case search.Date:
			alts = append(alts, b.dateRange(col, col+" + interval '1 microsecond'", v))
		case search.Token:
			if p.column == "id" {
				if _, ok := parseUUID(v.Code); !ok {
					continue // names no AuditEvent
				}
				alts = append(alts, col+" = "+b.arg(v.Code)+"::uuid")
				continue
			}
			if v.HasSystem && v.System != p.system {
				continue
			}
			alts = append(alts, col+" = "+b.arg(v.Code))
		case search.Reference:
			if c, ok := b.auditReference(col, p.column, v); ok {
				alts = append(alts, c)
			}
		case search.String:
			if f.Modifier == search.ModExact {
				alts = append(alts, col+" = "+b.arg(v.Value))
			} else {
				alts = append(alts, "starts_with(lower("+col+"), "+b.arg(strings.ToLower(v.Value))+")")
			}
		default:
			return "", fhir.Invalid("unexpected value for "+f.Name, f.Name)
		}
	}
	return or(alts...), nil
}

// auditReference matches a reference column: patient holds a Patient's id,
// agent and entity a relative reference Type/id.
func (b *sqlBuilder) auditReference(col, column string, v search.Reference) (string, bool) {
	if v.URL != "" && v.ID == "" {
		return "", false
	}
	if column == "patient" {
		if v.Type != "" && v.Type != "Patient" {
			return "", false
		}
		return col + " = " + b.arg(v.ID), true
	}
	if v.Type == "" {
		return "split_part(" + col + ", '/', 2) = " + b.arg(v.ID), true
	}
	return col + " = " + b.arg(v.Type+"/"+v.ID), true
}

// matchAudit is Match for AuditEvents.
func (s *Store) matchAudit(ctx context.Context, q *search.Query, limit int) ([]string, error) {
	q.Count, q.Total = limit, search.TotalNone
	if limit <= 0 {
		q.Count = 1 << 30
	}
	res, err := s.searchAudit(ctx, q, Scope{})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(res.Matches))
	for i, v := range res.Matches {
		ids[i] = v.ID
	}
	return ids, nil
}
