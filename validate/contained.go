package validate

import (
	"strconv"
	"strings"
)

// containedResources checks the contained resources of a DomainResource
// (references.html#contained): each has an id, unique in the resource, so
// that it can be referenced; none has contained resources of its own
// (dom-2), is left unreferenced (dom-3), or has meta.versionId,
// meta.lastUpdated (dom-4) or meta.security (dom-5). The ids are recorded so
// that #id references can be resolved when the resource is done.
func (w *walker) containedResources(doc map[string]any, path string) {
	list, ok := doc["contained"].([]any)
	if !ok {
		return
	}
	w.res.contained = make(map[string]bool, len(list))
	refs := localReferences(doc)
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			continue // the models' check reports it
		}
		p := path + ".contained[" + strconv.Itoa(i) + "]"
		id, _ := m["id"].(string)
		switch {
		case id == "":
			w.add(p, "required", "a contained resource must have an id")
		case w.res.contained[id]:
			w.add(p+".id", "duplicate", "two contained resources have the id %q", id)
		}
		w.res.contained[id] = true
		if _, nested := m["contained"]; nested {
			w.add(p+".contained", "structure", "a contained resource must not contain resources (dom-2)")
		}
		if meta, ok := m["meta"].(map[string]any); ok {
			if _, ok := meta["versionId"]; ok {
				w.add(p+".meta.versionId", "structure", "a contained resource must not have meta.versionId (dom-4)")
			}
			if _, ok := meta["lastUpdated"]; ok {
				w.add(p+".meta.lastUpdated", "structure", "a contained resource must not have meta.lastUpdated (dom-4)")
			}
			if _, ok := meta["security"]; ok {
				w.add(p+".meta.security", "structure", "a contained resource must not have meta.security (dom-5)")
			}
		}
		if id != "" && !refs["#"+id] && !refersToContainer(m) {
			w.add(p, "structure", "the contained resource %q is not referenced from the resource (dom-3)", id)
		}
		w.resource(m, p, true)
	}
}

// localReferences collects every string in doc that starts with # (the
// references, canonicals and uris of dom-3).
func localReferences(doc map[string]any) map[string]bool {
	refs := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			if strings.HasPrefix(v, "#") {
				refs[v] = true
			}
		}
	}
	for k, v := range doc {
		if k != "contained" {
			walk(v)
		}
	}
	// References between contained resources count too.
	if list, ok := doc["contained"].([]any); ok {
		for _, c := range list {
			walk(c)
		}
	}
	return refs
}

// refersToContainer reports whether a contained resource refers to the
// resource that contains it (a reference "#").
func refersToContainer(m map[string]any) bool {
	found := false
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["reference"].(string); ok && r == "#" {
				found = true
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(m)
	return found
}
