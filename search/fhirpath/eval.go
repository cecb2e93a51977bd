package fhirpath

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Node is one item of the output collection.
type Node struct {
	// Value is map[string]any for complex elements and resources, and
	// string, bool or json.Number for primitives, exactly as decoded.
	Value any
	// Type is the FHIR type when known: from a choice suffix (valueQuantity
	// gives "Quantity", valueDateTime gives "dateTime"), from as() or
	// ofType(), the resourceType of a resource, "Extension" for extensions;
	// "" when unknown.
	Type string
}

// env is what stays fixed during one evaluation.
type env struct {
	resource Node   // %resource, %rootResource, and the target of #id references
	context  []Node // %context: where evaluation started
}

// externals are the %names an expression may use. A nil entry stands for a
// node that depends on the evaluation (%resource and friends).
var externals = map[string][]Node{
	"resource":     nil,
	"rootResource": nil,
	"context":      nil,
	"ucum":         {{Value: "http://unitsofmeasure.org"}},
	"sct":          {{Value: "http://snomed.info/sct"}},
	"loinc":        {{Value: "http://loinc.org"}},
}

// Eval evaluates e against a resource (a root JSON object with
// "resourceType"). The result is never nil; an empty collection means the
// expression selects nothing in this resource. An error means the resource
// made the expression ill-defined, such as where() criteria yielding several
// values.
func (e *Expr) Eval(resource map[string]any) ([]Node, error) {
	root := resourceNode(resource)
	return e.run(&env{resource: root, context: []Node{root}}, []Node{root})
}

// EvalAt evaluates e with focus as $this and resource as %resource: the way
// a composite search parameter evaluates its component expressions (code,
// value.ofType(Quantity)) on each element its own expression selected.
func (e *Expr) EvalAt(resource map[string]any, focus Node) ([]Node, error) {
	return e.run(&env{resource: resourceNode(resource), context: []Node{focus}}, []Node{focus})
}

func (e *Expr) run(env *env, focus []Node) ([]Node, error) {
	out, err := e.root.eval(env, focus)
	if err != nil {
		return nil, fmt.Errorf("fhirpath: %s: %w", e.src, err)
	}
	// Copy, so that callers cannot alter the literals of a shared Expr
	// through the slice they receive.
	return append([]Node{}, out...), nil
}

// resourceNode wraps a resource; a nil map gives an empty node that no path
// matches.
func resourceNode(resource map[string]any) Node {
	if resource == nil {
		return Node{}
	}
	return Node{Value: resource, Type: resourceTypeOf(resource)}
}

func (n *literalNode) eval(*env, []Node) ([]Node, error) { return n.value, nil }

func (n *thisNode) eval(_ *env, focus []Node) ([]Node, error) { return focus, nil }

func (n *externalNode) eval(env *env, _ []Node) ([]Node, error) {
	switch n.name {
	case "resource", "rootResource":
		if env.resource.Value == nil {
			return nil, nil
		}
		return []Node{env.resource}, nil
	case "context":
		return env.context, nil
	}
	return externals[n.name], nil
}

func (n *memberNode) eval(env *env, focus []Node) ([]Node, error) {
	input := focus
	if n.target != nil {
		var err error
		if input, err = n.target.eval(env, focus); err != nil {
			return nil, err
		}
	} else if n.name != "" && isUpper(n.name[0]) {
		// A leading type name filters rather than navigates: element names
		// in FHIR always start with a lower-case letter.
		return filterType(input, n.name, false), nil
	}
	var out []Node
	for _, in := range input {
		out = child(out, in, n.name)
	}
	return out, nil
}

func (n *indexNode) eval(env *env, focus []Node) ([]Node, error) {
	input, err := n.target.eval(env, focus)
	if err != nil {
		return nil, err
	}
	idx, err := n.index.eval(env, focus)
	if err != nil {
		return nil, err
	}
	if len(idx) != 1 {
		return nil, nil
	}
	num, ok := idx[0].Value.(json.Number)
	if !ok {
		return nil, fmt.Errorf("indexer is not an integer")
	}
	i, err := strconv.Atoi(string(num))
	if err != nil {
		return nil, fmt.Errorf("indexer %s is not an integer", num)
	}
	if i < 0 || i >= len(input) {
		return nil, nil
	}
	return input[i : i+1], nil
}

func (n *typeNode) eval(env *env, focus []Node) ([]Node, error) {
	input, err := n.left.eval(env, focus)
	if err != nil {
		return nil, err
	}
	if n.op == "as" {
		return filterType(input, n.typ, true), nil
	}
	return isOne(input, n.typ)
}

func (n *binaryNode) eval(env *env, focus []Node) ([]Node, error) {
	left, err := n.left.eval(env, focus)
	if err != nil {
		return nil, err
	}
	right, err := n.right.eval(env, focus)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "|":
		return union(left, right), nil
	case "=", "!=":
		if len(left) == 0 || len(right) == 0 {
			return nil, nil
		}
		eq := len(left) == len(right)
		for i := 0; eq && i < len(left); i++ {
			eq = equal(left[i].Value, right[i].Value)
		}
		return boolean(eq == (n.op == "=")), nil
	}
	l, lok, err := singletonBool(left)
	if err != nil {
		return nil, fmt.Errorf("left of %s: %w", n.op, err)
	}
	r, rok, err := singletonBool(right)
	if err != nil {
		return nil, fmt.Errorf("right of %s: %w", n.op, err)
	}
	// Three-valued logic: an empty operand is "unknown".
	switch n.op {
	case "and":
		if (lok && !l) || (rok && !r) {
			return boolean(false), nil
		}
		if lok && rok {
			return boolean(true), nil
		}
	case "or":
		if (lok && l) || (rok && r) {
			return boolean(true), nil
		}
		if lok && rok {
			return boolean(false), nil
		}
	case "xor":
		if lok && rok {
			return boolean(l != r), nil
		}
	case "implies":
		switch {
		case lok && !l, rok && r:
			return boolean(true), nil
		case lok && rok:
			return boolean(false), nil
		}
	}
	return nil, nil
}

// singletonBool applies FHIRPath's singleton evaluation where a Boolean is
// expected: empty is unknown (ok false), one boolean is itself, any other
// single item is true, and more than one item is an error.
func singletonBool(c []Node) (value, ok bool, err error) {
	switch len(c) {
	case 0:
		return false, false, nil
	case 1:
		if b, isBool := c[0].Value.(bool); isBool {
			return b, true, nil
		}
		return true, true, nil
	}
	return false, false, fmt.Errorf("expected a single boolean, got %d items", len(c))
}

func boolean(b bool) []Node {
	return []Node{{Value: b}}
}
