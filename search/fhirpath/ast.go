package fhirpath

// node is one element of a compiled expression tree. eval receives the focus,
// the collection that a leading name or function applies to: the resource at
// the top level, the current item inside where() and exists(). Function
// arguments and indexers are evaluated with the same focus as the invocation
// they belong to, which is what $this means in FHIRPath.
type node interface {
	eval(env *env, focus []Node) ([]Node, error)
}

// literalNode is a constant: 'text', 12, 1.5, true, false or {}.
type literalNode struct {
	value []Node
}

// thisNode is $this: the focus itself.
type thisNode struct{}

// externalNode is an environment constant: %resource, %context,
// %rootResource, or a fixed string such as %ucum.
type externalNode struct {
	name string
}

// memberNode navigates to the child elements called name. With no target it
// applies to the focus, and a name starting with an upper-case letter is then
// a type name (Patient in Patient.name) that keeps the focus only if it is of
// that type.
type memberNode struct {
	target node // nil: the focus
	name   string
}

// indexNode is target[index].
type indexNode struct {
	target node
	index  node
}

// callNode is a function invocation, target.name(args) or name(args) on the
// focus. typeArg holds the type specifier of ofType, as and is.
type callNode struct {
	target  node // nil: the focus
	fn      *function
	args    []node
	typeArg string
}

// binaryNode is a boolean, equality or union operator.
type binaryNode struct {
	op          string
	left, right node
}

// typeNode is the operator form of a type test or cast: left is T, left as T.
type typeNode struct {
	op   string // "is" or "as"
	left node
	typ  string
}
