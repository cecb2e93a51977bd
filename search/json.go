package search

import (
	"bytes"
	"encoding/json"
)

// The JSON encoding of a Query shows search parameters by code and type
// rather than as their whole definitions; it is meant for logs, debugging
// and golden tests, not for reading back.

type jsonValue struct {
	Kind  string `json:"kind"`
	Value Value  `json:"value"`
}

func jsonValues(vs []Value) []jsonValue {
	out := make([]jsonValue, len(vs))
	for i, v := range vs {
		out[i] = jsonValue{v.Kind(), v}
	}
	return out
}

// marshalJSON encodes without escaping <, > and &, which URLs contain.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// MarshalJSON writes the filter with its parameter as code and type.
func (f Filter) MarshalJSON() ([]byte, error) {
	out := struct {
		Name     string      `json:"name"`
		Chain    []Hop       `json:"chain,omitempty"`
		Param    string      `json:"param"`
		Type     string      `json:"type"`
		Modifier Modifier    `json:"modifier,omitempty"`
		Missing  *bool       `json:"missing,omitempty"`
		Values   []jsonValue `json:"values,omitempty"`
	}{Name: f.Name, Chain: f.Chain, Modifier: f.Modifier, Values: jsonValues(f.Values)}
	if f.Param != nil {
		out.Param, out.Type = f.Param.Code, f.Param.Type
	}
	if f.Modifier == ModMissing {
		out.Missing = &f.Missing
	}
	return marshalJSON(out)
}

// MarshalJSON writes the hop with its parameter as a code.
func (h Hop) MarshalJSON() ([]byte, error) {
	out := struct {
		Reverse bool     `json:"reverse,omitempty"`
		Param   string   `json:"param"`
		Types   []string `json:"types"`
	}{Reverse: h.Reverse, Types: h.Types}
	if h.Param != nil {
		out.Param = h.Param.Code
	}
	return marshalJSON(out)
}

// MarshalJSON writes the include in its query syntax.
func (inc Include) MarshalJSON() ([]byte, error) {
	out := struct {
		Value   string `json:"value"`
		Iterate bool   `json:"iterate,omitempty"`
	}{inc.value(), inc.Iterate}
	return marshalJSON(out)
}

// MarshalJSON writes the sort key with its parameter as a code.
func (s Sort) MarshalJSON() ([]byte, error) {
	out := struct {
		Param string `json:"param"`
		Desc  bool   `json:"desc,omitempty"`
	}{Desc: s.Desc}
	if s.Param != nil {
		out.Param = s.Param.Code
	}
	return marshalJSON(out)
}
