package search

import "fmt"

// Token is a token parameter value: a code, optionally in a system.
//
//	code         HasSystem false: code in any system
//	system|code  HasSystem true: code in system
//	|code        HasSystem true, System "": code with no system
//	system|      HasSystem true, Code "": any code in system
//
// With :of-type (identifier:of-type=type-system|type-code|value) TypeSystem
// and TypeCode hold the identifier type's coding and Code the identifier
// value.
type Token struct {
	System     string `json:"system,omitempty"`
	HasSystem  bool   `json:"hasSystem,omitempty"`
	Code       string `json:"code,omitempty"`
	TypeSystem string `json:"typeSystem,omitempty"`
	TypeCode   string `json:"typeCode,omitempty"`
}

// Kind returns "token".
func (Token) Kind() string { return "token" }

// String writes the value in query syntax.
func (v Token) String() string {
	switch {
	case v.TypeSystem != "" || v.TypeCode != "":
		return escape(v.TypeSystem) + "|" + escape(v.TypeCode) + "|" + escape(v.Code)
	case v.HasSystem:
		return escape(v.System) + "|" + escape(v.Code)
	}
	return escape(v.Code)
}

func (Token) isValue() {}

func parseToken(raw string) (Token, error) {
	parts := splitEscaped(raw, '|')
	switch len(parts) {
	case 1:
		return Token{Code: unescape(raw)}, nil
	case 2:
		t := Token{System: unescape(parts[0]), HasSystem: true, Code: unescape(parts[1])}
		if t.System == "" && t.Code == "" {
			return Token{}, fmt.Errorf("token %q has neither a system nor a code", raw)
		}
		return t, nil
	}
	return Token{}, fmt.Errorf("token %q has more than one '|': escape a literal one as \\|", raw)
}

func parseOfType(raw string) (Token, error) {
	parts := splitEscaped(raw, '|')
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return Token{}, fmt.Errorf(":of-type value %q must be type-system|type-code|value", raw)
	}
	return Token{TypeSystem: unescape(parts[0]), TypeCode: unescape(parts[1]), Code: unescape(parts[2])}, nil
}
