package fhirpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// maxDepth bounds the nesting of parentheses and function arguments, so a
// hostile expression cannot exhaust the stack.
const maxDepth = 64

// Expr is a compiled FHIRPath expression. It is immutable and safe for
// concurrent use.
type Expr struct {
	src  string
	root node
}

// String returns the expression as given to Compile.
func (e *Expr) String() string { return e.src }

// Compile parses a FHIRPath expression. It returns a *SyntaxError for
// malformed input and for anything outside the supported subset (then
// wrapping ErrUnsupported).
func Compile(expr string) (*Expr, error) {
	root, err := parse(expr)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			se.Expr = expr
		}
		return nil, err
	}
	return &Expr{src: expr, root: root}, nil
}

func parse(src string) (node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.expression()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, syntaxErr(t.pos, "unexpected "+t.String())
	}
	return n, nil
}

// parser is a recursive-descent parser with one function per FHIRPath
// precedence level, loosest first.
type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// is reports whether the next token has the given kind and text.
func (p *parser) is(kind tokenKind, text string) bool {
	t := p.peek()
	return t.kind == kind && t.text == text
}

// isKeyword reports whether t is one of the keywords or operator symbols in
// list; a `delimited` identifier never is.
func isKeyword(t token, list ...string) bool {
	return (t.kind == tokOperator || (t.kind == tokIdent && !t.quoted)) && contains(list, t.text)
}

func (p *parser) expect(kind tokenKind, text string) error {
	if t := p.next(); t.kind != kind || t.text != text {
		return syntaxErr(t.pos, fmt.Sprintf("expected '%s', found %s", text, t))
	}
	return nil
}

func (p *parser) expression() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, syntaxErr(p.peek().pos, "expression nested too deeply")
	}
	return p.implies()
}

// binaryLevel parses operand (op operand)* for the operators in ops, which are
// keywords (tokIdent) or symbols (tokOperator).
func (p *parser) binaryLevel(operand func() (node, error), ops ...string) (node, error) {
	left, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if !isKeyword(t, ops...) {
			return left, nil
		}
		p.next()
		right, err := operand()
		if err != nil {
			return nil, err
		}
		left = &binaryNode{op: t.text, left: left, right: right}
	}
}

func (p *parser) implies() (node, error) { return p.binaryLevel(p.or, "implies") }
func (p *parser) or() (node, error)      { return p.binaryLevel(p.and, "or", "xor") }
func (p *parser) and() (node, error)     { return p.binaryLevel(p.membership, "and") }

func (p *parser) membership() (node, error) {
	return p.rejectLevel(p.equality, "in", "contains")
}

func (p *parser) equality() (node, error) {
	left, err := p.binaryLevel(p.inequality, "=", "!=")
	if err != nil {
		return nil, err
	}
	if t := p.peek(); isKeyword(t, "~", "!~") {
		return nil, unsupportedErr(t.pos, "operator "+t.text)
	}
	return left, nil
}

func (p *parser) inequality() (node, error) {
	return p.rejectLevel(p.union, "<", ">", "<=", ">=")
}

func (p *parser) union() (node, error) { return p.binaryLevel(p.typeExpr, "|") }

func (p *parser) typeExpr() (node, error) {
	left, err := p.additive()
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "is", "as") {
		op := p.next().text
		typ, err := p.typeSpecifier()
		if err != nil {
			return nil, err
		}
		left = &typeNode{op: op, left: left, typ: typ}
	}
	return left, nil
}

func (p *parser) additive() (node, error) {
	return p.rejectLevel(p.multiplicative, "+", "-", "&")
}

func (p *parser) multiplicative() (node, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); isKeyword(t, "*", "/", "div", "mod") {
		return nil, unsupportedErr(t.pos, "operator "+t.text)
	}
	return left, nil
}

// rejectLevel parses operand and fails if one of the given operators, which
// this package does not evaluate, follows it.
func (p *parser) rejectLevel(operand func() (node, error), ops ...string) (node, error) {
	left, err := operand()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); isKeyword(t, ops...) {
		return nil, unsupportedErr(t.pos, "operator "+t.text)
	}
	return left, nil
}

func (p *parser) unary() (node, error) {
	if t := p.peek(); isKeyword(t, "+", "-") {
		return nil, unsupportedErr(t.pos, "unary "+t.text)
	}
	return p.postfix()
}

// postfix parses a term followed by .invocations and [indexers].
func (p *parser) postfix() (node, error) {
	n, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.is(tokPunct, "."):
			p.next()
			t := p.next()
			if t.kind != tokIdent {
				return nil, syntaxErr(t.pos, "expected a name after '.', found "+t.String())
			}
			n, err = p.invocation(n, t)
			if err != nil {
				return nil, err
			}
		case p.is(tokPunct, "["):
			p.next()
			idx, err := p.expression()
			if err != nil {
				return nil, err
			}
			if err := p.expect(tokPunct, "]"); err != nil {
				return nil, err
			}
			n = &indexNode{target: n, index: idx}
		default:
			return n, nil
		}
	}
}

func (p *parser) term() (node, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return &literalNode{value: []Node{{Value: t.text}}}, nil
	case tokNumber:
		if p.peek().kind == tokString || (p.peek().kind == tokIdent && isCalendarUnit(p.peek().text)) {
			return nil, unsupportedErr(t.pos, "quantity literal")
		}
		return &literalNode{value: []Node{{Value: json.Number(t.text)}}}, nil
	case tokDateTime:
		return nil, unsupportedErr(t.pos, "date/time literal "+t.text)
	case tokVariable:
		if t.text != "this" {
			return nil, unsupportedErr(t.pos, "$"+t.text)
		}
		return &thisNode{}, nil
	case tokExternal:
		if _, ok := externals[t.text]; !ok {
			return nil, unsupportedErr(t.pos, "%"+t.text)
		}
		return &externalNode{name: t.text}, nil
	case tokPunct:
		switch t.text {
		case "(":
			n, err := p.expression()
			if err != nil {
				return nil, err
			}
			if err := p.expect(tokPunct, ")"); err != nil {
				return nil, err
			}
			return n, nil
		case "{":
			if err := p.expect(tokPunct, "}"); err != nil {
				return nil, err
			}
			return &literalNode{}, nil
		}
	case tokIdent:
		switch {
		case isKeyword(t, "true", "false"):
			return &literalNode{value: []Node{{Value: t.text == "true"}}}, nil
		case isKeyword(t, "and", "or", "xor", "implies", "div", "mod"):
			return nil, syntaxErr(t.pos, "unexpected "+t.String())
		}
		return p.invocation(nil, t)
	}
	return nil, syntaxErr(t.pos, "unexpected "+t.String())
}

// invocation parses a member name or a function call, name having been read.
func (p *parser) invocation(target node, name token) (node, error) {
	if !p.is(tokPunct, "(") {
		return &memberNode{target: target, name: name.text}, nil
	}
	p.next()
	fn, ok := functions[name.text]
	if !ok {
		return nil, unsupportedErr(name.pos, "function "+name.text+"()")
	}
	call := &callNode{target: target, fn: fn}
	if fn.typeArg {
		typ, err := p.typeSpecifier()
		if err != nil {
			return nil, err
		}
		call.typeArg = typ
		return call, p.expect(tokPunct, ")")
	}
	if !p.is(tokPunct, ")") {
		for {
			arg, err := p.expression()
			if err != nil {
				return nil, err
			}
			call.args = append(call.args, arg)
			if !p.is(tokPunct, ",") {
				break
			}
			p.next()
		}
	}
	if err := p.expect(tokPunct, ")"); err != nil {
		return nil, err
	}
	if len(call.args) < fn.minArgs || len(call.args) > fn.maxArgs {
		return nil, syntaxErr(name.pos, fmt.Sprintf("%s() takes %s, got %d", fn.name, arity(fn), len(call.args)))
	}
	return call, nil
}

// typeSpecifier parses a possibly qualified type name: Quantity, FHIR.Patient.
func (p *parser) typeSpecifier() (string, error) {
	var parts []string
	for {
		t := p.next()
		if t.kind != tokIdent {
			return "", syntaxErr(t.pos, "expected a type name, found "+t.String())
		}
		parts = append(parts, t.text)
		if !p.is(tokPunct, ".") || len(parts) == 2 {
			return strings.Join(parts, "."), nil
		}
		p.next()
	}
}

func arity(fn *function) string {
	switch {
	case fn.typeArg:
		return "a type name"
	case fn.minArgs == fn.maxArgs && fn.minArgs == 0:
		return "no arguments"
	case fn.minArgs == fn.maxArgs:
		return fmt.Sprintf("%d argument(s)", fn.minArgs)
	default:
		return fmt.Sprintf("%d to %d arguments", fn.minArgs, fn.maxArgs)
	}
}

// isCalendarUnit reports whether s is a calendar duration keyword, which
// after a number makes a quantity literal (4 days).
func isCalendarUnit(s string) bool {
	switch strings.TrimSuffix(s, "s") {
	case "year", "month", "week", "day", "hour", "minute", "second", "millisecond":
		return true
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
