package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokenKind classifies a token produced by the lexer.
type tokenKind int

const (
	tokEOF      tokenKind = iota
	tokIdent              // name, `delimited name`; keywords such as and, is, true are identifiers too
	tokString             // 'text', with escapes already decoded
	tokNumber             // 12 or 1.5
	tokExternal           // %resource or %'name'
	tokVariable           // $this
	tokPunct              // . , ( ) [ ] { }
	tokOperator           // | = != ~ !~ < > <= >= + - * / &
	tokDateTime           // @2020-01-01; recognised only to be rejected with a clear message
)

// token is one lexical unit; pos is its byte offset in the expression.
type token struct {
	kind tokenKind
	text string
	pos  int
	// quoted marks a `delimited` identifier, which is never a keyword.
	quoted bool
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokString:
		return strconv.Quote(t.text)
	default:
		return "'" + t.text + "'"
	}
}

// lex splits an expression into tokens. It reports the first malformed token
// rather than guessing, because a misread search expression would silently
// index the wrong values.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, syntaxErr(i, "unterminated comment")
			}
			i += end + 4
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			toks = append(toks, token{kind: tokIdent, text: src[i:j], pos: i})
			i = j
		case c == '`':
			s, n, err := lexQuoted(src, i, '`')
			if err != nil {
				return nil, err
			}
			if s == "" {
				return nil, syntaxErr(i, "empty identifier")
			}
			toks = append(toks, token{kind: tokIdent, text: s, pos: i, quoted: true})
			i += n
		case c == '\'':
			s, n, err := lexQuoted(src, i, '\'')
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokString, text: s, pos: i})
			i += n
		case isDigit(c):
			j := i + 1
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			// A dot belongs to the number only when a digit follows, so that
			// "1.exists()" is still an invocation on 1.
			if j+1 < len(src) && src[j] == '.' && isDigit(src[j+1]) {
				j += 2
				for j < len(src) && isDigit(src[j]) {
					j++
				}
			}
			toks = append(toks, token{kind: tokNumber, text: src[i:j], pos: i})
			i = j
		case c == '%':
			if i+1 < len(src) && src[i+1] == '\'' {
				s, n, err := lexQuoted(src, i+1, '\'')
				if err != nil {
					return nil, err
				}
				toks = append(toks, token{kind: tokExternal, text: s, pos: i})
				i += 1 + n
				break
			}
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			if j == i+1 || !isIdentStart(src[i+1]) {
				return nil, syntaxErr(i, "'%' must be followed by a name")
			}
			toks = append(toks, token{kind: tokExternal, text: src[i+1 : j], pos: i})
			i = j
		case c == '$':
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			if j == i+1 {
				return nil, syntaxErr(i, "'$' must be followed by a name")
			}
			toks = append(toks, token{kind: tokVariable, text: src[i+1 : j], pos: i})
			i = j
		case c == '@':
			j := i + 1
			for j < len(src) && (isIdentPart(src[j]) || strings.IndexByte("-:.+TZ", src[j]) >= 0) {
				j++
			}
			toks = append(toks, token{kind: tokDateTime, text: src[i:j], pos: i})
			i = j
		case strings.IndexByte(".,()[]{}", c) >= 0:
			toks = append(toks, token{kind: tokPunct, text: src[i : i+1], pos: i})
			i++
		default:
			if op := lexOperator(src[i:]); op != "" {
				toks = append(toks, token{kind: tokOperator, text: op, pos: i})
				i += len(op)
				break
			}
			r, _ := utf8.DecodeRuneInString(src[i:])
			return nil, syntaxErr(i, fmt.Sprintf("unexpected character %q", r))
		}
	}
	return append(toks, token{kind: tokEOF, text: "", pos: len(src)}), nil
}

// lexOperator returns the operator at the start of s, longest first, or "".
func lexOperator(s string) string {
	for _, op := range []string{"!=", "!~", "<=", ">=", "|", "=", "~", "<", ">", "+", "-", "*", "/", "&"} {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	return ""
}

// lexQuoted decodes a string or delimited identifier starting at src[start]
// (the opening quote) and returns its value and the number of bytes consumed.
func lexQuoted(src string, start int, quote byte) (string, int, error) {
	var b strings.Builder
	i := start + 1
	for i < len(src) {
		c := src[i]
		switch {
		case c == quote:
			return b.String(), i + 1 - start, nil
		case c == '\\':
			if i+1 >= len(src) {
				return "", 0, syntaxErr(i, "unterminated escape")
			}
			e := src[i+1]
			switch e {
			case '\'', '"', '`', '\\', '/':
				b.WriteByte(e)
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if i+6 > len(src) {
					return "", 0, syntaxErr(i, "short unicode escape")
				}
				v, err := strconv.ParseUint(src[i+2:i+6], 16, 16)
				if err != nil {
					return "", 0, syntaxErr(i, "bad unicode escape")
				}
				b.WriteRune(rune(v))
				i += 4
			default:
				return "", 0, syntaxErr(i, fmt.Sprintf("unknown escape \\%c", e))
			}
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", 0, syntaxErr(start, "unterminated quoted text")
}

func isIdentStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
