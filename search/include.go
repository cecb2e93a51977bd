package search

import (
	"strings"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
)

// include reads _include or _revinclude (rev) values:
//
//	Type:param[:target]  a reference parameter of Type, optionally one target type
//	Type:*               every reference parameter of Type
//	*                    every reference parameter
//
// Without :iterate an _include must start from the searched type, and an
// _revinclude must be able to point at it, or it could never add anything.
func (p *parser) include(key, mod string, hasMod bool, vals []string, rev bool) {
	iterate := false
	if hasMod {
		if mod != "iterate" && mod != "recurse" {
			p.report(key, invalidf("unknown modifier :%s; only :iterate is allowed", mod))
			return
		}
		iterate = true
	}
	for _, v := range vals {
		if v == "" {
			continue
		}
		inc, err := p.includeValue(v, rev, iterate)
		if err != nil {
			p.report(key, err)
			continue
		}
		list := &p.q.Includes
		if rev {
			list = &p.q.RevIncludes
		}
		if !containsInclude(*list, inc) {
			*list = append(*list, inc)
			p.countIncludes(key)
		}
	}
}

func (p *parser) includeValue(v string, rev, iterate bool) (Include, error) {
	inc := Include{Iterate: iterate}
	if v == "*" {
		return inc, nil
	}
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return inc, invalidf("%q must be Type:parameter, Type:parameter:targetType, Type:* or *", v)
	}
	inc.Source = parts[0]
	if !fhir.IsResourceType(inc.Source) {
		return inc, invalidf("%q: %q is not a resource type", v, inc.Source)
	}
	if !rev && !iterate && inc.Source != p.q.Type {
		return inc, invalidf("%q: a search of %s can only _include from %s; use _include:iterate to follow included resources", v, p.q.Type, p.q.Type)
	}
	if parts[1] == "*" {
		if len(parts) == 3 {
			return inc, invalidf("%q: a wildcard takes no target type", v)
		}
		return inc, nil
	}
	sp, ok := spec.Param(inc.Source, parts[1])
	if !ok {
		return inc, invalidf("%q: %s has no search parameter %q", v, inc.Source, parts[1])
	}
	if sp.Type != "reference" {
		return inc, invalidf("%q: %s is a %s parameter, not a reference", v, sp.Code, sp.Type)
	}
	inc.Param = sp
	if len(parts) == 3 {
		inc.Target = parts[2]
		if !fhir.IsResourceType(inc.Target) || !allowsTarget(sp.Target, inc.Target) {
			return inc, invalidf("%q: %s.%s cannot refer to %q", v, inc.Source, sp.Code, inc.Target)
		}
	}
	if rev && !iterate {
		if !allowsTarget(sp.Target, p.q.Type) || inc.Target != "" && inc.Target != p.q.Type {
			return inc, invalidf("%q: %s.%s cannot refer to the searched %s", v, inc.Source, sp.Code, p.q.Type)
		}
	}
	return inc, nil
}

func containsInclude(list []Include, inc Include) bool {
	for _, x := range list {
		if x == inc {
			return true
		}
	}
	return false
}
