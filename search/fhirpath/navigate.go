package fhirpath

import (
	"sort"
	"strings"
)

// child appends to out the elements called name under n: the values of the
// key name, flattened if it holds an array, or else the value of a choice
// element stored under name + type suffix (valueQuantity), typed by that
// suffix.
func child(out []Node, n Node, name string) []Node {
	m, ok := n.Value.(map[string]any)
	if !ok {
		return out
	}
	if v, ok := m[name]; ok {
		typ := ""
		if name == "extension" || name == "modifierExtension" {
			typ = "Extension"
		}
		return appendValue(out, v, typ)
	}
	// Choice elements. A resource holds at most one value for a choice, but
	// a malformed one could hold several: take them in key order so the
	// result does not depend on map iteration.
	var keys []string
	for k := range m {
		if len(k) > len(name) && strings.HasPrefix(k, name) && isUpper(k[len(name)]) {
			if _, ok := choiceType(k[len(name):]); ok {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		typ, _ := choiceType(k[len(name):])
		out = appendValue(out, m[k], typ)
	}
	return out
}

// appendValue appends a decoded JSON value, one node per array item. JSON
// null, which stands in arrays for primitives that only carry extensions, is
// skipped.
func appendValue(out []Node, v any, typ string) []Node {
	switch v := v.(type) {
	case nil:
		return out
	case []any:
		for _, item := range v {
			out = appendValue(out, item, typ)
		}
		return out
	case map[string]any:
		if rt := resourceTypeOf(v); rt != "" && typ == "" {
			typ = rt // contained resources, Bundle.entry.resource
		}
	}
	return append(out, Node{Value: v, Type: typ})
}

// resourceTypeOf returns m's resourceType, or "" if m is not a resource.
func resourceTypeOf(m map[string]any) string {
	rt, _ := m["resourceType"].(string)
	return rt
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
