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
	tables := tablesFor(typ)
	table, ok := tables.idx[p.Type]
	if !ok || extract.Unindexed[p.Code] {
		return "", fhir.Errorf(fhir.ErrNotSupported, "not-supported", "searching by "+f.Name+" is not supported", f.Name)
	}
	code := p.Code
	if f.Modifier == search.ModIdentifier {
		table, code = tables.idx["token"], p.Code+":identifier"
	}
	i := b.alias("i")
	exists := func(cond string) string {
		return `EXISTS (SELECT 1 FROM ` + table + ` ` + i + ` WHERE ` + sameResource(i, r) +
			` AND ` + i + `.param = ` + b.arg(code) + ` AND ` + cond + `)`
	}
	if f.Modifier == search.ModMissing {
		if f.Missing {
			return "NOT " + exists("true"), nil
		}
		return exists("true"), nil
	}
	var alts []string
	for _, v := range f.Values {
		c, err := b.value(i, f, v)
		if err != nil {
			return "", err
		}
		alts = append(alts, c)
	}
	if f.Modifier == search.ModNot {
		return "NOT " + exists(or(alts...)), nil
	}
	return exists(or(alts...)), nil
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
// filter on alias r of type typ: the first hop here, the rest on the
// resources it reaches, in the tables of their class.
func (b *sqlBuilder) chain(r, typ string, f search.Filter) (string, error) {
	hop := f.Chain[0]
	rest := f
	rest.Chain = f.Chain[1:]
	h := b.alias("h")
	code := b.arg(hop.Param.Code)
	var alts []string
	for _, set := range tableSets {
		types := splitTypes(hop.Types)[set]
		if len(types) == 0 {
			continue
		}
		t, hr := b.alias("t"), b.alias("h")
		// Only live resources have index rows, so on a reverse hop the
		// reference row stands for its resource unless the rest of the
		// chain needs the resource's row.
		joined := !hop.Reverse || needsRow(rest)
		on := hr
		if joined {
			on = t
		}
		inner, err := b.filter(on, types[0], rest)
		if err != nil {
			return "", err
		}
		in := b.arg(types)
		if !hop.Reverse {
			// Follow r's reference to t; t may live on another route.
			alts = append(alts, `(`+h+`.target_type, `+h+`.target_id) IN (SELECT `+t+`.type, `+t+`.id FROM `+set.resources+` `+t+
				` WHERE `+t+`.type = ANY(`+in+`) AND NOT `+t+`.deleted AND `+inner+`)`)
			continue
		}
		// Resources of the hop's types whose reference parameter points at r.
		from, live := set.idx["reference"]+` `+hr, ""
		if joined {
			from += ` JOIN ` + set.resources + ` ` + t + ` ON ` + sameResource(hr, t)
			live = ` AND NOT ` + t + `.deleted`
		}
		alts = append(alts, `(`+r+`.type, `+r+`.id) IN (SELECT `+hr+`.target_type, `+hr+`.target_id FROM `+from+
			` WHERE `+hr+`.type = ANY(`+in+`) AND `+hr+`.param = `+code+live+` AND `+inner+`)`)
	}
	if hop.Reverse {
		return or(alts...), nil
	}
	return `EXISTS (SELECT 1 FROM ` + tablesFor(typ).idx["reference"] + ` ` + h + ` WHERE ` + sameResource(h, r) + ` AND ` + h + `.param = ` + code +
		` AND ` + h + `.target_type = ANY(` + b.arg(hop.Types) + `) AND ` + or(alts...) + `)`, nil
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
