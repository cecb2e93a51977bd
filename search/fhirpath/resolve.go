package fhirpath

import "strings"

// resolveReference returns the resource a Reference (or a bare reference
// string such as a canonical) points to, as far as search indexing can know
// it without fetching anything:
//
//   - "#id" is looked up in the contained resources of %resource ("#" alone
//     is %resource itself);
//   - "Type/id", "Type/id/_history/v" and absolute URLs ending so yield a
//     stub {"resourceType": Type, "id": id}, enough for resolve() is Type;
//   - urn:uuid:/urn:oid: references, conditional references (Type?query)
//     and references with only an identifier resolve to nothing.
func resolveReference(env *env, n Node) (Node, bool) {
	var ref string
	switch v := n.Value.(type) {
	case map[string]any:
		ref, _ = v["reference"].(string)
	case string:
		ref = v
	}
	if ref == "" {
		return Node{}, false
	}
	if id, ok := strings.CutPrefix(ref, "#"); ok {
		return resolveContained(env, id)
	}
	if strings.HasPrefix(ref, "urn:") || strings.Contains(ref, "?") {
		return Node{}, false
	}
	// A canonical may carry a version (url|1.0) and any URL a fragment.
	ref, _, _ = strings.Cut(ref, "|")
	ref, _, _ = strings.Cut(ref, "#")
	parts := strings.Split(ref, "/")
	if len(parts) >= 4 && parts[len(parts)-2] == "_history" {
		parts = parts[:len(parts)-2]
	}
	if len(parts) < 2 {
		return Node{}, false
	}
	typ, id := parts[len(parts)-2], parts[len(parts)-1]
	if !isTypeName(typ) || !idRe.MatchString(id) {
		return Node{}, false
	}
	return Node{Value: map[string]any{"resourceType": typ, "id": id}, Type: typ}, true
}

func resolveContained(env *env, id string) (Node, bool) {
	res, _ := env.resource.Value.(map[string]any)
	if res == nil {
		return Node{}, false
	}
	if id == "" {
		return env.resource, true
	}
	contained, _ := res["contained"].([]any)
	for _, c := range contained {
		if m, ok := c.(map[string]any); ok && m["id"] == id {
			return Node{Value: m, Type: resourceTypeOf(m)}, true
		}
	}
	return Node{}, false
}

// isTypeName reports whether s is shaped like a resource type name: an
// upper-case letter followed by letters.
func isTypeName(s string) bool {
	if s == "" || !isUpper(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z') && !isUpper(c) {
			return false
		}
	}
	return true
}
