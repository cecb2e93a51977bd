package store

import (
	"fmt"
	"strings"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/search"
	"github.com/hce-fhir/hce/search/extract"
)

// Each search parameter type has its index table here, written by
// queueIndex from the values search/extract produces, and read by the
// predicate below. Index values and query values share search's
// NormalizeString and DateRange.

// filter compiles one search filter on resource alias r of type typ.
func (b *sqlBuilder) filter(r, typ string, f search.Filter) (string, error) {
	if len(f.Chain) > 0 {
		return b.chain(r, typ, f)
	}
	p := f.Param
	if (p.Code == "_id" || p.Code == "_lastUpdated") && f.Modifier == search.ModMissing {
		// Every resource has an id and a lastUpdated.
		if f.Missing {
			return "false", nil
		}
		return "true", nil
	}
	switch p.Code {
	case "_id":
		return b.idFilter(r, f), nil
	case "_lastUpdated":
		return b.lastUpdatedFilter(r, f), nil
	}
	rows, err := b.rowsOf(typ, f, f.Modifier != search.ModMissing)
	if err != nil {
		return "", err
	}
	if f.Modifier == search.ModNot || f.Modifier == search.ModMissing && f.Missing {
		return "NOT " + rows.exists(r), nil
	}
	return rows.exists(r), nil
}

// indexRows are the index rows that satisfy a filter: rows of table, under
// alias, that meet cond. Only live resources have index rows, so their
// distinct (route, type, id) are the resources the filter selects.
type indexRows struct{ table, alias, cond string }

// exists is the filter on resource alias r: r has such a row.
func (x indexRows) exists(r string) string {
	return `EXISTS (SELECT 1 FROM ` + x.table + ` ` + x.alias + ` WHERE ` + sameResource(x.alias, r) + ` AND ` + x.cond + `)`
}

// resources selects the resources of typ the rows belong to, with the
// columns that a search's conditions on resources read (route, type, id,
// deleted): a count can start from the rows rather than from resources.
func (x indexRows) resources(b *sqlBuilder, typ string) string {
	a := x.alias
	return `SELECT DISTINCT ` + a + `.route, ` + a + `.type, ` + a + `.id, false AS deleted FROM ` + x.table + ` ` + a +
		` WHERE ` + a + `.type = ` + b.arg(typ) + ` AND ` + x.cond
}

// rowsOf compiles filter f (on an indexed parameter, not a chain) as index
// rows: of the parameter, with one of its values when values is set.
func (b *sqlBuilder) rowsOf(typ string, f search.Filter, values bool) (indexRows, error) {
	p := f.Param
	tables := tablesFor(typ)
	table, ok := tables.idx[p.Type]
	if !ok || extract.Unindexed[p.Code] {
		return indexRows{}, fhir.Errorf(fhir.ErrNotSupported, "not-supported", "searching by "+f.Name+" is not supported", f.Name)
	}
	code := p.Code
	if f.Modifier == search.ModIdentifier {
		table, code = tables.idx["token"], p.Code+":identifier"
	}
	i := b.alias("i")
	cond := i + `.param = ` + b.arg(code)
	if values {
		var alts []string
		for _, v := range f.Values {
			c, err := b.value(i, f, v)
			if err != nil {
				return indexRows{}, err
			}
			alts = append(alts, c)
		}
		cond += ` AND ` + or(alts...)
	}
	return indexRows{table: table, alias: i, cond: cond}, nil
}

// positive compiles f as the index rows it selects resources by, when it
// is such a filter: not a negation, :missing, _id, _lastUpdated or a
// reverse chain.
func (b *sqlBuilder) positive(typ string, f search.Filter) (indexRows, bool, error) {
	switch {
	case len(f.Chain) > 0:
		if f.Chain[0].Reverse {
			return indexRows{}, false, nil
		}
		x, err := b.forwardChain(typ, f)
		return x, err == nil, err
	case f.Param == nil, f.Param.Code == "_id", f.Param.Code == "_lastUpdated",
		f.Modifier == search.ModNot, f.Modifier == search.ModMissing:
		return indexRows{}, false, nil
	}
	x, err := b.rowsOf(typ, f, true)
	return x, err == nil, err
}

// value compiles one value against index row alias i.
func (b *sqlBuilder) value(i string, f search.Filter, v search.Value) (string, error) {
	switch v := v.(type) {
	case search.String:
		if f.Param.Type == "token" { // :text
			return i + ".text LIKE " + b.arg(likePrefix(v.Normalized)), nil
		}
		switch f.Modifier {
		case search.ModExact:
			return i + ".exact = " + b.arg(v.Value), nil
		case search.ModContains:
			return i + ".value LIKE " + b.arg("%"+likePrefix(v.Normalized)), nil
		}
		return i + ".value LIKE " + b.arg(likePrefix(v.Normalized)), nil
	case search.Token:
		return b.token(i+".system", i+".code", v, i), nil
	case search.Date:
		return b.dateRange(i+".lo", i+".hi", v), nil
	case search.Number:
		return b.number(i+".value", v), nil
	case search.Quantity:
		return and(b.number(i+".value", v.Number), b.unit(i+".system", i+".code", i+".unit", v)), nil
	case search.Reference:
		return b.reference(i, v), nil
	case search.URI:
		switch f.Modifier {
		case search.ModBelow:
			return i + ".value LIKE " + b.arg(likePrefix(v.Value)), nil
		case search.ModAbove:
			return b.arg(v.Value) + " LIKE replace(replace(" + i + ".value, '%', '\\%'), '_', '\\_') || '%'", nil
		}
		return i + ".value = " + b.arg(v.Value), nil
	case search.Composite:
		return b.composite(i, v)
	}
	return "", fhir.Invalid(fmt.Sprintf("%s: unsupported %s value", f.Name, v.Kind()), f.Name)
}

// token matches a code in a system as the value says (see search.Token).
func (b *sqlBuilder) token(system, code string, v search.Token, i string) string {
	var conds []string
	if v.TypeSystem != "" || v.TypeCode != "" {
		conds = append(conds, i+".type_system = "+b.arg(v.TypeSystem), i+".type_code = "+b.arg(v.TypeCode))
	}
	if v.Code != "" {
		conds = append(conds, code+" = "+b.arg(v.Code))
	}
	if v.HasSystem {
		if v.System == "" {
			conds = append(conds, system+" IS NULL")
		} else {
			conds = append(conds, system+" = "+b.arg(v.System))
		}
	}
	return and(conds...)
}

// dateRange compares a stored range [lo, hi) with the value's range as R4's
// prefixes define.
func (b *sqlBuilder) dateRange(lo, hi string, v search.Date) string {
	// Bind only the bounds a prefix uses: PostgreSQL cannot type an unused parameter.
	slo := func() string { return b.arg(v.Lo) + "::timestamptz" }
	shi := func() string { return b.arg(v.Hi) + "::timestamptz" }
	within := func() string { return and(lo+" >= "+slo(), hi+" <= "+shi()) }
	switch v.Prefix {
	case search.Ne:
		return "NOT " + within()
	case search.Gt:
		return hi + " > " + shi()
	case search.Lt:
		return lo + " < " + slo()
	case search.Ge:
		return or(hi+" > "+shi(), within())
	case search.Le:
		return or(lo+" < "+slo(), within())
	case search.Sa:
		return lo + " >= " + shi()
	case search.Eb:
		return hi + " <= " + slo()
	case search.Ap:
		return and(lo+" < "+shi(), hi+" > "+slo())
	}
	return within()
}

// number compares a stored decimal with the value as R4's prefixes define.
func (b *sqlBuilder) number(col string, v search.Number) string {
	switch v.Prefix {
	case search.Ne:
		return "NOT " + and(col+" >= "+b.arg(v.Lo)+"::numeric", col+" < "+b.arg(v.Hi)+"::numeric")
	case search.Gt:
		return col + " > " + b.arg(v.Value) + "::numeric"
	case search.Lt:
		return col + " < " + b.arg(v.Value) + "::numeric"
	case search.Ge:
		return col + " >= " + b.arg(v.Value) + "::numeric"
	case search.Le:
		return col + " <= " + b.arg(v.Value) + "::numeric"
	case search.Sa:
		return col + " >= " + b.arg(v.Hi) + "::numeric"
	case search.Eb:
		return col + " < " + b.arg(v.Lo) + "::numeric"
	}
	return and(col+" >= "+b.arg(v.Lo)+"::numeric", col+" < "+b.arg(v.Hi)+"::numeric")
}

// unit matches a quantity's system and code; without a system the code may
// match the unit code or the human unit.
func (b *sqlBuilder) unit(system, code, unit string, v search.Quantity) string {
	switch {
	case v.System != "":
		return and(system+" = "+b.arg(v.System), code+" = "+b.arg(v.Code))
	case v.Code != "":
		c := b.arg(v.Code)
		return or(code+" = "+c, unit+" = "+c)
	}
	return ""
}

// reference matches a literal reference by type and id, or an absolute or
// canonical one by URL.
func (b *sqlBuilder) reference(i string, v search.Reference) string {
	var alts []string
	if v.ID != "" {
		c := i + ".target_id = " + b.arg(v.ID)
		if v.Type != "" {
			c = and(c, i+".target_type = "+b.arg(v.Type))
		}
		alts = append(alts, c)
	}
	if v.URL != "" {
		if v.Version != "" {
			alts = append(alts, i+".url = "+b.arg(v.URL+"|"+v.Version))
		} else {
			alts = append(alts, i+".url = "+b.arg(v.URL), i+".url LIKE "+b.arg(likePrefix(v.URL+"|")))
		}
	}
	return or(alts...)
}

// composite matches every component on the same index row.
func (b *sqlBuilder) composite(i string, v search.Composite) (string, error) {
	var conds []string
	for n, c := range v.Components {
		switch c := c.(type) {
		case search.Token:
			if n == 0 {
				conds = append(conds, b.token(i+".c1_system", i+".c1_code", c, i))
			} else {
				conds = append(conds, b.token(i+".c2_system", i+".c2_code", c, i))
			}
		case search.Reference:
			conds = append(conds, i+".c1_code = "+b.arg(c.Type+"/"+c.ID))
		case search.Quantity:
			conds = append(conds, b.number(i+".c2_number", c.Number), b.unit(i+".c2_system", i+".c2_code", i+".c2_code", c))
		case search.Number:
			col := i + ".c2_number"
			if n == 2 {
				col = i + ".c3_number"
			}
			conds = append(conds, b.number(col, c))
		case search.Date:
			conds = append(conds, b.dateRange(i+".c2_lo", i+".c2_hi", c))
		case search.String:
			conds = append(conds, i+".c2_string LIKE "+b.arg(likePrefix(c.Normalized)))
		default:
			return "", fhir.Invalid("unsupported composite component " + c.Kind())
		}
	}
	return and(conds...), nil
}

// idFilter matches _id against the resource row itself.
func (b *sqlBuilder) idFilter(r string, f search.Filter) string {
	var ids []string
	for _, v := range f.Values {
		if t, ok := v.(search.Token); ok {
			ids = append(ids, t.Code)
		}
	}
	c := r + ".id = ANY(" + b.arg(ids) + ")"
	if f.Modifier == search.ModNot {
		return "NOT " + c
	}
	return c
}

// lastUpdatedFilter compares the resource row's last_updated, an instant,
// as the range of one microsecond.
func (b *sqlBuilder) lastUpdatedFilter(r string, f search.Filter) string {
	var alts []string
	for _, v := range f.Values {
		if d, ok := v.(search.Date); ok {
			alts = append(alts, b.dateRange(r+".last_updated", r+".last_updated + interval '1 microsecond'", d))
		}
	}
	return or(alts...)
}

// chain compiles a chained (subject:Patient.name) or reverse chained (_has)
// filter on alias r of type typ.
func (b *sqlBuilder) chain(r, typ string, f search.Filter) (string, error) {
	if !f.Chain[0].Reverse {
		x, err := b.forwardChain(typ, f)
		if err != nil {
			return "", err
		}
		return x.exists(r), nil
	}
	return b.reverseChain(r, f)
}

// forwardChain compiles a chained filter as the reference rows of typ whose
// targets match the rest of the chain, in the tables of their class.
func (b *sqlBuilder) forwardChain(typ string, f search.Filter) (indexRows, error) {
	hop := f.Chain[0]
	rest := f
	rest.Chain = f.Chain[1:]
	h := b.alias("h")
	code := b.arg(hop.Param.Code)
	var alts []string
	byClass := splitTypes(hop.Types)
	for _, set := range tableSets {
		types := byClass[set]
		if len(types) == 0 {
			continue
		}
		t := b.alias("t")
		inner, err := b.filter(t, types[0], rest)
		if err != nil {
			return indexRows{}, err
		}
		// Follow the reference to t; t may live on another route.
		alts = append(alts, `(`+h+`.target_type, `+h+`.target_id) IN (SELECT `+t+`.type, `+t+`.id FROM `+set.resources+` `+t+
			` WHERE `+b.in(t+`.type`, types)+` AND NOT `+t+`.deleted AND `+inner+`)`)
	}
	return indexRows{table: tablesFor(typ).idx["reference"], alias: h,
		cond: h + `.param = ` + code + ` AND ` + b.in(h+`.target_type`, hop.Types) + ` AND ` + or(alts...)}, nil
}

// reverseChain compiles a _has filter on alias r: resources of the hop's
// types whose reference parameter points at r and that match the rest.
func (b *sqlBuilder) reverseChain(r string, f search.Filter) (string, error) {
	hop := f.Chain[0]
	rest := f
	rest.Chain = f.Chain[1:]
	code := b.arg(hop.Param.Code)
	var alts []string
	byClass := splitTypes(hop.Types)
	for _, set := range tableSets {
		types := byClass[set]
		if len(types) == 0 {
			continue
		}
		t, hr := b.alias("t"), b.alias("h")
		// Only live resources have index rows, so the reference row stands
		// for its resource unless the rest of the chain needs the row.
		joined := needsRow(rest)
		on := hr
		if joined {
			on = t
		}
		if b.walk[&f.Chain[0]] && !joined {
			x, ok, err := b.positive(types[0], rest)
			if err != nil {
				return "", err
			}
			if ok {
				alts = append(alts, b.walkReverse(r, set.idx["reference"], types, code, x))
				continue
			}
		}
		inner, err := b.filter(on, types[0], rest)
		if err != nil {
			return "", err
		}
		from, live := set.idx["reference"]+` `+hr, ""
		if joined {
			from += ` JOIN ` + set.resources + ` ` + t + ` ON ` + sameResource(hr, t)
			live = ` AND NOT ` + t + `.deleted`
		}
		alts = append(alts, `(`+r+`.type, `+r+`.id) IN (SELECT `+hr+`.target_type, `+hr+`.target_id FROM `+from+
			` WHERE `+b.in(hr+`.type`, types)+` AND `+hr+`.param = `+code+live+` AND `+inner+`)`)
	}
	return or(alts...), nil
}

// needsRow reports whether f reads the resource row itself (its
// lastUpdated), not only index rows, which carry (route, type, id).
func needsRow(f search.Filter) bool {
	return len(f.Chain) == 0 && f.Param != nil && f.Param.Code == "_lastUpdated"
}

// likePrefix escapes LIKE wildcards in s and appends %.
func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}
