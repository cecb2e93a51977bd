package fhirpath

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// function describes one supported FHIRPath function. apply receives the
// evaluated input collection; it evaluates the call's arguments itself,
// because where() and exists() evaluate theirs once per input item.
type function struct {
	name             string
	minArgs, maxArgs int
	typeArg          bool // the single argument is a type name, kept in callNode.typeArg
	apply            func(env *env, call *callNode, focus, input []Node) ([]Node, error)
}

// functions is the supported set; Compile rejects every other name.
var functions = func() map[string]*function {
	m := map[string]*function{}
	for _, f := range []*function{
		{name: "where", minArgs: 1, maxArgs: 1, apply: fnWhere},
		{name: "exists", minArgs: 0, maxArgs: 1, apply: fnExists},
		{name: "empty", apply: func(_ *env, _ *callNode, _, in []Node) ([]Node, error) { return boolean(len(in) == 0), nil }},
		{name: "count", apply: func(_ *env, _ *callNode, _, in []Node) ([]Node, error) {
			return []Node{{Value: json.Number(strconv.Itoa(len(in)))}}, nil
		}},
		{name: "first", apply: func(_ *env, _ *callNode, _, in []Node) ([]Node, error) { return limit(in, 0), nil }},
		{name: "last", apply: func(_ *env, _ *callNode, _, in []Node) ([]Node, error) { return limit(in, len(in)-1), nil }},
		{name: "not", apply: fnNot},
		{name: "hasValue", apply: fnHasValue},
		{name: "ofType", typeArg: true, apply: func(_ *env, c *callNode, _, in []Node) ([]Node, error) {
			return filterType(in, c.typeArg, true), nil
		}},
		{name: "as", typeArg: true, apply: func(_ *env, c *callNode, _, in []Node) ([]Node, error) {
			return filterType(in, c.typeArg, true), nil
		}},
		{name: "is", typeArg: true, apply: func(_ *env, c *callNode, _, in []Node) ([]Node, error) {
			return isOne(in, c.typeArg)
		}},
		{name: "resolve", apply: fnResolve},
		{name: "extension", minArgs: 1, maxArgs: 1, apply: fnExtension},
		{name: "intersect", minArgs: 1, maxArgs: 1, apply: fnIntersect},
	} {
		m[f.name] = f
	}
	return m
}()

func (n *callNode) eval(env *env, focus []Node) ([]Node, error) {
	input := focus
	if n.target != nil {
		var err error
		if input, err = n.target.eval(env, focus); err != nil {
			return nil, err
		}
	}
	return n.fn.apply(env, n, focus, input)
}

// limit returns the single item in[i], or nothing when i is out of range.
func limit(in []Node, i int) []Node {
	if i < 0 || i >= len(in) {
		return nil
	}
	return in[i : i+1]
}

// fnWhere keeps the items for which the criteria, evaluated with the item as
// $this, are true.
func fnWhere(env *env, call *callNode, _, in []Node) ([]Node, error) {
	var out []Node
	for i := range in {
		res, err := call.args[0].eval(env, in[i:i+1])
		if err != nil {
			return nil, err
		}
		b, ok, err := singletonBool(res)
		if err != nil {
			return nil, fmt.Errorf("where(): %w", err)
		}
		if ok && b {
			out = append(out, in[i])
		}
	}
	return out, nil
}

// fnExists is exists() and exists(criteria), the latter being
// where(criteria).exists().
func fnExists(env *env, call *callNode, focus, in []Node) ([]Node, error) {
	if len(call.args) == 1 {
		var err error
		if in, err = fnWhere(env, call, focus, in); err != nil {
			return nil, err
		}
	}
	return boolean(len(in) > 0), nil
}

func fnNot(_ *env, _ *callNode, _, in []Node) ([]Node, error) {
	b, ok, err := singletonBool(in)
	if err != nil {
		return nil, fmt.Errorf("not(): %w", err)
	}
	if !ok {
		return nil, nil
	}
	return boolean(!b), nil
}

// fnHasValue is true for a single primitive that has a value. Primitives
// that only carry extensions decode to null and never become nodes, so any
// single primitive node qualifies.
func fnHasValue(_ *env, _ *callNode, _, in []Node) ([]Node, error) {
	if len(in) != 1 {
		return boolean(false), nil
	}
	switch in[0].Value.(type) {
	case string, bool, json.Number, float64:
		return boolean(true), nil
	}
	return boolean(false), nil
}

// fnExtension is extension(url): the extensions of each item with that url.
// The url argument is evaluated against the focus like any argument.
func fnExtension(env *env, call *callNode, focus, in []Node) ([]Node, error) {
	arg, err := call.args[0].eval(env, focus)
	if err != nil {
		return nil, err
	}
	if len(arg) != 1 {
		return nil, nil
	}
	url, ok := arg[0].Value.(string)
	if !ok {
		return nil, fmt.Errorf("extension(): url is not a string")
	}
	var out []Node
	for _, n := range in {
		m, ok := n.Value.(map[string]any)
		if !ok {
			continue
		}
		exts, _ := m["extension"].([]any)
		for _, e := range exts {
			if em, ok := e.(map[string]any); ok && em["url"] == url {
				out = append(out, Node{Value: em, Type: "Extension"})
			}
		}
	}
	return out, nil
}

// fnResolve turns each reference into the resource it points to, as far as
// the reference string tells; see resolveReference.
func fnResolve(env *env, _ *callNode, _, in []Node) ([]Node, error) {
	var out []Node
	for _, n := range in {
		if r, ok := resolveReference(env, n); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// fnIntersect is intersect(other): the items of the input that equal an item
// of other, without duplicates. other is evaluated against the focus like
// any argument.
func fnIntersect(env *env, call *callNode, focus, in []Node) ([]Node, error) {
	other, err := call.args[0].eval(env, focus)
	if err != nil {
		return nil, err
	}
	var out []Node
next:
	for _, n := range in {
		for _, o := range out {
			if equal(o.Value, n.Value) {
				continue next
			}
		}
		for _, o := range other {
			if equal(o.Value, n.Value) {
				out = append(out, n)
				continue next
			}
		}
	}
	return out, nil
}
