package search

import (
	"slices"
	"strings"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
)

// resolved is a parameter name resolved against the definitions.
type resolved struct {
	hops []Hop
	// param is the final parameter and targets the union of its target
	// types over every candidate type (for reference values).
	param   *spec.SearchParam
	targets []string
	// modifier is the raw text after the final parameter's ':'.
	modifier string
}

// resolveName resolves a parameter name such as "name:exact",
// "subject:Patient.organization.name" or "_has:Observation:patient:code"
// on resource type typ. Each hop is a join in the store, and R4 lets a
// server limit the depth: lim.ChainDepth bounds the chained references and
// lim.HasDepth the _has.
func resolveName(typ, name string, lim Limits) (resolved, error) {
	var r resolved
	types := []string{typ}
	rest := name
	forward, has := 0, 0
	for {
		if over(forward, lim.ChainDepth) {
			return r, tooCostlyf("%q chains more than %d references; at most %d are allowed", name, lim.ChainDepth, lim.ChainDepth)
		}
		if over(has, lim.HasDepth) {
			return r, tooCostlyf("%q nests more than %d _has; at most %d are allowed", name, lim.HasDepth, lim.HasDepth)
		}
		if after, ok := strings.CutPrefix(rest, "_has:"); ok {
			has++
			hop, next, err := reverseHop(name, after, types)
			if err != nil {
				return r, err
			}
			if n := len(r.hops); n > 0 && !r.hops[n-1].Reverse && len(hop.Param.Target) > 0 {
				// An untyped chain followed by _has reaches only the types
				// the reverse reference can point at.
				r.hops[n-1].Types = intersect(r.hops[n-1].Types, hop.Param.Target)
			}
			r.hops = append(r.hops, hop)
			types, rest = hop.Types, next
			continue
		}
		seg, after, chained := strings.Cut(rest, ".")
		code, mod, _ := strings.Cut(seg, ":")
		var found []*spec.SearchParam
		var foundTypes []string
		for _, t := range types {
			if p, ok := spec.Param(t, code); ok {
				found = append(found, p)
				foundTypes = append(foundTypes, t)
			}
		}
		if len(found) == 0 {
			if len(r.hops) == 0 {
				return r, ignorablef("unknown search parameter %q for %s", code, typ)
			}
			return r, ignorablef("unknown search parameter %q for %s in %q", code, strings.Join(types, ", "), name)
		}
		if n := len(r.hops); n > 0 && !r.hops[n-1].Reverse {
			// An untyped chain reaches only the targets that have the next
			// parameter: subject.name means Patient, Group, Device … but
			// not the targets without a name.
			r.hops[n-1].Types = foundTypes
		}
		for _, p := range found[1:] {
			if p.Type != found[0].Type {
				return r, invalidf("%q is ambiguous: %s is a %s parameter on %s but a %s parameter on %s; name the target type with a modifier (reference:%s.%s)",
					name, code, found[0].Type, foundTypes[0], p.Type, foundTypes[len(foundTypes)-1], foundTypes[0], code)
			}
		}
		var targets []string
		for _, p := range found {
			targets = union(targets, p.Target)
		}
		if !chained {
			r.param, r.targets, r.modifier = found[0], targets, mod
			return r, nil
		}
		if found[0].Type != "reference" {
			return r, invalidf("%s is a %s parameter and cannot be chained in %q", code, found[0].Type, name)
		}
		if mod != "" {
			if !fhir.IsResourceType(mod) {
				return r, invalidf("in %q the modifier of the chained reference %s must be a resource type, not %q", name, code, mod)
			}
			if !allowsTarget(targets, mod) {
				return r, invalidf("in %q %s cannot refer to %s (targets: %s)", name, code, mod, strings.Join(targets, ", "))
			}
			targets = []string{mod}
		} else if len(targets) == 0 {
			return r, invalidf("in %q %s may refer to any type: name it, as in %s:Patient.%s", name, code, code, after)
		}
		if after == "" {
			return r, invalidf("%q ends with '.': a chained parameter must follow", name)
		}
		r.hops = append(r.hops, Hop{Param: found[0], Types: targets})
		types, rest = targets, after
		forward++
	}
}

// reverseHop reads "Type:param:rest" after "_has:".
func reverseHop(name, s string, types []string) (Hop, string, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 3 || parts[2] == "" {
		return Hop{}, "", invalidf("%q: _has must be written _has:Type:reference:parameter", name)
	}
	typ, code := parts[0], parts[1]
	if !fhir.IsResourceType(typ) {
		return Hop{}, "", invalidf("%q: %q is not a resource type", name, typ)
	}
	p, ok := spec.Param(typ, code)
	if !ok {
		return Hop{}, "", ignorablef("unknown search parameter %q for %s in %q", code, typ, name)
	}
	if p.Type != "reference" {
		return Hop{}, "", invalidf("%q: %s.%s is a %s parameter, _has needs a reference", name, typ, code, p.Type)
	}
	if len(p.Target) > 0 && len(intersect(types, p.Target)) == 0 {
		return Hop{}, "", invalidf("%q: %s.%s cannot refer to %s", name, typ, code, strings.Join(types, ", "))
	}
	return Hop{Reverse: true, Param: p, Types: []string{typ}}, parts[2], nil
}

// union adds the elements of b missing from a, keeping a sorted set.
func union(a, b []string) []string {
	for _, s := range b {
		if i, found := slices.BinarySearch(a, s); !found {
			a = slices.Insert(a, i, s)
		}
	}
	return a
}

// intersect returns the elements of a that are in b, in a's order.
func intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// Key returns the filter's parameter name in the canonical form Encode
// writes: chain hops typed where the type is not implied, the final
// modifier, and no resource type modifier (subject:Patient=1 becomes
// subject=Patient/1). Examples: subject:Patient.name:exact,
// _has:Observation:patient:code.
func (f *Filter) Key() string {
	var b strings.Builder
	for _, h := range f.Chain {
		if h.Reverse {
			b.WriteString("_has:" + h.Types[0] + ":" + h.Param.Code + ":")
			continue
		}
		b.WriteString(h.Param.Code)
		if len(h.Types) == 1 && len(h.Param.Target) != 1 {
			b.WriteString(":" + h.Types[0])
		}
		b.WriteByte('.')
	}
	b.WriteString(f.Param.Code)
	if f.Modifier != ModNone {
		b.WriteString(":" + string(f.Modifier))
	}
	return b.String()
}
